"""The cloud SDKs stay quiet: a gs:// command prints artctl's lines only, with or without gcsfs'
variable set by the caller (issue 17, "Ecosystem"). Missing extras are tested in a real light
install: tests/test_wheel.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import cli_env, make_tree
from servers import StorageServer, make_gcs_bucket

#: What an SDK's warning, log line or traceback says, and artctl's own lines never do.
NOISE = ("warn", "traceback", "gcsfs", "bucket type", "credentials", "falling back")


def _bare_gcs_env(server: StorageServer) -> dict[str, str]:
    """The emulator and nothing else, as a user's shell has it: gcsfs' variable unset (gcsfs then
    logs "Could not determine bucket type …" on every bucket), no project, no credentials."""
    env = cli_env({"STORAGE_EMULATOR_HOST": server.endpoint_url})
    for name in (
        "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT",
        "GCSFS_DEFAULT_PROJECT",
        "GOOGLE_CLOUD_PROJECT",
        "NO_GCE_CHECK",
        "PYTHONWARNINGS",
    ):
        env.pop(name, None)
    return env


def _run(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "artctl", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_gs_commands_print_no_sdk_warning(gcs_server: StorageServer, tmp_path: Path) -> None:
    bucket = make_gcs_bucket(gcs_server)
    env = _bare_gcs_env(gcs_server)
    gcs_server.filesystem().pipe(f"{bucket}/refs/a.txt", b"referenced bytes")
    make_tree(tmp_path / "data", {"a.txt": "hello"})
    repo = tmp_path / "repo"
    repo.mkdir()
    steps = [
        ("init",),
        ("artifact", "put", str(tmp_path / "data"), "--name", "proj/d", "--type", "dataset"),
        ("remote", "add", "g", f"gs://{bucket}/remote", "--default"),
        ("push",),
        ("artifact", "put", f"gs://{bucket}/refs/", "--name", "proj/r", "--type", "dataset"),
        ("artifact", "get", "proj/r:latest", "--root", str(tmp_path / "out")),
    ]
    for args in steps:
        proc = _run(repo, env, *args)
        assert proc.returncode == 0, (args, proc.stderr)
        noise = [line for line in proc.stderr.splitlines() if any(word in line.lower() for word in NOISE)]
        assert noise == [], (args, proc.stderr)
    assert (tmp_path / "out" / "a.txt").read_bytes() == b"referenced bytes"
