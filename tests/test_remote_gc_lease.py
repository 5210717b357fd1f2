"""One remote gc at a time (docs/remotes.md, "Garbage collection on a remote"): a gc holds a lease
on the remote; a second gc while it runs is refused with the holder and the expiry and changes
nothing (a dry run still works), `--force` takes the lease over and the first gc then stops
before its next delete; a gc killed on this host frees the lease at once, one of another host
when its lease expires; every live version stays complete throughout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_remote_gc import TREES, _clone_all, _files, _same, _scene, ok

from artctl.backend import open_backend
from artctl.format.records import dumps

from conftest import cli_env, run_cli, run_killed_at
from servers import Remote


@pytest.fixture(params=["file", "s3"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Remote:
    """A fresh empty location on file:// and on S3 (moto), as in tests/test_remote_gc.py."""
    if request.param == "file":
        (tmp_path / "remote").mkdir()
        return Remote((tmp_path / "remote").as_uri(), {}, {})
    from servers import make_s3_bucket

    server = request.getfixturevalue("s3_server")
    return Remote(f"s3://{make_s3_bucket(server)}", dict(server.storage_options), dict(server.env))


#: The first gc's lease in the takeover test: long enough that the second gc cannot find it
#: expired on a loaded machine, short enough that its holder re-reads it (a quarter) soon.
LEASE = 20


def _paused_gc(
    cwd: Path, remote: Remote, env: dict[str, str], at: str = "remote-gc.marked"
) -> subprocess.Popen[str]:
    """A gc of the remote stopped (SIGSTOP) at crash point ``at`` (by default: once it holds the
    lease and made its plan)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "artctl", "gc", "--remote", "origin", "--grace", "0"],
        cwd=cwd,
        env=cli_env({**remote.env, **env, "ARTCTL_CRASH_AT": at, "ARTCTL_CRASH_SIGNAL": "STOP"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T":
            return proc
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"the first gc never paused: {proc.communicate()}")


def _others(remote: Remote) -> dict[str, int]:
    """The remote's files but gc's own markers and lease."""
    return {k: v for k, v in _files(remote).items() if not k.startswith("gc/")}


def _live_complete(base: Path, remote: Remote, tag: str) -> None:
    fresh = _clone_all(base, remote, f"clone-{tag}")
    ok(fresh, remote, "artifact", "get", "p/ds:v1", "--root", str(base / f"out-{tag}"))
    _same(base / f"out-{tag}", TREES["v1"])


def test_a_second_gc_while_one_runs_is_refused_and_force_takes_over(remote: Remote, tmp_path: Path) -> None:
    """File and S3: A is paused holding the lease with its plan made. B is refused (exit 1, one
    line naming A's pid and the expiry) and changes nothing; B --dry-run works; B --force
    collects; A, resumed, finds its lease taken and stops before deleting anything; every live
    version is complete and a later gc runs and finds nothing left."""
    a = _scene(tmp_path, remote)
    before = _others(remote)
    first = _paused_gc(a, remote, {"ARTCTL_TEST_GC_LEASE": str(LEASE)})
    paused = time.monotonic()
    try:
        second = run_cli("gc", "--remote", "origin", "--grace", "0", cwd=a, env=remote.env)
        assert second.returncode == 1, second
        assert "Traceback" not in second.stderr
        line = second.stderr.splitlines()[0]
        assert line.startswith("error: another gc holds the lease") and f"pid {first.pid}" in line, line
        assert "lease expires" in line and "--force" in second.stderr
        assert _others(remote) == before
        dry = ok(a, remote, "gc", "--remote", "origin", "--grace", "0", "--dry-run", "--json").json()
        assert dry["purged"] and _others(remote) == before
        forced = ok(a, remote, "gc", "--remote", "origin", "--grace", "0", "--force", "--json").json()
        assert sorted(forced["purged"]) == ["p/ds:v0", "p/ds:v2"]
        time.sleep(max(0.0, paused + LEASE / 4 + 0.5 - time.monotonic()))  # A re-reads its lease
    finally:
        os.kill(first.pid, signal.SIGCONT)
    _out, err = first.communicate(timeout=120)
    assert first.returncode == 1 and "lost its lease" in err and "Traceback" not in err, err
    _live_complete(tmp_path, remote, "after")
    again = ok(a, remote, "gc", "--remote", "origin", "--grace", "0", "--json").json()
    assert again["files"] == [] and again["purged"] == []


def test_a_killed_gc_frees_the_lease_at_once_here_and_on_expiry_elsewhere(
    remote: Remote, tmp_path: Path
) -> None:
    """File and S3: a gc killed mid-sweep on this host does not block the next one (its pid is
    gone); a lease left by a gc of another host blocks gc until it expires, then gc runs; every
    live version is complete."""
    a = _scene(tmp_path, remote)
    run_killed_at("remote-gc.packs-swept", "gc", "--remote", "origin", "--grace", "0", cwd=a, env=remote.env)
    assert any(k.startswith("gc/lease/") for k in _files(remote))
    ok(a, remote, "gc", "--remote", "origin", "--grace", "0")
    _live_complete(tmp_path, remote, "killed")

    backend = open_backend(remote.url, remote.storage_options)
    numbers = [int(k.rsplit("/", 1)[1].split(".")[0]) for k in backend.list_sizes("gc/lease")]
    elsewhere = {"kind": "artctl-gc-lease", "user": "cron", "host": "elsewhere", "pid": 1, "seconds": 3}
    assert backend.create(f"gc/lease/{max(numbers) + 1:012d}.json", dumps(elsewhere))
    planted = time.monotonic()
    blocked = run_cli("gc", "--remote", "origin", "--grace", "0", cwd=a, env=remote.env)
    assert blocked.returncode == 1 and "cron@elsewhere pid 1" in blocked.stderr, blocked
    # the lease, plus a second of mtime resolution on each side (the lease's and gc's marker's)
    time.sleep(max(0.0, planted + 3 + 2.5 - time.monotonic()))
    ok(a, remote, "gc", "--remote", "origin", "--grace", "0")
    _live_complete(tmp_path, remote, "expired")


def test_of_two_gcs_that_find_the_lease_free_at_once_one_takes_it(tmp_path: Path) -> None:
    """A finds the lease free and is paused before taking it; B takes it, collects and releases
    it; A, resumed, cannot create the generation B created: it stops with one line and changes
    nothing, and its re-run collects what is left (nothing)."""
    (tmp_path / "remote").mkdir()
    remote = Remote((tmp_path / "remote").as_uri(), {}, {})
    a = _scene(tmp_path, remote)
    first = _paused_gc(a, remote, {}, at="remote-gc.lease-free")
    try:
        done = ok(a, remote, "gc", "--remote", "origin", "--grace", "0", "--json").json()
        assert sorted(done["purged"]) == ["p/ds:v0", "p/ds:v2"]
        after = _files(remote)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    _out, err = first.communicate(timeout=120)
    assert first.returncode == 1 and err.startswith("error: another gc just took the lease"), err
    mine = f"-{first.pid}-"  # A's start marker: gc/<host>-<pid>-<id>.json
    assert _files(remote) == {k: v for k, v in after.items() if mine not in k}  # only it went
    again = ok(a, remote, "gc", "--remote", "origin", "--grace", "0", "--json").json()
    assert again["files"] == [] and again["purged"] == []
    _live_complete(tmp_path, remote, "raced")
