"""Put and gc when things went wrong: repaired objects, files changing under a put, full disks.

Each test drives real ``artctl`` processes (issue 14, items 3, 8 and 11).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

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
    proc = subprocess.Popen([sys.executable, "-m", "artctl", "artifact", "put", str(src), "--name", "proj/src",
                             "--type", "t"], cwd=repo_dir, env=cli_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
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
