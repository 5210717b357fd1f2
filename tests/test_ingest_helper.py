"""The helper process that reads, hashes and packs small files beside ``put``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from artctl.ops.ingest.helper import MIN_FILES, IngestHelper

from conftest import cli_env, make_tree


def _many(root: Path, count: int) -> Path:
    return make_tree(root, {f"d{i % 20:02d}/f{i:05d}.bin": f"{i}\n".encode() * 40 for i in range(count)})


def _packs(repo_dir: Path) -> list[Path]:
    return sorted((repo_dir / ".artifacts" / "packs").glob("*.pack"))


def _helpers_of(repo_dir: Path) -> list[int]:
    """Pids of helper processes working for this repository."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"artctl.ops.ingest.helper" in cmdline and str(repo_dir).encode() in b" ".join(cmdline):
            found.append(int(pid))
    return found


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the helper is only started with a core to spare")
def test_many_small_files_are_shared_with_a_helper_and_come_back_intact(
    cli, repo_dir: Path, tmp_path: Path
) -> None:
    count = 5 * MIN_FILES  # many batches: the helper starts long before this process is done
    src = _many(tmp_path / "src", count)
    put = cli.ok("artifact", "put", str(src), "--name", "p/many", "--type", "dataset", "--json").json()
    assert put["files"] == count
    assert len(_packs(repo_dir)) >= 2  # one pack written here, at least one by the helper
    cli.ok("artifact", "get", "p/many:v0", "--root", "out")
    for rel in ("d00/f00000.bin", "d07/f02007.bin", f"d19/f{count - 1:05d}.bin"):
        assert (repo_dir / "out" / rel).read_bytes() == (src / rel).read_bytes()
    assert cli.ok("artifact", "verify", "--json").json()["ok"] is True
    again = cli.ok("artifact", "put", str(src), "--name", "p/many", "--type", "dataset", "--json").json()
    assert again["created"] is False and again["digest"] == put["digest"]
    assert _helpers_of(repo_dir) == []


def test_one_worker_keeps_everything_in_one_process(cli, repo_dir: Path, tmp_path: Path) -> None:
    src = _many(tmp_path / "src", MIN_FILES + 100)
    cli.ok("config", "core.workers", "1")
    cli.ok("artifact", "put", str(src), "--name", "p/one", "--type", "dataset")
    assert len(_packs(repo_dir)) == 1


def test_helper_reports_a_vanished_file_as_the_users_error_and_publishes_nothing(
    repo_dir: Path, tmp_path: Path
) -> None:
    from artctl.errors import InvalidInput
    from artctl.ops.ingest import scan

    src = _many(tmp_path / "src", 50)
    files = scan(src)
    os.unlink(files[10].local)
    helper = IngestHelper(repo_dir / ".artifacts")
    try:
        assert helper.ready()
        assert len(helper.store(files[:10])) == 10
        with pytest.raises(InvalidInput, match="disappeared"):
            helper.store(files[10:])
    finally:
        helper.close()
    assert helper.proc.returncode == 1
    assert _packs(repo_dir) == []  # the first batch was never published either


def test_killed_put_stops_its_helper_and_leaves_the_repository_consistent(
    cli, repo_dir: Path, tmp_path: Path
) -> None:
    src = _many(tmp_path / "src", 4 * MIN_FILES)
    proc = subprocess.Popen(
        [sys.executable, "-m", "artctl", "artifact", "put", str(src), "--name", "p/k", "--type", "dataset"],
        cwd=repo_dir,
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not _helpers_of(repo_dir) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while _helpers_of(repo_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _helpers_of(repo_dir) == []  # the helper noticed its parent was gone and exited
    assert cli.ok("artifact", "verify", "--json").json()["ok"] is True
    assert (
        cli.ok("artifact", "put", str(src), "--name", "p/k", "--type", "dataset", "--json").json()["files"]
        == 4 * MIN_FILES
    )


def test_a_helper_that_cannot_start_leaves_all_the_work_here(tmp_path: Path) -> None:
    """No usable helper (here: a repository it cannot open) is not an error: nothing is lost."""
    from artctl.ops.ingest import scan
    from artctl.ops.ingest.helper import share
    from artctl.ops.ingest.read import read_batch

    files = scan(_many(tmp_path / "src", 30))
    batches = [files[:10], files[10:20], files[20:]]
    results = list(share(batches, tmp_path / "not-a-repository", read_batch))
    assert sorted(f.path for batch, read, stored in results for f, _, _ in read) == sorted(
        f.path for f in files
    )
    assert all(stored is None for _, _, stored in results)
