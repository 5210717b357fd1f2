"""``artctl run ls`` shows ``crashed`` for a run whose process died without finishing it (its pid
gone from this host), as W&B does (issue 17)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from conftest import cli_env


def _statuses(cli, *extra: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {r["id"]: r["status"] for r in cli.ok("run", "ls", "--json", *extra).json()}


def test_a_killed_python_run_is_crashed(cli, repo_dir: Path) -> None:
    code = (
        "import os, sys, artctl; run = artctl.init(job_type='train'); print(run.id, flush=True); "
        "sys.stdin.read()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=repo_dir,
        env=cli_env(),
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    try:
        assert _statuses(cli)[run_id] == "running"  # alive: still running
        record = cli.ok("run", "show", run_id, "--json").json()
        assert record["pid"] == proc.pid and record["host"]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert _statuses(cli)[run_id] == "crashed"
    assert "crashed" in cli.ok("run", "ls").stdout
    assert cli.ok("run", "show", run_id, "--json").json()["status"] == "crashed"
    assert list(_statuses(cli, "--status", "crashed")) == [run_id]
    assert _statuses(cli, "--status", "running") == {}
    # The record keeps "running" on disk: finishing it late still works.
    assert cli.ok("run", "finish", run_id, "--failed", "--json").json()["status"] == "failed"
    assert _statuses(cli)[run_id] == "failed"


def test_run_start_belongs_to_the_calling_shell(cli, repo_dir: Path) -> None:
    # `sh -c '…; true'` keeps the shell around artctl: the run is the shell's, which then exits.
    shell = subprocess.run(
        ["sh", "-c", f"'{sys.executable}' -m artctl run start --job-type etl; true"],
        cwd=repo_dir,
        env=cli_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    gone = shell.stdout.strip()
    mine = cli.ok("run", "start", "--job-type", "etl").stdout.strip()  # this test's process owns it
    spanning = cli.ok("run", "start", "--job-type", "ci", "--pid", "0").stdout.strip()
    statuses = _statuses(cli)
    assert statuses == {gone: "crashed", mine: "running", spanning: "running"}, statuses
    cli.ok("run", "finish", mine)
    assert _statuses(cli)[mine] == "finished"


def test_a_run_of_another_host_is_taken_as_stored(cli, repo_dir: Path) -> None:
    run_id = cli.ok("run", "start", "--job-type", "etl", "--pid", "999999999").stdout.strip()
    assert _statuses(cli)[run_id] == "crashed"  # no such pid here
    path = repo_dir / ".artifacts" / "runs" / f"{run_id}.json"
    record = json.loads(path.read_text())
    record["host"] = "elsewhere.example"
    path.write_text(json.dumps(record))
    assert _statuses(cli)[run_id] == "running"  # its process cannot be seen from here
