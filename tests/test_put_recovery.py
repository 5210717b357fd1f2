"""Put and gc when things went wrong: repaired objects, files changing under a put, full disks.

Each test drives real ``artctl`` processes (issue 14, items 3, 8 and 11).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from conftest import make_tree

#: ingest.RACY_SECONDS: files younger than this never take the unchanged-tree fast path.
SETTLE = 2.2


def _objects(repo_dir: Path) -> list[Path]:
    return sorted(p for p in (repo_dir / ".artifacts" / "objects").rglob("*") if p.is_file())


def _corrupt(path: Path) -> None:
    os.chmod(path, 0o644)
    with open(path, "r+b") as fh:
        fh.write(b"\0" * 16)


def test_re_put_after_verify_repair_restores_the_object_through_the_fast_path(cli, repo_dir: Path) -> None:
    """The files are old enough for the unchanged-tree fast path, which used to answer
    `unchanged` and leave the repaired object missing for good."""
    make_tree(repo_dir / "d", {"big.bin": os.urandom(2 * 1024 * 1024), "small.txt": "small\n"})
    time.sleep(SETTLE)
    cli.ok("artifact", "put", "d", "--name", "proj/d", "--type", "t")
    cli.ok("artifact", "put", "d", "--name", "proj/d", "--type", "t")  # remembers where the blobs are
    [obj] = _objects(repo_dir)
    _corrupt(obj)
    result = cli.fails("artifact", "verify", "--repair", "--json")
    assert result.json()["problems"][0]["repaired"]
    assert not obj.exists()
    again = cli.ok("artifact", "put", "d", "--name", "proj/d", "--type", "t", "--json").json()
    assert again["created"] is False and again["version"] == "v0"
    assert obj.exists()
    cli.ok("artifact", "verify")
    cli.ok("artifact", "get", "proj/d", "--root", "out")
    assert (repo_dir / "out" / "big.bin").read_bytes() == (repo_dir / "d" / "big.bin").read_bytes()


def test_re_put_restores_a_lost_pack_through_the_fast_path(cli, repo_dir: Path) -> None:
    """A lost pack (removed by hand, or its disk failed) is restored from the files too."""
    make_tree(repo_dir / "d", {"a.txt": "alpha\n", "b.txt": "beta\n"})
    time.sleep(SETTLE)
    for _ in range(2):  # the second put takes the fast path and remembers the pack
        cli.ok("artifact", "put", "d", "--name", "proj/d", "--type", "t")
    packs = repo_dir / ".artifacts" / "packs"
    for path in packs.iterdir():
        os.chmod(path, 0o644)
        path.unlink()
    assert cli("artifact", "verify", "proj/d").returncode == 1
    result = cli.ok("artifact", "put", "d", "--name", "proj/d", "--type", "t", "--json").json()
    assert result["created"] is False
    cli.ok("artifact", "verify")


def test_a_file_truncated_while_put_runs_is_a_clear_error_not_an_mmap_crash(cli, repo_dir: Path) -> None:
    """``b.bin`` is truncated after the scan took its size and before put reads it (while
    ``a.bin``, first in line with one worker, is still being copied): the put used to die with
    "unexpected ValueError: mmap length is greater than file size" (or SIGBUS, had the
    truncation landed while the file was mapped)."""
    import subprocess
    import sys

    from conftest import cli_env

    cli.ok("config", "core.workers", "1")
    src = repo_dir / "src"
    src.mkdir()
    with open(src / "a.bin", "wb") as fh:  # copied first: a long window to truncate b.bin in
        for _ in range(192):
            fh.write(b"\1" * (1 << 20))
    (src / "b.bin").write_bytes(os.urandom(24 << 20))
    tmp = repo_dir / ".artifacts" / "tmp"
    proc = subprocess.Popen(
        [sys.executable, "-m", "artctl", "artifact", "put", str(src), "--name", "proj/src", "--type", "t"],
        cwd=repo_dir,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (tmp.is_dir() and any(tmp.iterdir())) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    os.truncate(src / "b.bin", 12 << 20)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert "changed while it was being stored" in err and "unexpected" not in err, err
    assert cli.ok("artifact", "ls", "--json").json() == []
    cli.ok("artifact", "verify")
    result = cli.ok("artifact", "put", str(src), "--name", "proj/src", "--type", "t", "--json").json()
    assert result["version"] == "v0" and result["size"] == (192 << 20) + (12 << 20)


def _fill(disk: Path) -> Path:
    """Fill the filesystem at ``disk`` to the last byte; return the filler file."""
    filler = disk / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
        except OSError:
            pass
    return filler


def _stored_files(artifacts: Path) -> list[str]:
    return sorted(
        str(p.relative_to(artifacts))
        for sub in ("objects", "packs", "tmp")
        for p in (artifacts / sub).rglob("*")
        if p.is_file()
    )


def test_a_put_that_fills_the_disk_takes_back_what_it_stored_and_nothing_else(cli, tmp_path: Path) -> None:
    """The objects a failed put stored used to stay for the grace period (1h) while the hint
    said `artctl gc`, which freed nothing. Now they are removed at once; an unreferenced object
    this put did not create (a deleted version's, still young) is left to gc."""
    from test_ux_audit import _small_filesystem

    old = tmp_path / "old.bin"
    old.write_bytes(os.urandom(1500 * 1024))
    src = make_tree(tmp_path / "src", {f"f{i}.bin": os.urandom(1500 * 1024) for i in range(3)})
    (src / "old.bin").write_bytes(old.read_bytes())
    make_tree(src / "small", {f"s{i}.txt": os.urandom(3000) for i in range(40)})
    with _small_filesystem(tmp_path / "disk", "4m") as disk:
        artifacts = disk / ".artifacts"
        cli.ok("init", cwd=disk)
        cli.ok("artifact", "put", str(old), "--name", "p/old", "--type", "t", cwd=disk)
        cli.ok("artifact", "rm", "p/old", cwd=disk)
        kept = _stored_files(artifacts)
        assert len(kept) == 1  # old.bin's object: unreferenced now, but not this put's
        result = cli.fails("artifact", "put", str(src), "--name", "p/src", "--type", "t", cwd=disk)
        assert "no space left on device" in result.stderr
        assert "`artctl gc --grace-period 0`" in result.stderr
        assert _stored_files(artifacts) == kept
        cli.ok("artifact", "verify", cwd=disk)
        gc = cli.ok("gc", "--json", cwd=disk).json()  # default grace period: keeps the young one
        assert gc["bytes_freed"] == 0 and gc["young_kept"] >= 1 and gc["young_bytes"] >= 1500 * 1024
        gc = cli.ok("gc", "--grace-period", "0", "--json", cwd=disk).json()
        assert gc["objects"] == 1 and gc["bytes_freed"] >= 1500 * 1024 and gc["young_kept"] == 0
        assert _stored_files(artifacts) == []


def test_gc_grace_period_option_and_what_it_kept(cli, repo_dir: Path) -> None:
    (repo_dir / "a.bin").write_bytes(os.urandom(2 << 20))
    cli.ok("artifact", "put", "a.bin", "--name", "p/a", "--type", "t")
    cli.ok("artifact", "rm", "p/a")
    human = cli.ok("gc")
    assert "kept 2 unreferenced item(s), 2.0 MiB" in human.stderr and "(1h)" in human.stderr
    assert "--grace-period 0" in human.stderr
    plan = cli.ok("gc", "--dry-run", "--grace-period", "1d", "--json").json()
    assert plan["grace_period_seconds"] == 86400 and plan["young_bytes"] >= 2 << 20
    assert (
        "invalid value '3 hours' for --grace-period"
        in cli.fails("gc", "--grace-period", "3 hours", code=2).stderr
    )
    done = cli.ok("gc", "--grace-period", "0", "--json").json()
    assert done["objects"] == 1 and done["bytes_freed"] >= 2 << 20 and done["young_kept"] == 0
    assert "--grace-period" in cli.ok("gc", "--help").stdout


def test_get_to_another_disk_works_when_the_repository_disk_is_full(cli, tmp_path: Path) -> None:
    """state.db could not even be opened (SQLite creates -wal/-shm files): every get failed
    with "no space left … state.db", although it only reads the repository."""
    from test_ux_audit import _small_filesystem

    src = make_tree(
        tmp_path / "src",
        {"big.bin": os.urandom(1500 * 1024), **{f"s{i}.txt": os.urandom(3000) for i in range(20)}},
    )
    with _small_filesystem(tmp_path / "disk", "4m") as disk:
        cli.ok("init", cwd=disk)
        cli.ok("artifact", "put", str(src), "--name", "p/src", "--type", "t", cwd=disk)
        filler = _fill(disk)
        out = tmp_path / "out"
        cli.ok("artifact", "get", "p/src", "--root", str(out), cwd=disk)
        assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in src.iterdir())
        assert (out / "big.bin").read_bytes() == (src / "big.bin").read_bytes()
        cli.ok("artifact", "ls", cwd=disk)
        # the stand-in index does not know which blobs have remote copies: cleanup must not guess
        assert "no space left on device" in cli.fails("cache", "cleanup", "0", cwd=disk).stderr
        filler.unlink()
        cli.ok("artifact", "verify", cwd=disk)


@pytest.mark.parametrize("backend", ["file", pytest.param("s3", marks=pytest.mark.servers)])
def test_pull_onto_a_full_local_disk_is_reported_as_a_local_full_disk(
    cli,
    tmp_path: Path,
    request,  # type: ignore[no-untyped-def]
    backend: str,
) -> None:
    from test_ux_audit import _small_filesystem

    from servers import make_s3_bucket

    origin = tmp_path / "origin"
    origin.mkdir()
    if backend == "s3":
        server = request.getfixturevalue("s3_server")
        url, options = f"s3://{make_s3_bucket(server)}", ["-o", f"endpoint_url={server.endpoint_url}"]
        cli.env.update(server.env)
    else:
        (tmp_path / "remote").mkdir()
        url, options = (tmp_path / "remote").as_uri(), []
    make_tree(origin / "src", {f"f{i}.bin": os.urandom(1500 * 1024) for i in range(3)})
    cli.ok("init", cwd=origin)
    cli.ok("artifact", "put", "src", "--name", "p/src", "--type", "t", cwd=origin)
    cli.ok("remote", "add", "o", url, "--default", *options, cwd=origin)
    cli.ok("push", cwd=origin)
    with _small_filesystem(tmp_path / "disk", "3m") as disk:
        cli.ok("clone", url, "c", *options, cwd=disk)
        result = cli.fails("pull", "--all", cwd=disk / "c")
        assert "no space left on device" in result.stderr and "this machine's disk" in result.stderr, result
        assert "remote" not in result.stderr.split("while")[0], result
        assert cli.ok("artifact", "ls", "--json", cwd=disk / "c").json()[0]["name"] == "p/src"


def test_a_draft_add_or_upsert_that_fills_the_disk_takes_back_what_it_stored(cli, tmp_path: Path) -> None:
    from test_ux_audit import _small_filesystem

    src = make_tree(tmp_path / "src", {f"f{i}.bin": os.urandom(1500 * 1024) for i in range(3)})
    (tmp_path / "one.txt").write_text("one\n")
    with _small_filesystem(tmp_path / "disk", "4m") as disk:
        artifacts = disk / ".artifacts"
        cli.ok("init", cwd=disk)
        cli.ok("artifact", "put", str(tmp_path / "one.txt"), "--name", "p/d", "--type", "t", cwd=disk)
        kept = _stored_files(artifacts)
        draft = cli.ok("draft", "new", "p/d", cwd=disk).stdout.strip()
        for args in (
            ["draft", "add", draft, str(src)],
            ["artifact", "upsert", str(src), "--name", "p/u", "--type", "t", "--distributed-id", "d1"],
        ):
            result = cli.fails(*args, cwd=disk)
            assert "no space left on device" in result.stderr, result
            assert _stored_files(artifacts) == kept, args
        cli.ok("artifact", "verify", cwd=disk)


def test_the_ingest_helper_tells_the_put_which_packs_it_created(repo_dir: Path, tmp_path: Path) -> None:
    """A put that fails takes back the packs it created; with many small files, some of them
    are published by the helper process, which used to answer with digests only, so those
    packs stayed behind for the grace period."""
    from artctl.ops.ingest import scan
    from artctl.ops.ingest.helper import IngestHelper

    files = scan(make_tree(tmp_path / "src", {f"f{i}": os.urandom(2000) for i in range(40)}))
    created: list[str] = []
    helper = IngestHelper(repo_dir / ".artifacts", created.append)
    try:
        assert helper.ready()
        helper.store(files[:20])
        helper.store(files[20:])
        helper.finish()
    finally:
        helper.close()
    packs = sorted(p.stem for p in (repo_dir / ".artifacts" / "packs").glob("*.pack"))
    assert packs and created == packs
