"""Where a run executes: the host, the git commit of its working directory, and whether the
process that owns a run is still alive (a ``running`` run whose process is gone shows as crashed).
"""

from __future__ import annotations

import os


def hostname() -> str:
    """This machine's name, as run records store it (``host``)."""
    import socket

    return socket.gethostname()


def git_commit(cwd: str) -> str | None:
    """The HEAD commit of the git work tree around ``cwd``, if any."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


def process_gone(pid: int, since: str) -> bool:
    """Whether process ``pid`` no longer runs here: no such process, a zombie, or a process that
    started after ``since`` (the pid was reused by another program)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's
    except (OSError, OverflowError):
        return False
    started = _process_start(pid)
    if started is None:
        return False  # not Linux, or it vanished meanwhile: say nothing we cannot tell
    state, start_time = started
    if state == "Z":
        return True
    from artctl.format.records import parse_time

    try:
        return start_time > parse_time(since).timestamp() + 2  # /proc's clock: ~1 s precision
    except ValueError:
        return False


def _process_start(pid: int) -> tuple[str, float] | None:
    """``(state letter, start time as a Unix timestamp)`` of a process, from Linux's /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        with open("/proc/stat", encoding="ascii") as fh:
            boot = next(float(line.split()[1]) for line in fh if line.startswith("btime "))
        return fields[0], boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError, StopIteration):
        return None
