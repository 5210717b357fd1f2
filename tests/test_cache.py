"""The download cache: LRU eviction of objects with another copy, never the only copy, never
under a running get, quiet when there is nothing to do. Reference-fetched objects stand for
cached data here (their reference is the other copy); tests/test_cache_remotes.py covers
objects that came from a remote.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from artctl.api.repo import Repo
from artctl.errors import LockTimeout
from artctl.ops.cache_evict import cleanup, info
from artctl.ops.remote.config import add_remote
from artctl.repository.state import RemoteCopy

from conftest import REPO_ROOT, make_tree

MiB = 1024 * 1024


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def mount(tmp_path: Path) -> Path:
    """A directory standing for an NFS mount: 4 files of 1 MiB (stored loose when fetched)."""
    return make_tree(tmp_path / "nfs" / "big", {f"part{i}.bin": os.urandom(MiB) for i in range(4)})


def test_cleanup_bad_sizes(cli, repo_dir: Path) -> None:  # type: ignore[no-untyped-def]
    for bad in ("1XB", "-5GB", "lots"):
        result = cli.fails("cache", "cleanup", bad, code=2)
        assert result.stderr.splitlines()[0] == f"error: invalid size '{bad}': use e.g. 0, 500MB, 1GB, 2GiB"
    cli.fails("cache", "cleanup", code=2)


def test_cleanup_1mb_frees_3mb_and_get_refetches(cli, repo_dir: Path, mount: Path) -> None:  # type: ignore[no-untyped-def]
    cli.ok("artifact", "put", mount.as_uri(), "--name", "p/big", "--type", "dataset")
    first = Path(cli.ok("artifact", "get", "p/big", "--root", "one").stdout.strip())
    assert read_tree(first) == read_tree(mount)
    before = cli.ok("cache", "info", "--json").json()
    assert before["cache_bytes"] == 4 * MiB and before["cache_objects"] == 4 and before["pinned_bytes"] == 0

    dry = cli.ok("cache", "cleanup", "1MB", "--dry-run", "--json").json()
    assert dry["dry_run"] and dry["freed_bytes"] == 4 * MiB  # 1 MiB objects: 1 MB (10^6) fits none
    assert cli.ok("cache", "info", "--json").json()["cache_bytes"] == 4 * MiB  # nothing deleted

    done = cli.ok("cache", "cleanup", "1MB", "--json").json()
    assert done["freed_bytes"] >= 3 * 10**6 and done["cache_bytes_after"] <= 10**6
    after = cli.ok("cache", "info", "--json").json()
    assert after["cache_bytes"] <= 10**6

    second = Path(cli.ok("artifact", "get", "p/big", "--root", "two").stdout.strip())
    assert read_tree(second) == read_tree(mount)  # re-fetched from the reference, verified
    assert cli.ok("cache", "info", "--json").json()["cache_bytes"] == 4 * MiB
    cli.ok("artifact", "verify", "p/big")


def test_least_recently_used_goes_first(repo: Repo, workdir: Path, tmp_path: Path) -> None:
    old = make_tree(tmp_path / "old", {"o1": os.urandom(MiB), "o2": os.urandom(MiB)})
    new = make_tree(tmp_path / "new", {"n1": os.urandom(MiB), "n2": os.urandom(MiB)})
    repo.put(old.as_uri(), name="p/old", type="d")
    repo.put(new.as_uri(), name="p/new", type="d")
    repo.get("p/old", root=workdir / "a")
    repo.get("p/new", root=workdir / "b")
    result = cleanup(repo, 2 * MiB)
    assert result.freed_bytes == 2 * MiB
    manifest = {e.path: e for v in ("p/old", "p/new") for e in repo.manifest(repo.resolve(v))}
    assert not repo.store.has(manifest["o1"].digest) and not repo.store.has(manifest["o2"].digest)
    assert repo.store.has(manifest["n1"].digest) and repo.store.has(manifest["n2"].digest)
    # Using the old one again makes it the most recent: now the other pair goes.
    repo.get("p/old", root=workdir / "c")
    cleanup(repo, 2 * MiB)
    assert repo.store.has(manifest["o1"].digest) and not repo.store.has(manifest["n1"].digest)


def test_only_copies_survive_cleanup_0_and_it_is_quiet(
    cli, repo_dir: Path, data_dir: Path, mount: Path
) -> None:  # type: ignore[no-untyped-def]
    cli.ok("artifact", "put", str(data_dir), "--name", "p/local", "--type", "dataset")  # packed + loose
    cli.ok("artifact", "put", mount.as_uri(), "--name", "p/ref", "--type", "dataset")
    cli.ok("artifact", "get", "p/ref", "--root", "r")
    pinned = cli.ok("cache", "info", "--json").json()["pinned_bytes"]
    assert pinned > 2 * MiB

    first = cli.ok("cache", "cleanup", "0", "--json").json()
    assert first["freed_bytes"] == 4 * MiB and first["pinned_bytes"] == pinned
    again = cli.ok("cache", "cleanup", "0")
    assert again.stdout == "" and again.stderr == ""  # cron-friendly: nothing to do, nothing said
    state = cli.ok("cache", "info", "--json").json()
    assert state["cache_bytes"] == 0 and state["pinned_bytes"] == pinned
    out = Path(cli.ok("artifact", "get", "p/local", "--root", "l").stdout.strip())
    assert read_tree(out) == read_tree(data_dir)
    cli.ok("artifact", "verify")


def test_reference_bytes_also_stored_as_a_plain_file_are_pinned(
    repo: Repo, workdir: Path, tmp_path: Path
) -> None:
    data = os.urandom(MiB + 10)
    ref = make_tree(tmp_path / "ref", {"x.bin": data})
    local = make_tree(tmp_path / "local", {"copy.bin": data})
    repo.put(ref.as_uri(), name="p/ref", type="d")
    repo.get("p/ref", root=workdir / "r")
    repo.put(local, name="p/local", type="d")  # deduplicated against the reference-fetched object
    assert cleanup(repo, 0).nothing_done
    assert read_tree(repo.get("p/local", root=workdir / "l").root) == {"copy.bin": data}


def test_reference_bytes_staged_in_an_open_draft_are_pinned(
    repo: Repo, workdir: Path, tmp_path: Path
) -> None:
    from artctl.ops.drafts import Drafts

    data = os.urandom(MiB + 20)
    ref = make_tree(tmp_path / "ref", {"x.bin": data})
    repo.put(ref.as_uri(), name="p/ref", type="d")
    repo.get("p/ref", root=workdir / "r")
    base = make_tree(tmp_path / "base", {"keep.txt": "base\n"})
    repo.put(base, name="p/work", type="d")
    drafts = Drafts(repo)
    draft = drafts.new("p/work")
    drafts.add(draft.id, make_tree(tmp_path / "staged", {"copy.bin": data}))  # dedup: no new bytes
    assert cleanup(repo, 0).nothing_done
    drafts.commit(draft.id)
    assert read_tree(repo.get("p/work", root=workdir / "w").root) == {"copy.bin": data, "keep.txt": b"base\n"}


def test_cleanup_waits_for_an_in_flight_writer(repo: Repo, workdir: Path, mount: Path) -> None:
    """A put between "the store has this blob" and its commit holds gc's writer guard."""
    repo.put(mount.as_uri(), name="p/big", type="d")
    repo.get("p/big", root=workdir / "a")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            HOLD.replace(
                "artctl.base.locks import shared_use", "artctl.base.locks import writing as shared_use"
            ),
            str(repo.repository.locks_dir),
            "3",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockTimeout):
            cleanup(repo, 0, lock_timeout=0.3)
        assert info(repo).cache_bytes == 4 * MiB
    finally:
        holder.kill()
        holder.wait()
    assert cleanup(repo, 0, lock_timeout=30).freed_bytes == 4 * MiB


def test_pack_evicted_only_when_every_blob_has_another_copy(repo: Repo, workdir: Path) -> None:
    tree = make_tree(workdir / "small", {f"f{i}.txt": f"file {i}\n" for i in range(5)})
    repo.put(tree, name="p/small", type="d")
    packs = list(repo.store.iter_packs())
    assert len(packs) == 1
    digests = [e.digest for e in repo.manifest(repo.resolve("p/small"))]
    # A remote that really holds the pack (cleanup re-checks it there), and records of verified
    # copies for all blobs but one, then for the last one too.
    remote = workdir / "remote"
    (remote / "packs").mkdir(parents=True)
    for suffix in (".pack", ".idx"):
        shutil.copyfile(
            repo.store.packs_dir / f"{packs[0]}{suffix}", remote / "packs" / f"{packs[0]}{suffix}"
        )
    add_remote(repo.repository, "origin", remote.as_uri())
    size = (remote / "packs" / f"{packs[0]}.pack").stat().st_size
    copies = [RemoteCopy(d, f"packs/{packs[0]}.pack", size) for d in digests]
    state = repo.repository.state
    state.record_remote_copies("origin", copies[:-1])  # what a push of all but one would record
    assert info(repo).cache_bytes == 0 and cleanup(repo, 0).nothing_done
    assert list(repo.store.iter_packs()) == packs
    state.record_remote_copies("origin", copies[-1:])
    assert info(repo).cache_objects == 5
    result = cleanup(repo, 0)
    assert [u.pack for u in result.evicted] == [True] and len(result.evicted[0].blobs) == 5
    assert list(repo.store.iter_packs()) == [] and not any(repo.store.has(d) for d in digests)


HOLD = """
import sys, time
from pathlib import Path
from artctl.base.locks import shared_use
with shared_use(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_cleanup_waits_for_a_running_reader(repo: Repo, workdir: Path, mount: Path) -> None:
    repo.put(mount.as_uri(), name="p/big", type="d")
    repo.get("p/big", root=workdir / "a")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(repo.repository.locks_dir), "3"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockTimeout):
            cleanup(repo, 0, lock_timeout=0.3)
        assert info(repo).cache_bytes == 4 * MiB  # nothing evicted under the reader
        started = time.monotonic()
        assert cleanup(repo, 0, lock_timeout=30).freed_bytes == 4 * MiB  # waits, then evicts
        assert time.monotonic() - started > 0.5
    finally:
        holder.kill()
        holder.wait()


def test_concurrent_gets_and_cleanups_never_see_missing_bytes(cli, repo_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tree = make_tree(tmp_path / "nfs", {f"d/f{i}.bin": os.urandom(64 * 1024 + i) for i in range(12)})
    cli.ok("artifact", "put", tree.as_uri(), "--name", "p/ds", "--type", "dataset")
    expected = read_tree(tree)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop("ARTCTL_DIR", None)
    loop = (
        "import subprocess, sys\n"
        "for i in range(4):\n"
        "    args = sys.argv[1:]\n"
        "    if args[0] != 'cache': args += ['--root', f'{sys.argv[-1]}-{i}']\n"
        "    r = subprocess.run([sys.executable, '-m', 'artctl', *args], capture_output=True, text=True)\n"
        "    if r.returncode: sys.exit(r.stderr)\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", loop, "artifact", "get", "p/ds", "--root", f"g{n}"],
            cwd=repo_dir,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    procs.append(
        subprocess.Popen(
            [sys.executable, "-c", loop, "cache", "cleanup", "0"],
            cwd=repo_dir,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
    )
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
    for n in range(2):
        for i in range(4):
            assert read_tree(repo_dir / f"g{n}-{i}") == expected


def test_remove_temp_deletes_only_old_leftovers(cli, repo_dir: Path) -> None:  # type: ignore[no-untyped-def]
    tmp = repo_dir / ".artifacts" / "tmp"
    tmp.mkdir(exist_ok=True)
    old, fresh = tmp / ".old.tmp", tmp / ".fresh.tmp"
    old.write_bytes(b"x" * 100)
    fresh.write_bytes(b"y" * 10)
    past = time.time() - 2 * 3600
    os.utime(old, (past, past))
    assert cli.ok("cache", "info", "--json").json()["temp_files"] == 2
    assert (
        cli.ok("cache", "cleanup", "1GB", "--remove-temp", "--dry-run", "--json").json()["temp_files_removed"]
        == 1
    )
    assert old.exists()
    result = cli.ok("cache", "cleanup", "1GB", "--remove-temp", "--json").json()
    assert result["temp_files_removed"] == 1 and result["temp_bytes_removed"] == 100
    assert not old.exists() and fresh.exists()
