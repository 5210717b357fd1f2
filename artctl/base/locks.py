"""The cache lock: readers share it, eviction takes it alone.

``get`` (and anything else that turns "the store has this object" into "I am reading it") holds
a *shared* ``flock`` on ``locks/cache.lock`` from the moment it checks the store until its files
are written; ``cache cleanup`` holds it *exclusively* while it deletes. So an object is never
deleted under a running reader, and a reader that starts after an eviction simply sees the
object missing and fetches it again. ``flock`` locks die with their process: a killed ``get``
never leaves the cache locked.

The *user cache* (``cache.dir``, shared by every repository of the user; see
:mod:`artctl.repository.user_cache`) has its own lock, ``<cache.dir>/locks/cache.lock``, taken
the same way: shared while a process fills it or links from it, exclusive while ``cache
cleanup`` evicts from it. Lock order: a repository's cache lock, then gc's writer guard, then
the user cache lock (always the innermost; a user-cache cleanup takes no repository lock).
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


def user_cache_shared(
    cache_root: Path, timeout: float = LOCK_TIMEOUT_SECONDS
) -> contextlib.AbstractContextManager[None]:
    """Hold while filling the user cache or linking from it: no eviction from it meanwhile.

    Innermost of every lock (module docstring): taken inside a repository's cache lock and
    writer guard, never around them.
    """
    return _flock(
        cache_root / "locks" / LOCK_NAME, fcntl.LOCK_SH, timeout, "the user cache's cleanup to finish"
    )


def user_cache_exclusive(
    cache_root: Path, timeout: float = LOCK_TIMEOUT_SECONDS
) -> contextlib.AbstractContextManager[None]:
    """Hold while evicting from the user cache: waits for every process filling or reading it."""
    return _flock(
        cache_root / "locks" / LOCK_NAME, fcntl.LOCK_EX, timeout, "processes using the user cache to finish"
    )
