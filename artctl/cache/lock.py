"""The cache lock: readers share it, eviction takes it alone.

``get`` (and anything else that turns "the store has this object" into "I am reading it") holds
a *shared* ``flock`` on ``locks/cache.lock`` from the moment it checks the store until its files
are written; ``cache cleanup`` holds it *exclusively* while it deletes. So an object is never
deleted under a running reader, and a reader that starts after an eviction simply sees the
object missing and fetches it again. ``flock`` locks die with their process: a killed ``get``
never leaves the cache locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import LockTimeout
from ..fsutil import LOCK_TIMEOUT_SECONDS

LOCK_NAME = "cache.lock"


@contextlib.contextmanager
def _flock(path: Path, operation: int, timeout: float, what: str) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        delay = 0.01
        while True:
            try:
                fcntl.flock(fd, operation | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(f"timed out after {timeout:.0f}s waiting for {what}",
                                      hint="another artctl process is using the cache; retry when "
                                           "it has finished") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
        yield
    finally:
        os.close(fd)  # releases the lock


def shared_use(locks_dir: Path, timeout: float = LOCK_TIMEOUT_SECONDS) -> contextlib.AbstractContextManager[None]:
    """Hold while reading objects from the store: no eviction can happen meanwhile."""
    return _flock(locks_dir / LOCK_NAME, fcntl.LOCK_SH, timeout, "cache cleanup to finish")


def exclusive(locks_dir: Path, timeout: float = LOCK_TIMEOUT_SECONDS) -> contextlib.AbstractContextManager[None]:
    """Hold while evicting: waits for every running reader to finish."""
    return _flock(locks_dir / LOCK_NAME, fcntl.LOCK_EX, timeout, "running `get`s to finish")
