"""The lock protocol that lets ``gc`` delete bytes while other processes write (docs/gc.md).

Writers (``put``, ``draft add``, ``draft commit``, ``upsert``/``finish``, ``pull``) hold a
*shared* lock on ``locks/gc.lock`` for their whole operation, from the first "is this blob
already stored?" check until the version record (or draft file) naming those blobs is durable.
``gc`` takes the lock *exclusively* while it decides what is dead and deletes it, so it never
sees a half-finished write: either the writer's record exists (its blobs are live) or the writer
has not yet checked for any blob (it will store again whatever gc removed).

``flock(2)`` lets new readers in while a writer waits, so a steady stream of puts could starve
gc. A second lock, ``locks/gc-gate.lock``, is a turnstile: everyone takes it exclusively for an
instant before taking ``gc.lock``; gc keeps it while it waits, so new writers queue behind gc.
Locks die with their process, so a crashed writer never blocks gc; what it staged under
``tmp/`` is removed by the next process that takes the guard (``fsutil.remove_dead_temps``).

The shared lock is re-entrant within a process (a put inside ``Artifact.save`` inside a run …).
Lock order: this guard first, then any artifact/draft/run lock — never the other way round.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from artctl.base.fsutil import flock_wait, open_lock_file, remove_dead_temps
from artctl.errors import LockTimeout

GATE_FILE = "gc-gate.lock"
GUARD_FILE = "gc.lock"
#: Writers wait this long for a running gc's delete phase before giving up.
WRITER_TIMEOUT_SECONDS = 600.0
#: gc waits this long for in-flight writers to finish.
GC_TIMEOUT_SECONDS = 120.0
_POLL = 0.02

_state_lock = threading.Lock()
_held: dict[str, list[int]] = {}  # locks dir → [fd, depth] of this process's shared hold


def _acquire(fd: int, mode: int, timeout: float, what: str) -> None:
    flock_wait(
        fd,
        mode,
        timeout,
        what,
        delay=_POLL,
        hint="another artctl process is busy; retry when it has finished",
    )


@contextlib.contextmanager
def writing(locks_dir: Path, timeout: float = WRITER_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold the shared writer lock: gc will not delete anything while this block runs."""
    key = str(locks_dir)
    with _state_lock:
        entry = _held.get(key)
        if entry is not None:
            entry[1] += 1
    if entry is not None:
        try:
            yield
        finally:
            with _state_lock:
                entry[1] -= 1
        return
    gate = open_lock_file(locks_dir / GATE_FILE)
    fd = open_lock_file(locks_dir / GUARD_FILE)
    try:
        _acquire(gate, fcntl.LOCK_EX, timeout, "a running gc to finish")
        try:
            _acquire(fd, fcntl.LOCK_SH, timeout, "a running gc to finish")
        finally:
            fcntl.flock(gate, fcntl.LOCK_UN)
    except BaseException:
        os.close(fd)
        os.close(gate)
        raise
    os.close(gate)
    remove_dead_temps(locks_dir.parent / "tmp")
    with _state_lock:
        _held[key] = entry = [fd, 1]
    try:
        yield
    finally:
        with _state_lock:
            entry[1] -= 1
            last = entry[1] == 0
            if last and _held.get(key) is entry:
                del _held[key]
        if last:
            os.close(fd)  # closing the descriptor releases the flock


def holds_shared(locks_dir: Path) -> bool:
    """True while this process is inside a :func:`writing` block on ``locks_dir``."""
    with _state_lock:
        return str(locks_dir) in _held


@contextlib.contextmanager
def exclusive(locks_dir: Path, timeout: float = GC_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold the guard exclusively (gc's delete phase): no writer is in flight meanwhile."""
    if str(locks_dir) in _held:
        raise LockTimeout("gc cannot run inside a write operation of the same process")
    gate = open_lock_file(locks_dir / GATE_FILE)
    fd = open_lock_file(locks_dir / GUARD_FILE)
    try:
        _acquire(gate, fcntl.LOCK_EX, timeout, "another gc to finish")
        _acquire(fd, fcntl.LOCK_EX, timeout, "in-flight writes (put, draft, upsert) to finish")
        remove_dead_temps(locks_dir.parent / "tmp")
        yield
    finally:
        os.close(fd)
        os.close(gate)
