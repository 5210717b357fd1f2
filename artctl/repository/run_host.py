"""Where a run executes: the host, the git commit of its working directory, and whether the
process that owns a run is still alive (a ``running`` run whose process is gone shows as crashed).
"""

from __future__ import annotations

from artctl.base.processes import process_gone


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


def run_process_gone(pid: int, started_at: str) -> bool:
    """Whether the process of a run that started at ``started_at`` (a record's time) no longer
    runs here: no such process, a zombie, or a reused pid (:func:`process_gone`)."""
    from artctl.format.records import parse_time

    try:
        running_at = parse_time(started_at).timestamp()
    except ValueError:
        return False
    return process_gone(pid, running_at=running_at)
