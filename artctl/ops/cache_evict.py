"""Which stored objects are cache, and evicting the least recently used of them.

A *unit* is what can be deleted on its own: one loose object, or one whole pack. A unit is
*evictable* when every blob in it has another copy — on a remote (``remote_copies``) or behind a
reference it was fetched from (``ref_objects``) — and no local version needs it as a plain file
that only this store holds. Everything else is *pinned*. Planning reads everything first and
returns a plan object (``--dry-run`` prints it); executing re-scans and deletes while holding
the cache lock and gc's writer guard exclusively (no ``get`` reading, no writer deduplicating
against an object), index before pack, so an interrupted cleanup never leaves an index entry
pointing at a deleted pack.

A remote copy counts only if this machine sent or fetched and verified those bytes
(``remote_files``), and it is re-confirmed on the remote (file present at its recorded size)
right before the unit is dropped (:mod:`artctl.ops.remote.confirm`): a remote that lost the data
since, or cannot be reached, leaves the unit pinned.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from artctl.base.locks import CLEANUP_TIMEOUT_SECONDS, cache_exclusive, gc_exclusive
from artctl.repository import cache_state as db

if TYPE_CHECKING:
    from artctl.ops.remote.confirm import Confirmation
    from artctl.repository.repo import Repository

#: Temp files younger than this may belong to a running writer and are left alone.
TEMP_GRACE_SECONDS = 3600


@dataclass(frozen=True)
class Unit:
    """One deletable thing: a loose object (``pack`` None) or a whole pack."""

    id: str
    pack: bool
    size: int
    blobs: tuple[str, ...]
    last_used: float
    evictable: bool
    #: Blobs whose only other copy is on a remote: confirmed there before the unit is dropped.
    remote_backed: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "pack" if self.pack else "object",
            "id": self.id,
            "size": self.size,
            "objects": len(self.blobs),
            "last_used": self.last_used,
        }


@dataclass(frozen=True)
class CacheInfo:
    """``cache info``: what the store holds, split into evictable cache and pinned data."""

    location: str
    cache_bytes: int
    cache_objects: int
    pinned_bytes: int
    pinned_objects: int
    loose_objects: int
    packs: int
    temp_files: int
    temp_bytes: int

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class CleanupResult:
    """``cache cleanup``: what was (or, with ``dry_run``, would be) evicted."""

    limit: int
    dry_run: bool
    cache_bytes_before: int
    cache_bytes_after: int
    pinned_bytes: int
    evicted: list[Unit] = field(default_factory=list)
    temp_files_removed: int = 0
    temp_bytes_removed: int = 0
    #: Bytes kept because their remote copy was not found (any more) or could not be checked.
    unconfirmed_bytes: int = 0
    #: Remotes that could not be asked → the error.
    unreachable: dict[str, str] = field(default_factory=dict)

    @property
    def freed_bytes(self) -> int:
        return sum(u.size for u in self.evicted) + self.temp_bytes_removed

    @property
    def nothing_done(self) -> bool:
        return not self.evicted and not self.temp_files_removed

    def to_json(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "dry_run": self.dry_run,
            "cache_bytes_before": self.cache_bytes_before,
            "cache_bytes_after": self.cache_bytes_after,
            "pinned_bytes": self.pinned_bytes,
            "freed_bytes": self.freed_bytes,
            "evicted_objects": sum(len(u.blobs) for u in self.evicted),
            "evicted_packs": sum(1 for u in self.evicted if u.pack),
            "evicted": [u.to_json() for u in self.evicted],
            "temp_files_removed": self.temp_files_removed,
            "temp_bytes_removed": self.temp_bytes_removed,
            "unconfirmed_bytes": self.unconfirmed_bytes,
            "unreachable_remotes": dict(self.unreachable),
        }


def needed_as_only_copy(repo: Repository) -> set[str] | None:
    """Live blobs some live thing holds as a plain file (:mod:`artctl.ops.reachability`, the
    answer gc keeps too): such an object is protected even if it was also fetched through a
    reference with the same bytes, unless a remote holds it. None when a live manifest cannot
    be read: what it needs is unknown, so no reference-backed object may go.
    """
    from datetime import datetime, timezone

    from artctl.ops.reachability import live

    found = live(repo, repo.registry, datetime.now(timezone.utc))
    return None if found.unreadable else found.plain


def scan(repo: Repository) -> list[Unit]:
    """Every unit of the local store with its size, last use and whether it may be evicted."""
    store = repo.store
    state = repo.state
    loose: dict[str, int] = {}
    packs: dict[str, list[str]] = {}
    for blob in store.iter_blobs():
        if blob.pack is None:
            loose[blob.digest] = blob.size
        else:
            packs.setdefault(blob.pack, []).append(blob.digest)
    every = set(loose) | {d for blobs in packs.values() for d in blobs}
    if state.in_memory:  # a full disk: which blobs have another copy is not known now
        from artctl.repository.state import StateDBError

        raise StateDBError(
            "the cache needs state.db (which objects have a copy on a remote), which "
            "cannot be opened: no space left on device",
            hint="free some space first (e.g. `artctl gc --grace-period 0`), then retry",
        )
    on_remote = state.with_remote_copy(every)
    from_ref = db.reference_backed(state, every - on_remote)
    needed = needed_as_only_copy(repo) if from_ref else set()
    by_ref = set() if needed is None else from_ref - needed
    copied = on_remote | by_ref
    used = db.last_used(state, every)
    units: list[Unit] = []

    def remote_backed(blobs: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(d for d in blobs if d not in by_ref)

    for digest, size in loose.items():
        when = used.get(digest) or _mtime(store.object_path(digest))
        units.append(Unit(digest, False, size, (digest,), when, digest in copied, remote_backed((digest,))))
    for pack_id, blobs in packs.items():
        path = store.pack_path(pack_id)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue
        when = max((used.get(d, 0.0) for d in blobs), default=0.0) or _mtime(path)
        units.append(
            Unit(
                pack_id,
                True,
                size,
                tuple(blobs),
                when,
                all(d in copied for d in blobs),
                remote_backed(tuple(blobs)),
            )
        )
    return units


def _mtime(path: os.PathLike[str]) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def _temp_files(repo: Repository, older_than: float | None) -> list[tuple[str, int]]:
    tmp = repo.tmp_dir
    out: list[tuple[str, int]] = []
    if not tmp.is_dir():
        return out
    for entry in os.scandir(tmp):
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        if entry.is_file(follow_symlinks=False) and (older_than is None or st.st_mtime < older_than):
            out.append((entry.path, st.st_size))
    return out


def info(repo: Repository) -> CacheInfo:
    units = scan(repo)
    temps = _temp_files(repo, None)
    cache = [u for u in units if u.evictable]
    pinned = [u for u in units if not u.evictable]
    return CacheInfo(
        location=str(repo.root),
        cache_bytes=sum(u.size for u in cache),
        cache_objects=sum(len(u.blobs) for u in cache),
        pinned_bytes=sum(u.size for u in pinned),
        pinned_objects=sum(len(u.blobs) for u in pinned),
        loose_objects=sum(1 for u in units if not u.pack),
        packs=sum(1 for u in units if u.pack),
        temp_files=len(temps),
        temp_bytes=sum(s for _, s in temps),
    )


def plan(units: list[Unit], limit: int) -> list[Unit]:
    """Least recently used evictable units first, until the evictable bytes fit in ``limit``."""
    cache = sorted((u for u in units if u.evictable), key=lambda u: (u.last_used, u.id))
    total = sum(u.size for u in cache)
    chosen: list[Unit] = []
    for unit in cache:
        if total <= limit:
            break
        chosen.append(unit)
        total -= unit.size
    return chosen


def cleanup(
    repo: Repository,
    limit: int,
    *,
    dry_run: bool = False,
    remove_temp: bool = False,
    lock_timeout: float = CLEANUP_TIMEOUT_SECONDS,
) -> CleanupResult:
    """Evict LRU cache units until the cache fits in ``limit`` bytes (see module docstring)."""
    if dry_run:
        return _cleanup_locked(repo, limit, True, remove_temp)
    locks = repo.locks_dir
    # Readers (get) hold the cache lock, writers (put, draft, upsert, pull) gc's writer guard:
    # with both held exclusively no process is between "the store has it" and using it.
    # Order: cache lock, then writer guard — the order a put takes them in.
    with (
        cache_exclusive(locks, lock_timeout),
        gc_exclusive(locks, lock_timeout, tmp_dir=repo.tmp_dir),
    ):
        return _cleanup_locked(repo, limit, False, remove_temp)


def confirmed_plan(
    units: list[Unit], limit: int, confirm: Callable[[set[str]], Confirmation]
) -> tuple[list[Unit], list[Unit], int, dict[str, str]]:
    """``plan``, with the remote copies of what it chooses re-confirmed on the remotes.

    ``confirm(ids)`` says which of the units' ``remote_backed`` ids a remote still holds
    (:func:`artctl.ops.remote.confirm.confirm_copies` for a repository). A unit whose copy is
    not confirmed becomes pinned and the plan is made again (each round pins at least one unit,
    so this ends). Returns the units (updated), the chosen ones, the bytes pinned that way, and
    the remotes that could not be reached.
    """
    checked: dict[str, bool] = {}
    unconfirmed = 0
    unreachable: dict[str, str] = {}
    while True:
        chosen = plan(units, limit)
        todo = {d for u in chosen for d in u.remote_backed if d not in checked}
        if not todo:
            return units, chosen, unconfirmed, unreachable
        found = confirm(todo)
        unreachable.update(found.unreachable)
        checked.update((d, d in found.confirmed) for d in todo)
        updated = []
        for unit in units:
            if unit.evictable and not all(checked.get(d, True) for d in unit.remote_backed):
                unit = replace(unit, evictable=False)
                unconfirmed += unit.size
            updated.append(unit)
        units = updated


def _cleanup_locked(repo: Repository, limit: int, dry_run: bool, remove_temp: bool) -> CleanupResult:
    store = repo.store
    from artctl.ops.remote.confirm import confirm_copies

    units = scan(repo)  # under the lock: a get or put that finished meanwhile is accounted for
    units, chosen, unconfirmed, unreachable = confirmed_plan(
        units, limit, lambda todo: confirm_copies(repo, todo)
    )
    before = sum(u.size for u in units if u.evictable)
    pinned = sum(u.size for u in units if not u.evictable)
    temps = _temp_files(repo, time.time() - TEMP_GRACE_SECONDS) if remove_temp else []
    if not dry_run:
        for unit in chosen:
            if unit.pack:
                store.delete_pack(unit.id)
            else:
                store.delete_loose(unit.id)
        db.forget_use(repo.state, [d for u in chosen for d in u.blobs])
        for path, _ in temps:
            try:
                os.unlink(path)
            except OSError:
                pass
    after = before - sum(u.size for u in chosen)
    return CleanupResult(
        limit,
        dry_run,
        before,
        after,
        pinned,
        chosen,
        len(temps),
        sum(s for _, s in temps),
        unconfirmed,
        unreachable,
    )
