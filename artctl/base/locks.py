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
from collections.abc import Iterator
from pathlib import Path

from artctl.base.fsutil import LOCK_TIMEOUT_SECONDS, flock_wait, open_lock_file

LOCK_NAME = "cache.lock"


@contextlib.contextmanager
def _flock(path: Path, operation: int, timeout: float, what: str) -> Iterator[None]:
    fd = open_lock_file(path)
    try:
        flock_wait(
            fd,
            operation,
            timeout,
            what,
            delay=0.01,
            max_delay=0.2,
            hint="another artctl process is using the cache; retry when it has finished",
        )
        yield
    finally:
        os.close(fd)  # releases the lock


def shared_use(
    locks_dir: Path, timeout: float = LOCK_TIMEOUT_SECONDS
) -> contextlib.AbstractContextManager[None]:
    """Hold while reading objects from the store: no eviction can happen meanwhile."""
    return _flock(locks_dir / LOCK_NAME, fcntl.LOCK_SH, timeout, "cache cleanup to finish")


def exclusive(
    locks_dir: Path, timeout: float = LOCK_TIMEOUT_SECONDS
) -> contextlib.AbstractContextManager[None]:
    """Hold while evicting: waits for every running reader to finish."""
    return _flock(locks_dir / LOCK_NAME, fcntl.LOCK_EX, timeout, "running `get`s to finish")
