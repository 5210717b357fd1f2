"""The user cache (``cache.dir``): bytes fetched from remotes and references land once for every
repository of the user, and ``artctl cache cleanup SIZE`` bounds it from any directory without
evicting the only copy of anything. Real CLI processes, a file:// remote and a real S3 server
(moto); the proof that "nothing was transferred" is a remote whose bytes were scrambled (same
sizes) after the first download: a second repository still gets the right bytes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from artctl.base.hashing import hash_file

from conftest import cli_env, make_tree, run_cli, run_killed_at
from servers import Remote

MiB = 1024 * 1024


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(params=["file", "s3"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Remote:
    """A fresh remote; ``options`` are what the test itself uses to reach its files."""
    if request.param == "file":
        location = tmp_path / "remote"
        location.mkdir()
        return Remote(location.as_uri(), {}, {})
    server = request.getfixturevalue("s3_server")
    bucket = request.getfixturevalue("s3_bucket")
    return Remote(bucket, dict(server.storage_options), dict(server.env))


def remote_fs(remote: Remote):  # type: ignore[no-untyped-def]
    """An fsspec filesystem on the remote and the remote's root path in it."""
    import fsspec

    protocol, _, root = remote.url.partition("://")
    return fsspec.filesystem(protocol, **remote.storage_options), root


def blob_files(remote: Remote) -> list[str]:
    """The remote's loose objects and packs (not indexes, manifests or records)."""
    fs, root = remote_fs(remote)
    fs.invalidate_cache()
    found = [p for p in fs.find(root) if "/objects/" in p or p.endswith(".pack")]
    assert found
    return found


def scramble_blobs(remote: Remote) -> None:
    """Overwrite every blob file of the remote with other bytes of the same size: a download
    from it now fails verification, while listings and size checks still pass."""
    fs, _root = remote_fs(remote)
    for path in blob_files(remote):
        size = fs.size(path)
        if remote.url.startswith("file://"):
            os.chmod(path, 0o644)
        fs.pipe_file(path, b"\xff" * size)


def cache_root(workdir: Path) -> Path:
    return Path(os.environ["XDG_CACHE_HOME"]) / "artctl"


def cached_files(root: Path) -> list[Path]:
    return sorted(
        p
        for sub in ("objects", "packs")
        if (root / sub).is_dir()
        for p in (root / sub).rglob("*")
        if p.is_file()
    )


def assert_cache_sound(root: Path) -> None:
    """Every cached object hashes to its name; every pack has its index; no temp file left."""
    from artctl.repository.packs import decode_index, read_slice

    for path in cached_files(root):
        if path.parent.name == "packs":
            other = path.with_suffix(".idx" if path.suffix == ".pack" else ".pack")
            assert other.exists(), f"{path.name} without {other.name}"
            if path.suffix == ".idx":
                for digest, offset, length in decode_index(path.read_bytes()):
                    assert hash_file_bytes(read_slice(other, offset, length)) == digest
        else:
            assert hash_file(path) == path.parent.name + path.name
    if (root / "tmp").is_dir():
        assert not list((root / "tmp").iterdir())


def hash_file_bytes(data: bytes) -> str:
    from artctl.base.hashing import hash_bytes

    return hash_bytes(data)


@pytest.fixture
def published(cli, repo_dir: Path, tmp_path: Path, remote: Remote) -> tuple[Path, Remote]:  # type: ignore[no-untyped-def]
    """A version with one large (loose) file and small (packed) ones, pushed to ``remote``."""
    data = make_tree(
        tmp_path / "data",
        {"big.bin": os.urandom(2 * MiB), "small/a.txt": "alpha\n", "small/b.txt": "beta\n"},
    )
    cli.ok("artifact", "put", str(data), "--name", "p/ds", "--type", "dataset")
    cli.ok("remote", "add", "origin", remote.url, "--default", env=remote.env)
    cli.ok("push", env=remote.env)
    return data, remote


def test_a_second_repository_gets_the_version_without_a_transfer(cli, tmp_path: Path, published) -> None:  # type: ignore[no-untyped-def]
    data, remote = published
    env = remote.env
    first, second, third = tmp_path / "first", tmp_path / "second", tmp_path / "third"
    for clone in (first, second, third):
        cli.ok("clone", remote.url, str(clone), env=env)
    cli.ok("artifact", "get", "p/ds", "--root", "out", cwd=first, env=env)
    assert read_tree(first / "out") == read_tree(data)
    cache = cache_root(tmp_path)
    assert len([p for p in cached_files(cache) if p.suffix != ".idx"]) == 2  # the big object, one pack

    scramble_blobs(remote)  # from now on any download from the remote would fail verification
    cli.ok("artifact", "get", "p/ds", "--root", "out", cwd=second, env=env)
    assert read_tree(second / "out") == read_tree(data)
    pulled = cli.ok("pull", "--all", "--json", cwd=third, env=env).json()
    assert pulled["objects_fetched"] == 3 and pulled["bytes_fetched"] == 0
    for clone in (first, second, third):
        cli.ok("artifact", "verify", cwd=clone)
    # one copy on disk: the repositories' objects are links to (or clones of) the cache's
    big = next(p for p in cached_files(cache) if p.parent.parent.name == "objects")
    assert (second / ".artifacts" / "objects" / big.parent.name / big.name).exists()
    assert_cache_sound(cache)


def test_cache_dir_none_turns_it_off(cli, tmp_path: Path, published) -> None:  # type: ignore[no-untyped-def]
    _data, remote = published
    env = {**remote.env, "ARTCTL_CACHE_DIR": "none"}
    first, second = tmp_path / "first", tmp_path / "second"
    for clone in (first, second):
        cli.ok("clone", remote.url, str(clone), env=env)
    cli.ok("artifact", "get", "p/ds", "--root", "out", cwd=first, env=env)
    assert not cache_root(tmp_path).exists()
    scramble_blobs(remote)
    bad = cli("artifact", "get", "p/ds", "--root", "out", cwd=second, env=env)
    assert bad.returncode != 0 and "corrupt" in bad.stderr and "Traceback" not in bad.stderr
    info = cli.ok("cache", "info", "--json", cwd=second, env=env).json()
    assert info["user_cache"] is None


def test_cache_dir_from_config_and_environment(cli, repo_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    configured = tmp_path / "configured-cache"
    cli.ok("config", "--user", "cache.dir", str(configured))
    assert cli.ok("cache", "info", "--json", cwd=elsewhere).json()["user_cache"]["location"] == str(
        configured
    )
    from_env = tmp_path / "env-cache"
    info = cli.ok("cache", "info", "--json", cwd=elsewhere, env={"ARTCTL_CACHE_DIR": str(from_env)}).json()
    assert info["user_cache"]["location"] == str(from_env)
    cli.ok("config", "cache.dir", "none")  # the repository's config wins over the user's
    assert cli.ok("cache", "info", "--json").json()["user_cache"] is None
    bad = cli("config", "cache.dir", "relative/dir")
    assert bad.returncode != 0 and bad.stderr.startswith("error: ") and "absolute" in bad.stderr
    cli.ok("config", "--user", "cache.dir", "none")
    off = cli("cache", "cleanup", "1GB", cwd=elsewhere)
    assert off.returncode != 0 and "turned off" in off.stderr and "Traceback" not in off.stderr


def test_cleanup_from_anywhere_is_lru_and_keeps_the_only_copy(
    cli, repo_dir: Path, tmp_path: Path, remote: Remote
) -> None:  # type: ignore[no-untyped-def]
    env = remote.env
    for name in ("lonely", "old", "new"):
        make_tree(tmp_path / name, {f"{name}.bin": os.urandom(2 * MiB)})
        cli.ok("artifact", "put", str(tmp_path / name), "--name", f"p/{name}", "--type", "dataset")
    cli.ok("remote", "add", "origin", remote.url, "--default", env=env)
    cli.ok("push", env=env)
    clone = tmp_path / "clone"
    cli.ok("clone", remote.url, str(clone), env=env)
    for name in ("lonely", "old", "new"):  # least recently used first
        cli.ok("artifact", "get", f"p/{name}", "--root", name, cwd=clone, env=env)
        time.sleep(0.05)
    digests = {
        name: cli.ok("artifact", "show", f"p/{name}", "--json").json()["entries"][0]["digest"]
        for name in ("lonely", "old", "new")
    }
    # "lonely" is lost on the remote: the cache's copy becomes the only one outside the clone
    fs, root = remote_fs(remote)
    fs.rm(f"{root}/objects/{digests['lonely'][:2]}/{digests['lonely'][2:]}")
    import shutil

    shutil.rmtree(clone)  # no repository holds any of them now; the remote holds old and new
    cache = cache_root(tmp_path)
    elsewhere = tmp_path / "cron"
    elsewhere.mkdir()

    info = cli.ok("cache", "info", "--json", cwd=elsewhere, env=env).json()["user_cache"]
    assert info["cache_objects"] == 3 and info["cache_bytes"] == 6 * MiB  # by the records
    result = cli.ok("cache", "cleanup", "3MB", "--json", cwd=elsewhere, env=env).json()["user_cache"]
    evicted = {u["id"] for u in result["evicted"]}
    assert evicted == {digests["old"]}  # LRU, skipping the lonely one its remote lost
    assert result["unconfirmed_bytes"] == 2 * MiB and result["cache_bytes_after"] == 2 * MiB
    left = {p.parent.name + p.name for p in cached_files(cache)}
    assert left == {digests["lonely"], digests["new"]}
    cli.ok("cache", "cleanup", "0", cwd=elsewhere, env=env)
    assert {p.parent.name + p.name for p in cached_files(cache)} == {digests["lonely"]}  # never the only copy
    assert_cache_sound(cache)


def test_a_repository_holding_the_object_is_a_copy(cli, tmp_path: Path, published) -> None:  # type: ignore[no-untyped-def]
    data, remote = published
    env = remote.env
    clone = tmp_path / "clone"
    cli.ok("clone", remote.url, str(clone), env=env)
    cli.ok("artifact", "get", "p/ds", "--root", "out", cwd=clone, env=env)
    fs, root = remote_fs(remote)
    for path in blob_files(remote):
        fs.rm(path)  # only the clone and the user cache hold the bytes now
    elsewhere = tmp_path / "cron"
    elsewhere.mkdir()
    result = cli.ok("cache", "cleanup", "0", "--json", cwd=elsewhere, env=env).json()["user_cache"]
    assert result["evicted_objects"] == 3 and result["cache_bytes_after"] == 0
    assert not cached_files(cache_root(tmp_path))
    cli.ok("artifact", "get", "p/ds", "--root", "again", cwd=clone, env=env)  # from its own store
    assert read_tree(clone / "again") == read_tree(data)
    cli.ok("artifact", "verify", cwd=clone)


def test_reference_bytes_land_once_for_every_repository(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mount = make_tree(tmp_path / "nfs", {"labels.csv": "0,1\n", "big.bin": os.urandom(2 * MiB)})
    first, second = tmp_path / "first", tmp_path / "second"
    for repo in (first, second):
        repo.mkdir()
        cli.ok("init", cwd=repo)
        cli.ok("artifact", "put", mount.as_uri() + "/", "--name", "p/refs", "--type", "dataset", cwd=repo)
    before = read_tree(mount)
    cli.ok("artifact", "get", "p/refs", "--root", "out", cwd=first)
    for path in mount.iterdir():
        path.unlink()  # the reference is gone: only the user cache still has the logged bytes
    cli.ok("artifact", "get", "p/refs", "--root", "out", cwd=second)
    assert read_tree(second / "out") == before
    cli.ok("artifact", "verify", cwd=second)
    assert_cache_sound(cache_root(tmp_path))


def test_a_fill_killed_before_rename_leaves_no_partial_object(cli, tmp_path: Path, published) -> None:  # type: ignore[no-untyped-def]
    data, remote = published
    env = remote.env
    clone = tmp_path / "clone"
    cli.ok("clone", remote.url, str(clone), env=env)
    run_killed_at(
        "usercache.fill-before-rename", "artifact", "get", "p/ds", "--root", "out", cwd=clone, env=env
    )
    cache = cache_root(tmp_path)
    assert not cached_files(cache)  # nothing published: the verified download is under tmp/ only
    assert list((cache / "tmp").iterdir())
    cli.ok("artifact", "verify", cwd=clone)
    cli.ok("artifact", "get", "p/ds", "--root", "again", cwd=clone, env=env)
    assert read_tree(clone / "again") == read_tree(data)
    assert not list((cache / "tmp").iterdir())  # the dead process's temp file was removed
    assert not [p for p in (clone / ".artifacts" / "tmp").iterdir()]
    assert_cache_sound(cache)
    cli.ok("artifact", "verify", cwd=clone)


def test_concurrent_fills_and_cleanups_stay_consistent(cli, tmp_path: Path, published) -> None:  # type: ignore[no-untyped-def]
    """Four repositories get the same version at once, twice each, while another process
    empties the user cache in a loop: every get succeeds with the right bytes, every repository
    verifies, and the cache holds only whole, correct files."""
    data, remote = published
    env = remote.env
    clones = [tmp_path / f"clone{i}" for i in range(4)]
    for clone in clones:
        cli.ok("clone", remote.url, str(clone), env=env)
    elsewhere = tmp_path / "cron"
    elsewhere.mkdir()
    script = (
        "import subprocess, sys\n"
        "for root in sys.argv[1:]:\n"
        "    get = [sys.executable, '-m', 'artctl', 'artifact', 'get', 'p/ds', '--root', root]\n"
        "    r = subprocess.run(get)\n"
        "    if r.returncode: sys.exit(r.returncode)\n"
    )
    cleaner = (
        "import subprocess, sys, time\n"
        "for _ in range(6):\n"
        "    r = subprocess.run([sys.executable, '-m', 'artctl', 'cache', 'cleanup', '0'])\n"
        "    if r.returncode: sys.exit(r.returncode)\n"
    )
    full_env = cli_env(env)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, "a", "b"], cwd=clone, env=full_env, stderr=subprocess.PIPE
        )
        for clone in clones
    ]
    procs.append(
        subprocess.Popen([sys.executable, "-c", cleaner], cwd=elsewhere, env=full_env, stderr=subprocess.PIPE)
    )
    for proc in procs:
        _out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err.decode()
    for clone in clones:
        for root in ("a", "b"):
            assert read_tree(clone / root) == read_tree(data)
        assert run_cli("artifact", "verify", cwd=clone).returncode == 0
    assert_cache_sound(cache_root(tmp_path))


@pytest.mark.parametrize("remote", ["file"], indirect=True)
def test_an_unusable_cache_dir_falls_back_to_direct_downloads(cli, tmp_path: Path, published) -> None:  # type: ignore[no-untyped-def]
    """A cache.dir that cannot be created (here: below a regular file, as a read-only home
    would be) must not break `get`: the bytes go straight into the repository."""
    data, remote = published
    blocker = tmp_path / "not-a-directory"
    blocker.write_bytes(b"")
    env = {**remote.env, "ARTCTL_CACHE_DIR": str(blocker / "cache")}
    clone = tmp_path / "clone"
    cli.ok("clone", remote.url, str(clone), env=env)
    cli.ok("artifact", "get", "p/ds", "--root", "out", cwd=clone, env=env)
    assert read_tree(clone / "out") == read_tree(data)
    cli.ok("artifact", "verify", cwd=clone)


def test_processes_opening_a_fresh_cache_database_together_all_succeed(tmp_path: Path) -> None:
    """Switching a fresh cache.db to WAL takes a lock SQLite does not wait for: processes that
    open it at once (parallel `get`s of a CI matrix, distributed upserts) retry instead of
    failing with "database is locked" (a CI run failed so)."""
    import subprocess
    import sys

    script = (
        "import sys, time; from pathlib import Path\n"
        "from artctl.repository.user_cache import UserCache\n"
        "from artctl.repository.user_cache_db import Origin\n"
        "start = float(sys.argv[2])\n"
        "time.sleep(max(0.0, start - time.time()))\n"
        "cache = UserCache(Path(sys.argv[1]))\n"
        "cache.add_origin(sys.argv[3], Origin('file:///r', 'packs/x.pack', 1))\n"
        "print(len(cache.origins([sys.argv[3]])[sys.argv[3]]))\n"
    )
    start = time.time() + 1.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path / "cache"), str(start), f"{i:064x}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(8)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [err for _out, err in results]
    assert [out.strip() for out, _err in results] == ["1"] * 8
