"""Every lock of a repository: its file, its mode, its timeout, and THE ORDER they nest in.

All locks are ``flock(2)`` locks on files under ``.artifacts/locks/``, each on a descriptor of
its own: the kernel drops them when the process dies, so a killed artctl never leaves a stale
lock. A wait polls with non-blocking attempts and ends in a clear ``LockTimeout``.

THE LOCK ORDER — a thread takes a lock only after the ones above it (checked: ``LockOrderError``);
two locks of one kind (two artifacts, for a rename) nest in name order:

=================  ===========================================  ================================
lock               file                                         held while
=================  ===========================================  ================================
mirror             ``<cache.dir>/mirrors/<key>.lock``           a remote's mirror is created,
                                                                refreshed or published
cache              ``locks/cache.lock`` (shared / exclusive)    get/put use the store / cleanup
                                                                evicts from it
migration          ``locks/migration.lock``                     a format upgrade runs
gc guard           ``locks/gc.lock`` + ``gc-gate.lock``         a writer adds blobs (shared) /
                                                                gc deletes (exclusive)
draft              ``locks/draft-<id>.lock``                    a draft changes
artifact           ``locks/artifact-<name>.lock``               an artifact's records change
lineage            ``locks/lineage.lock``                       the lineage graph is rewritten
run                ``locks/run-<id>.lock``                      a run record changes
user cache         ``<cache.dir>/locks/cache.lock``             the user cache is filled (shared)
                                                                or evicted from (exclusive)
=================  ===========================================  ================================
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

from artctl.base.fsutil import remove_dead_temps
from artctl.errors import LockTimeout

#: A short metadata lock by name (``artifact-<name>``, ``run-<id>`` …); what ``Repository.lock``
#: is, and what the registry and the run store are given instead of the whole repository.
LockFactory = Callable[[str], AbstractContextManager[None]]

CACHE_FILE = "cache.lock"
GATE_FILE = "gc-gate.lock"
GUARD_FILE = "gc.lock"

#: Positions in THE LOCK ORDER (module docstring); a lock may be taken only after lower ones.
MIRROR, CACHE, MIGRATION, GC_GUARD, DRAFT, ARTIFACT, LINEAGE, RUN, USER_CACHE = range(9)
_LEVEL_NAMES = (
    "mirror",
    "cache",
    "migration",
    "gc guard",
    "draft",
    "artifact",
    "lineage",
    "run",
    "user cache",
)
#: Named (metadata) locks: the prefix of the name gives its place in the order. ``migration``
#: is taken once, by the process that upgrades a repository's format (repository/migrate.py).
_NAMED_LEVELS = (
    ("migration", MIGRATION),
    ("draft-", DRAFT),
    ("artifact-", ARTIFACT),
    ("lineage", LINEAGE),
    ("run-", RUN),
)

#: A metadata lock (draft, artifact, lineage, run) is held for milliseconds: wait this long.
METADATA_TIMEOUT_SECONDS = 60.0
#: ``get``/``put`` wait this long for a running cache cleanup before giving up.
CACHE_TIMEOUT_SECONDS = 60.0
#: Writers wait this long for a running gc's delete phase before giving up.
WRITER_TIMEOUT_SECONDS = 600.0
#: gc waits this long for in-flight writers (and readers of the cache) to finish.
GC_TIMEOUT_SECONDS = 120.0
#: ``cache cleanup`` waits this long for running ``get``s and writers.
CLEANUP_TIMEOUT_SECONDS = 600.0

_BUSY_HINT = "another artctl process is busy; retry when it has finished"


class LockOrderError(RuntimeError):
    """A lock taken against THE LOCK ORDER: a bug in artctl that could deadlock two processes."""


# -- the per-thread order check ------------------------------------------------------------------
_thread = threading.local()


def _held_levels() -> list[tuple[int, str]]:
    held = getattr(_thread, "levels", None)
    if held is None:
        held = _thread.levels = []
    return held


@contextlib.contextmanager
def _ordered(level: int, what: str, key: str = "") -> Iterator[None]:
    """Record ``(level, key)`` as held by this thread for the block; refuse it after a later
    lock. Two locks of one kind (``key``: the artifact's name) nest only in name order."""
    held = _held_levels()
    if held and max(held) >= (level, key):
        top = max(held)
        raise LockOrderError(
            f"lock order violated: {what} ({_LEVEL_NAMES[level]}) taken while holding a "
            f"{_LEVEL_NAMES[top[0]]} lock{f' ({top[1]})' if top[1] else ''} "
            f"(order: {' → '.join(_LEVEL_NAMES)}; one kind in name order)"
        )
    held.append((level, key))
    try:
        yield
    finally:
        held.remove((level, key))


# -- flock ---------------------------------------------------------------------------------------
def open_lock_file(path: Path) -> int:
    """Open (creating it and its directory) a lock file for ``flock``.

    Closing the descriptor releases whatever lock it holds, so a lock dies with its process.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


def flock_wait(
    fd: int,
    mode: int,
    timeout: float,
    what: str,
    *,
    hint: str = _BUSY_HINT,
    delay: float = 0.02,
    max_delay: float | None = None,
) -> None:
    """Take ``flock(fd, mode)`` (``fcntl.LOCK_SH``/``LOCK_EX``), polling until ``timeout``.

    Non-blocking attempts with a sleep between them, so a wait can end with a clear
    ``LockTimeout`` ("timed out after Ns waiting for <what>") instead of hanging forever; the
    sleep starts at ``delay`` and doubles up to ``max_delay`` (default: stays at ``delay``).
    """
    cap = delay if max_delay is None else max_delay
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockTimeout(f"timed out after {timeout:.0f}s waiting for {what}", hint=hint) from None
            time.sleep(delay)
            delay = min(delay * 2, cap)


@contextlib.contextmanager
def _flock(
    path: Path,
    mode: int,
    timeout: float,
    what: str,
    *,
    hint: str = _BUSY_HINT,
    delay: float = 0.01,
    max_delay: float = 0.2,
) -> Iterator[None]:
    fd = open_lock_file(path)
    try:
        flock_wait(fd, mode, timeout, what, hint=hint, delay=delay, max_delay=max_delay)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


# -- a remote's mirror ---------------------------------------------------------------------------
@contextlib.contextmanager
def mirror_exclusive(path: Path, what: str, timeout: float) -> Iterator[None]:
    """The lock file ``path`` of a remote's metadata mirror (``--repo URL``): held while the
    mirror is created, refreshed from the remote or published to it, around the locks of the
    mirror repository itself (so it comes first in the order)."""
    hint = "another artctl process is using this remote's mirror; retry when it has finished"
    with _ordered(MIRROR, "the mirror lock"), _flock(path, fcntl.LOCK_EX, timeout, what, hint=hint):
        yield


# -- metadata locks ------------------------------------------------------------------------------
def named_level(name: str) -> int:
    """The place of the metadata lock ``name`` in THE LOCK ORDER."""
    for prefix, level in _NAMED_LEVELS:
        if name.startswith(prefix):
            return level
    raise ValueError(f"unknown lock {name!r}: every lock has a place in artctl.base.locks' order")


def lock_file(locks_dir: Path, name: str) -> Path:
    """The file of the metadata lock ``name`` (``/`` and ``@`` of artifact names made flat)."""
    safe = name.replace("/", "__").replace("@", "_at_")
    return locks_dir / f"{safe}.lock"


@contextlib.contextmanager
def named(locks_dir: Path, name: str, timeout: float = METADATA_TIMEOUT_SECONDS) -> Iterator[None]:
    """A short exclusive lock for metadata changes of one thing (an artifact, a run …)."""
    path = lock_file(locks_dir, name)
    with (
        _ordered(named_level(name), f"lock {name}", name),
        _flock(path, fcntl.LOCK_EX, timeout, f"lock {path}", delay=0.002, max_delay=0.05),
    ):
        yield


def factory(locks_dir: Path) -> LockFactory:
    """:func:`named` bound to one repository's lock directory."""
    return lambda name: named(locks_dir, name)


# -- the cache lock ------------------------------------------------------------------------------
def shared_use(locks_dir: Path, timeout: float = CACHE_TIMEOUT_SECONDS) -> AbstractContextManager[None]:
    """Hold while reading objects from the store: no eviction can happen meanwhile."""
    return _cache(locks_dir, fcntl.LOCK_SH, timeout, "cache cleanup to finish")


def cache_exclusive(
    locks_dir: Path, timeout: float = CLEANUP_TIMEOUT_SECONDS
) -> AbstractContextManager[None]:
    """Hold while evicting or rewriting stored bytes: waits for every running reader to finish."""
    return _cache(locks_dir, fcntl.LOCK_EX, timeout, "running `get`s to finish")


@contextlib.contextmanager
def _cache(locks_dir: Path, mode: int, timeout: float, what: str) -> Iterator[None]:
    hint = "another artctl process is using the cache; retry when it has finished"
    with _ordered(CACHE, "the cache lock"), _flock(locks_dir / CACHE_FILE, mode, timeout, what, hint=hint):
        yield


# -- the gc guard --------------------------------------------------------------------------------
_state_lock = threading.Lock()
_writing: dict[str, list[int]] = {}  # locks dir → [fd, depth] of this process's shared hold


@contextlib.contextmanager
def writing(
    locks_dir: Path, timeout: float = WRITER_TIMEOUT_SECONDS, *, tmp_dir: Path | None = None
) -> Iterator[None]:
    """Hold the gc guard shared: gc will not delete anything while this block runs.

    Re-entrant within a process (a put inside ``Artifact.save`` inside a run …). ``tmp_dir``
    (the repository's staging directory) is swept of dead writers' temp files once the guard
    is held.
    """
    key = str(locks_dir)
    with _state_lock:
        entry = _writing.get(key)
        if entry is not None:
            entry[1] += 1
    if entry is not None:
        try:
            yield
        finally:
            with _state_lock:
                entry[1] -= 1
        return
    with _ordered(GC_GUARD, "the gc guard"):
        _, fd = _take_guard(
            locks_dir, fcntl.LOCK_SH, timeout, "a running gc to finish", tmp_dir, keep_gate=False
        )
        with _state_lock:
            _writing[key] = entry = [fd, 1]
        try:
            yield
        finally:
            with _state_lock:
                entry[1] -= 1
                last = entry[1] == 0
                if last and _writing.get(key) is entry:
                    del _writing[key]
            if last:
                os.close(fd)  # closing the descriptor releases the flock


def holds_shared(locks_dir: Path) -> bool:
    """True while this process is inside a :func:`writing` block on ``locks_dir``."""
    with _state_lock:
        return str(locks_dir) in _writing


@contextlib.contextmanager
def gc_exclusive(
    locks_dir: Path, timeout: float = GC_TIMEOUT_SECONDS, *, tmp_dir: Path | None = None
) -> Iterator[None]:
    """Hold the gc guard exclusively (gc's delete phase): no writer is in flight meanwhile;
    ``tmp_dir`` is swept of dead writers' temp files once it is held."""
    if holds_shared(locks_dir):
        raise LockTimeout("gc cannot run inside a write operation of the same process")
    with _ordered(GC_GUARD, "the gc guard"):
        what = "in-flight writes (put, draft, upsert) to finish"
        gate, fd = _take_guard(locks_dir, fcntl.LOCK_EX, timeout, what, tmp_dir, keep_gate=True)
        try:
            yield
        finally:
            os.close(fd)
            os.close(gate)


def _take_guard(
    locks_dir: Path, mode: int, timeout: float, what: str, tmp_dir: Path | None, *, keep_gate: bool
) -> tuple[int, int]:
    """Pass the turnstile, take ``gc.lock`` in ``mode``, clean dead temps; return both fds
    (the turnstile's is -1 when it was let go).

    A writer (``keep_gate=False``) lets the turnstile go at once; gc keeps it while it waits.
    """
    gate = open_lock_file(locks_dir / GATE_FILE)
    fd = open_lock_file(locks_dir / GUARD_FILE)
    try:
        flock_wait(gate, fcntl.LOCK_EX, timeout, "another gc to finish" if keep_gate else what)
        try:
            flock_wait(fd, mode, timeout, what)
        finally:
            if not keep_gate:
                fcntl.flock(gate, fcntl.LOCK_UN)
    except BaseException:
        os.close(fd)
        os.close(gate)
        raise
    if tmp_dir is not None:
        remove_dead_temps(tmp_dir)
    if keep_gate:
        return gate, fd
    os.close(gate)
    return -1, fd


# -- the user cache lock -------------------------------------------------------------------------
def user_cache_shared(
    cache_root: Path, timeout: float = CACHE_TIMEOUT_SECONDS
) -> AbstractContextManager[None]:
    """Hold while filling the user cache or linking from it: no eviction from it meanwhile."""
    return _user_cache(cache_root, fcntl.LOCK_SH, timeout, "the user cache's cleanup to finish")


def user_cache_exclusive(
    cache_root: Path, timeout: float = CLEANUP_TIMEOUT_SECONDS
) -> AbstractContextManager[None]:
    """Hold while evicting from the user cache: waits for every process filling or reading it."""
    return _user_cache(cache_root, fcntl.LOCK_EX, timeout, "processes using the user cache to finish")


@contextlib.contextmanager
def _user_cache(cache_root: Path, mode: int, timeout: float, what: str) -> Iterator[None]:
    hint = "another artctl process is using the user cache; retry when it has finished"
    path = cache_root / "locks" / CACHE_FILE
    with _ordered(USER_CACHE, "the user cache lock"), _flock(path, mode, timeout, what, hint=hint):
        yield
