"""Is a process still running on this machine? One answer for every caller that must tell a
dead writer's leftovers (temporary files, mirror sessions, half-built clones) or a crashed
run from work that is still going on."""

from __future__ import annotations

import os


def process_gone(pid: int, *, running_at: float | None = None) -> bool:
    """True only when process ``pid`` can be seen to no longer run here.

    No such pid: gone. A pid this user may not signal (another user's): running. This process
    and pids ≤ 0 are never gone. With ``running_at`` (a Unix time at which the process is known
    to have run, e.g. a run's start), a zombie, or a process started after that time (the pid was
    reused by another program), is gone too; that needs Linux's /proc, elsewhere nothing more
    is said.
    """
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's
    except (OSError, OverflowError):
        return False
    if running_at is None:
        return False
    started = _process_start(pid)
    if started is None:
        return False  # not Linux, or it vanished meanwhile: say nothing we cannot tell
    state, start_time = started
    return state == "Z" or start_time > running_at + 2  # /proc's clock: ~1 s precision


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
