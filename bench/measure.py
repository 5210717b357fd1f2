"""Timing primitives: one fresh subprocess per measurement, its own wall time and peak RSS.

Peak RSS is per command: ``getrusage(RUSAGE_CHILDREN)`` only reports the maximum over every
child ever reaped, so it cannot be attributed to one command.  GNU ``time`` is used when
installed because Linux carries the *forking* process's peak RSS over into the child at
exec: a child forked from this Python process never reports less than this process's own
peak.  ``time`` is a small C program, so through it that floor is about 2 MiB.  Without it,
``os.wait4`` is used and the floor is recorded so the table can say "at most".
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

STDERR_TAIL_BYTES = 4000
READ_CHUNK = 1 << 20


@dataclass
class Run:
    """One timed invocation."""

    seconds: float
    rc: int
    maxrss_bytes: int
    user_s: float
    sys_s: float
    stderr_tail: str = ""
    timed_out: bool = False
    error: str = ""  # set when the run is judged invalid after the fact (e.g. wrong output)
    rss_floor_bytes: int = 0  # peak RSS values at or below this are an upper bound only
    load1: float = 0.0  # 1-minute load average at start: other work on the machine skews timings

    @property
    def ok(self) -> bool:
        return self.rc == 0 and not self.timed_out and not self.error

    def describe_failure(self) -> str:
        """One short reason, for the table and the JSON."""
        if self.error:
            return self.error
        if self.timed_out:
            return "timed out"
        lines = [ln.strip() for ln in self.stderr_tail.strip().splitlines() if ln.strip()]
        errors = [ln for ln in lines if "error" in ln.lower()]  # the message, not a trailing hint
        pick = errors[-1] if errors else (lines[-1] if lines else "no stderr")
        return f"rc={self.rc}: {pick}"


def _kill_group(pid: int, flag: list[bool]) -> None:
    """Kill the whole process group so shell pipelines die too."""
    flag.append(True)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@functools.lru_cache(maxsize=1)
def gnu_time() -> str | None:
    """Path of GNU time, if installed (``apt-get install time``)."""
    exe = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return exe if "GNU" in (out.stdout + out.stderr) else None


def rss_source() -> str:
    exe = gnu_time()
    return f"GNU time ({exe}), floor ~2 MiB" if exe else "os.wait4 of the child, floor = harness peak RSS"


def _self_peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _read_time_rss(path: Path) -> int | None:
    """GNU time writes status lines first and the %M value (KiB) last."""
    try:
        lines = path.read_text().strip().splitlines()
        return int(lines[-1]) * 1024 if lines else None
    except (OSError, ValueError):
        return None


def run_timed(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    stdout_path: Path,
    timeout: float,
) -> Run:
    """Run ``argv`` once; stdout goes to a file (outputs can be huge), stderr is kept as a tail."""
    stdout_path.parent.mkdir(parents=True, exist_ok=True)
    rss_file = stdout_path.with_name(stdout_path.name + ".rss")
    wrapper = gnu_time()
    full = [wrapper, "-f", "%M", "-o", str(rss_file), *argv] if wrapper else list(argv)
    floor = 2 << 20 if wrapper else _self_peak()
    load1 = os.getloadavg()[0]
    with open(stdout_path, "wb") as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        try:
            proc = subprocess.Popen(
                full,
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        except OSError as exc:
            return Run(0.0, 127, 0, 0.0, 0.0, stderr_tail=f"cannot start {argv[0]}: {exc}")
        killed: list[bool] = []
        timer = threading.Timer(timeout, _kill_group, (proc.pid, killed))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # Ctrl-C: the child is in its own session, so end it too
            _kill_group(proc.pid, killed)
            os.wait4(proc.pid, 0)
            raise
        finally:
            timer.cancel()
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        size = err.seek(0, os.SEEK_END)
        err.seek(max(0, size - STDERR_TAIL_BYTES))
        tail = err.read().decode("utf-8", "replace")
    rss = _read_time_rss(rss_file) if wrapper else None
    return Run(
        seconds=seconds,
        rc=proc.returncode,
        maxrss_bytes=rss if rss is not None else usage.ru_maxrss * 1024,  # Linux reports KiB
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        stderr_tail=tail,
        timed_out=bool(killed),
        rss_floor_bytes=floor if rss is not None else _self_peak(),
        load1=load1,
    )


def run_quiet(argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float = 600) -> None:
    """Untimed setup command; raises with its stderr so the caller can mark the step failed."""
    res = subprocess.run(
        list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout
    )
    if res.returncode != 0:
        msg = res.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(f"{' '.join(argv[:3])}… rc={res.returncode}: {msg[-1] if msg else ''}")


def iter_files(root: Path) -> Iterable[os.DirEntry]:
    """Regular files under ``root`` (no symlinks followed), depth first, via scandir for speed."""
    stack = [str(root)]
    while stack:
        try:
            it = os.scandir(stack.pop())
        except (FileNotFoundError, NotADirectoryError):
            continue
        with it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    yield entry


def warm(paths: Iterable[Path]) -> int:
    """Read every byte of the inputs so a timed run starts with them in the page cache.

    Page cache idle for about a minute is evicted on this kind of machine, and whichever tool
    runs first would otherwise pay the disk reads for everyone.
    """
    buf = bytearray(READ_CHUNK)
    total = 0
    for path in paths:
        if path.is_file():
            files: Iterable[Path | os.DirEntry] = [path]
        else:
            files = iter_files(path)
        for entry in files:
            try:
                with open(entry, "rb", buffering=0) as fh:
                    while n := fh.readinto(buf):
                        total += n
            except OSError:
                pass
    return total


def flush_writeback() -> None:
    """Start every step from the same memory state: no dirty pages of earlier steps (their
    writeback is not billed to the next one) and no clean page cache either.

    With the page cache full (datasets, earlier outputs), whichever command writes next pays
    the kernel's reclaim in its own system time: seen here, the same 2 GB copy took 0.6 s
    right after outputs were deleted and 3.5-4.7 s after another 2 GB had been written. So the
    clean cache is dropped (root only; elsewhere this is skipped and said once) and ``warm``
    then reads back exactly the inputs of the step.
    """
    global _DROP_WARNED
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as fh:
            fh.write("1\n")
    except OSError as exc:
        if not _DROP_WARNED:
            _DROP_WARNED = True
            print(
                f"warning: cannot drop the page cache before each step ({exc.strerror}); timings of "
                "writing steps depend on the order they run in",
                file=sys.stderr,
            )


_DROP_WARNED = False
