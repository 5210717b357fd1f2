"""A remote is never trusted as proof of a copy, and no remote read is unbounded (issue 14, 2 + 6).

* A listing is not a copy: a planted ``.idx`` without its pack, a truncated loose object, a
  remote emptied or cut short after a push. ``cache cleanup`` must keep the only local copy
  (it re-confirms the remote copy right before deleting), and ``push`` must upload what such
  a listing only pretends to hold.
* Downloads stop at the declared or indexed length + 1 byte: a 150 MB file behind a 100-byte
  entry, an oversized pack, an endless object, an oversized record — one clear error naming
  the remote file, bounded memory (the child's peak RSS) and disk (RLIMIT_FSIZE), nothing
  stored.

Everything runs real ``artctl`` processes against a file:// remote and a real S3 server (moto).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import Result, cli_env, make_tree

MiB = 1024 * 1024
#: The tampered files: far larger than anything declared for them.
HUGE = 150 * MiB


# -- a remote the test can tamper with directly ------------------------------------------------
@dataclass
class Tamper:
    """Direct access to a remote's files, bypassing artctl (what an attacker or a failing
    disk does)."""

    url: str
    env: dict[str, str]
    root: Path | None = None  # file://
    fs: Any = None  # s3

    def _path(self, rel: str) -> str:
        return f"{self.url[len('s3://') :]}/{rel}"

    def files(self, prefix: str) -> dict[str, int]:
        if self.root is not None:
            base = self.root / prefix
            return {
                p.relative_to(self.root).as_posix(): p.stat().st_size
                for p in base.rglob("*")
                if p.is_file() and not p.name.startswith(".")
            }
        self.fs.invalidate_cache()
        try:
            found = self.fs.find(self._path(prefix), detail=True)
        except FileNotFoundError:
            return {}
        bucket = self.url[len("s3://") :] + "/"
        return {name[len(bucket) :]: int(info["size"]) for name, info in found.items()}

    def write(self, rel: str, data: bytes) -> None:
        if self.root is not None:
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():
                path.chmod(0o644)
                path.unlink()
            path.write_bytes(data)
        else:
            self.fs.pipe_file(self._path(rel), data)

    def grow(self, rel: str, size: int) -> None:
        """Make the file ``size`` bytes long: its bytes, then zeros (sparse on file://)."""
        if self.root is not None:
            path = self.root / rel
            path.chmod(0o644)
            os.truncate(path, size)
        else:
            data = self.read(rel)
            self.fs.pipe_file(self._path(rel), data + bytes(size - len(data)))

    def read(self, rel: str) -> bytes:
        if self.root is not None:
            return (self.root / rel).read_bytes()
        return bytes(self.fs.cat_file(self._path(rel)))

    def delete(self, rel: str) -> None:
        if self.root is not None:
            (self.root / rel).unlink()
        else:
            self.fs.rm_file(self._path(rel))


@pytest.fixture(params=["file", "s3"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Tamper:
    if request.param == "file":
        location = tmp_path / "remote"
        location.mkdir()
        return Tamper(location.as_uri(), {}, root=location)
    server = request.getfixturevalue("s3_server")
    bucket = request.getfixturevalue("s3_bucket")
    return Tamper(bucket, dict(server.env), fs=server.filesystem())


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def digests(cli, name: str, cwd: Path | None = None) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """path → digest of a version's entries."""
    shown = cli.ok("artifact", "show", name, "--json", cwd=cwd).json()
    return {e["path"]: e["digest"] for e in shown["entries"]}


def store_files(repo: Path) -> set[str]:
    """Every object and pack file in a repository's store."""
    base = repo / ".artifacts"
    return {
        p.relative_to(base).as_posix()
        for sub in ("objects", "packs")
        for p in (base / sub).rglob("*")
        if p.is_file()
    }


def tmp_debris(repo: Path) -> list[str]:
    tmp = repo / ".artifacts" / "tmp"
    return sorted(p.name for p in tmp.rglob("*") if p.is_file()) if tmp.is_dir() else []


# -- item 2: a listing is not a copy ------------------------------------------------------------
def test_cleanup_keeps_the_only_copy_when_the_remote_lost_it_after_the_push(
    cli, repo_dir: Path, tmp_path: Path, remote: Tamper
) -> None:  # type: ignore[no-untyped-def]
    """Pushed, then the remote lost its data: the local store is the only copy again."""
    env = remote.env
    data = make_tree(
        tmp_path / "data", {"big.bin": os.urandom(MiB + 5), "a.txt": "alpha\n", "b.txt": "beta\n"}
    )
    cli.ok("artifact", "put", str(data), "--name", "p/lost", "--type", "dataset")
    cli.ok("remote", "add", "origin", remote.url, "--default", env=env)
    cli.ok("push", env=env)
    held = store_files(repo_dir)
    for rel in list(remote.files("objects")) + list(remote.files("packs")):
        remote.delete(rel)

    result = cli.ok("cache", "cleanup", "0", "--json", env=env)
    assert result.json()["freed_bytes"] == 0, result
    assert result.json()["unconfirmed_bytes"] > MiB, result
    assert "not confirmed" in result.stderr
    assert store_files(repo_dir) == held
    cli.ok("artifact", "verify", "p/lost")
    cli.ok("artifact", "get", "p/lost", "--root", "out")
    assert read_tree(repo_dir / "out") == read_tree(data)
    # Forgotten, not re-checked forever: the next cleanup keeps it silently (cron-friendly).
    again = cli.ok("cache", "cleanup", "0", env=env)
    assert again.stdout == "" and again.stderr == ""


def test_an_unreachable_remote_confirms_nothing_and_forgets_nothing(
    cli, repo_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """An unmounted disk (or a remote without credentials) keeps the data, and the records:
    once it is back, the cache can be freed."""
    location = tmp_path / "remote"
    location.mkdir()
    data = make_tree(tmp_path / "data", {"big.bin": os.urandom(MiB + 3)})
    cli.ok("artifact", "put", str(data), "--name", "p/away", "--type", "dataset")
    cli.ok("remote", "add", "origin", location.as_uri(), "--default")
    cli.ok("push")
    location.rename(tmp_path / "unmounted")
    away = cli.ok("cache", "cleanup", "0", "--json")
    assert away.json()["freed_bytes"] == 0 and "origin" in away.json()["unreachable_remotes"], away
    assert "remote origin could not be checked" in away.stderr
    (tmp_path / "unmounted").rename(location)
    assert cli.ok("cache", "cleanup", "0", "--json").json()["freed_bytes"] == MiB + 3
    cli.ok("artifact", "get", "p/away", "--root", "out")
    assert read_tree(repo_dir / "out") == read_tree(data)


def test_a_pack_cut_short_is_not_a_copy_and_push_sends_it_again(
    cli, repo_dir: Path, tmp_path: Path, remote: Tamper
) -> None:  # type: ignore[no-untyped-def]
    env = remote.env
    data = make_tree(tmp_path / "data", {f"f{i}.txt": f"small file {i}\n" * 50 for i in range(6)})
    cli.ok("artifact", "put", str(data), "--name", "p/packed", "--type", "dataset")
    cli.ok("remote", "add", "origin", remote.url, "--default", env=env)
    cli.ok("push", env=env)
    (pack,) = [rel for rel in remote.files("packs") if rel.endswith(".pack")]
    full = remote.files("packs")[pack]
    remote.write(pack, remote.read(pack)[: full // 2])  # the index still describes the whole pack

    kept = cli.ok("cache", "cleanup", "0", "--json", env=env).json()
    assert kept["freed_bytes"] == 0 and kept["unconfirmed_bytes"] == full
    cli.ok("artifact", "verify", "p/packed")

    sent = cli.ok("push", "--json", env=env).json()  # the short pack does not count as "there"
    assert sent["files_sent"] == 1 and sent["objects_skipped"] == 0, sent
    # sent again in a new pack, never over a listed name a remote gc may be deleting (remote gc
    # deletes the cut one once it is older than its grace)
    (fresh,) = [rel for rel in remote.files("packs") if rel.endswith(".pack") and rel != pack]
    assert remote.files("packs")[fresh] > full and remote.files("packs")[pack] == full // 2
    # Sent (and so verified) again: now the local copy may go, and it comes back intact.
    assert cli.ok("cache", "cleanup", "0", "--json", env=env).json()["freed_bytes"] == full
    cli.ok("artifact", "get", "p/packed", "--root", "out", env=env)
    assert read_tree(repo_dir / "out") == read_tree(data)


def test_planted_index_and_truncated_object_neither_evict_nor_skip_the_only_copy(
    cli, repo_dir: Path, tmp_path: Path, remote: Tamper
) -> None:  # type: ignore[no-untyped-def]
    """A 140-byte ``.idx`` without its pack and a cut ``objects/`` file name the blobs of a
    version that was never pushed: ``pull`` must not take them as copies, ``push`` must upload."""
    env = remote.env
    cli.ok(
        "artifact",
        "put",
        str(make_tree(tmp_path / "base", {"x.txt": "base\n"})),
        "--name",
        "p/base",
        "--type",
        "dataset",
    )
    cli.ok("remote", "add", "origin", remote.url, "--default", env=env)
    cli.ok("push", env=env)
    secret = make_tree(
        tmp_path / "secret", {"big.bin": os.urandom(MiB + 7), "s1.txt": "one\n", "s2.txt": "two\n"}
    )
    before = store_files(repo_dir)
    cli.ok("artifact", "put", str(secret), "--name", "p/secret", "--type", "dataset")  # never pushed
    added = store_files(repo_dir) - before
    (idx,) = [rel for rel in added if rel.endswith(".idx")]
    big = digests(cli, "p/secret")["big.bin"]
    remote.write(idx, (repo_dir / ".artifacts" / idx).read_bytes())  # no .pack beside it
    remote.write(f"objects/{big[:2]}/{big[2:]}", b"truncated")

    cli.ok("pull", env=env)
    result = cli.ok("cache", "cleanup", "0", "--json", env=env).json()
    assert result["freed_bytes"] == 13, result  # p/base's pack (pushed, really there) only
    assert added <= store_files(repo_dir)
    cli.ok("artifact", "verify", "p/secret")

    pushed = cli.ok("push", "--json", env=env).json()
    assert pushed["objects_sent"] == 3, pushed
    clone = tmp_path / "clone"
    cli.ok("clone", remote.url, str(clone), env=env)
    cli.ok("artifact", "get", "p/secret", "--root", "out", cwd=clone, env=env)
    assert read_tree(clone / "out") == read_tree(secret)


# -- item 6: every remote read is bounded ---------------------------------------------------------
def run_measured(*args: str, cwd: Path, env: dict[str, str], max_file: int = 64 * MiB) -> tuple[Result, int]:
    """Run the CLI; return its result and its peak RSS in bytes. Files it writes are capped at
    ``max_file`` bytes (RLIMIT_FSIZE), so an unbounded download dies instead of filling the disk.

    A small launcher spawns artctl and reports the child's peak RSS: spawned straight from
    pytest, the child would inherit pytest's own (large, growing) high-water mark at exec.
    """
    launcher = (
        "import os, resource, sys; limit = int(sys.argv[1]); "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)); "
        "pid = os.posix_spawn(sys.executable, [sys.executable, '-m', 'artctl', *sys.argv[3:]], os.environ); "
        "_, status, usage = os.wait4(pid, 0); "
        "open(sys.argv[2], 'w').write(str(usage.ru_maxrss * 1024)); "
        "code = os.waitstatus_to_exitcode(status); sys.exit(code if code >= 0 else 128 - code)"
    )
    rss_file = cwd / ".measured.rss"
    proc = subprocess.run(
        [sys.executable, "-c", launcher, str(max_file), str(rss_file), *args],
        cwd=cwd,
        env=cli_env(env),
        capture_output=True,
        text=True,
        timeout=600,
    )
    rss = int(rss_file.read_text())
    rss_file.unlink()
    return Result(list(args), proc.returncode, proc.stdout, proc.stderr), rss


def assert_refused(result: Result, rss: int, baseline: int, rel: str) -> None:
    """One clear error naming the remote file; memory did not grow with the tampered file."""
    assert rss < baseline + 48 * MiB, (rss / MiB, baseline / MiB, result)
    assert result.returncode == 1, result
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr, result
    assert rel in result.stderr and "larger than" in result.stderr, result


def pushed_then_cloned(cli, tmp_path: Path, remote: Tamper, files: dict[str, bytes | str]):  # type: ignore[no-untyped-def]
    data = make_tree(tmp_path / "data", files)
    cli.ok("artifact", "put", str(data), "--name", "p/data", "--type", "dataset")
    cli.ok("remote", "add", "origin", remote.url, "--default", env=remote.env)
    cli.ok("push", env=remote.env)
    return data


def baseline_rss(cli, tmp_path: Path, remote: Tamper) -> int:  # type: ignore[no-untyped-def]
    """Peak RSS of an honest clone + get of the same remote (imports, threads, buffers)."""
    honest = tmp_path / "honest"
    # its own user cache: the tampered get measured next must download, not reuse these bytes
    env = {**remote.env, "ARTCTL_CACHE_DIR": str(tmp_path / "honest-cache")}
    cli.ok("clone", remote.url, str(honest), env=env)
    result, rss = run_measured("artifact", "get", "p/data", "--root", "out", cwd=honest, env=env)
    assert result.returncode == 0, result
    return rss


def test_a_150mb_object_behind_a_100_byte_entry_is_cut_off(
    cli, repo_dir: Path, tmp_path: Path, remote: Tamper
) -> None:  # type: ignore[no-untyped-def]
    pushed_then_cloned(cli, tmp_path, remote, {"small.bin": os.urandom(100)})
    baseline = baseline_rss(cli, tmp_path, remote)
    digest = digests(cli, "p/data")["small.bin"]
    for rel in remote.files("packs"):  # the blob now only "exists" as a huge loose object
        remote.delete(rel)
    rel = f"objects/{digest[:2]}/{digest[2:]}"
    if remote.root is not None:
        remote.write(rel, b"")
        remote.grow(rel, HUGE)
    else:
        remote.write(rel, bytes(HUGE))

    clone = tmp_path / "clone"
    cli.ok("clone", remote.url, str(clone), env=remote.env)
    result, rss = run_measured("artifact", "get", "p/data", "--root", "out", cwd=clone, env=remote.env)
    assert_refused(result, rss, baseline, rel)
    assert store_files(clone) == set() and tmp_debris(clone) == []


def test_a_pack_longer_than_its_index_is_cut_off(cli, repo_dir: Path, tmp_path: Path, remote: Tamper) -> None:  # type: ignore[no-untyped-def]
    pushed_then_cloned(cli, tmp_path, remote, {f"f{i}.txt": f"packed {i}\n" for i in range(4)})
    baseline = baseline_rss(cli, tmp_path, remote)
    (pack,) = [rel for rel in remote.files("packs") if rel.endswith(".pack")]
    remote.grow(pack, HUGE)  # every blob still verifies; the tail is not the pack's

    clone = tmp_path / "clone"
    cli.ok("clone", remote.url, str(clone), env=remote.env)
    result, rss = run_measured("artifact", "get", "p/data", "--root", "out", cwd=clone, env=remote.env)
    assert_refused(result, rss, baseline, pack)
    assert store_files(clone) == set() and tmp_debris(clone) == []
    result, rss = run_measured("pull", "--all", cwd=clone, env=remote.env)
    assert_refused(result, rss, baseline, pack)
    assert store_files(clone) == set() and tmp_debris(clone) == []


@pytest.mark.damages_repository  # the object is lost on purpose
def test_an_endless_object_neither_fills_the_disk_nor_memory(cli, repo_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    location = tmp_path / "remote"
    location.mkdir()
    remote = Tamper(location.as_uri(), {}, root=location)
    pushed_then_cloned(cli, tmp_path, remote, {"big.bin": os.urandom(2 * MiB)})
    baseline = baseline_rss(cli, tmp_path, remote)
    digest = digests(cli, "p/data")["big.bin"]
    rel = f"objects/{digest[:2]}/{digest[2:]}"
    (location / rel).unlink()
    (location / rel).symlink_to("/dev/zero")

    clone = tmp_path / "clone"
    cli.ok("clone", remote.url, str(clone), env=remote.env)
    result, rss = run_measured("artifact", "get", "p/data", "--root", "out", cwd=clone, env=remote.env)
    assert_refused(result, rss, baseline, rel)
    assert store_files(clone) == set() and tmp_debris(clone) == []


def test_an_oversized_record_stops_the_clone_with_bounded_memory(
    cli, repo_dir: Path, tmp_path: Path, remote: Tamper
) -> None:  # type: ignore[no-untyped-def]
    pushed_then_cloned(cli, tmp_path, remote, {"a.txt": "a\n"})
    baseline = baseline_rss(cli, tmp_path, remote)
    (record,) = [rel for rel in remote.files("registry") if rel.endswith("/v0.json")]
    remote.grow(record, HUGE)

    result, rss = run_measured("clone", remote.url, str(tmp_path / "clone"), cwd=tmp_path, env=remote.env)
    assert_refused(result, rss, baseline, record)
    assert not (tmp_path / "clone").exists()


def test_a_reference_that_never_ends_is_cut_off_at_its_logged_size(
    cli, repo_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """References are remote reads too: a logged file that became endless stops at its size + 1."""
    mount = make_tree(tmp_path / "mount", {"big.bin": os.urandom(2 * MiB)})
    cli.ok("artifact", "put", mount.as_uri(), "--name", "p/ref", "--type", "dataset")
    (mount / "big.bin").unlink()
    (mount / "big.bin").symlink_to("/dev/zero")

    result, _rss = run_measured("artifact", "get", "p/ref", "--root", "out", cwd=repo_dir, env={})
    assert result.returncode == 1 and "Traceback" not in result.stderr, result
    assert "big.bin" in result.stderr and f"more than its logged {2 * MiB} bytes" in result.stderr, result
    assert store_files(repo_dir) == set() and not (repo_dir / "out" / "big.bin").exists()
