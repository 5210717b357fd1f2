"""Garbage collection: apply TTLs, then delete every byte no live version or open draft needs.

``gc(repo)`` plans, then executes (see docs/gc.md for the protocol):

1. *Mark.* What is live is :mod:`artctl.ops.reachability`'s answer (the one cache cleanup uses):
   versions neither deleted nor expired, and every digest named by a file under ``drafts/``.
2. *Sweep plan.* Unreferenced manifests and loose objects, packs with no live blob (deleted) or
   with at least ``repack_threshold`` of their bytes dead (rewritten), stale temp files. Nothing
   younger than the grace period (``gc.grace_period``, default 1h) is touched.
3. *Execute* (not with ``dry_run``), holding the cache lock and the gc guard exclusively so no
   ``get``, ``put``, ``draft`` or ``upsert`` is in flight; the plan is recomputed under the guard
   (manifests are immutable, so the second pass only reads what is new). Order: expired
   versions soft-deleted → version records marked ``purged_at`` → manifests → packs → loose
   objects → temp files. Version records themselves are kept: they are small and lineage
   (runs, ``--all`` listings) needs them.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artctl.base.crashpoints import crash_point, declare
from artctl.base.hashing import is_digest
from artctl.base.locks import GC_TIMEOUT_SECONDS, cache_exclusive, gc_exclusive, holds_shared
from artctl.errors import IntegrityError, InvalidInput
from artctl.format.layout import digest_of_manifest_path, digest_of_object_path, pack_of_path
from artctl.format.names import parse_name
from artctl.format.records import VersionRecord, utcnow
from artctl.ops.reachability import ManifestBlobs, live
from artctl.repository.repack import pack_blobs, repack
from artctl.repository.settings import DEFAULT_GRACE_SECONDS

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

Progress = Callable[[int, int], None]
#: Temp files are only removed when older than this (or the grace period, if longer): some
#: metadata writes (alias, update, rm) do not hold the gc guard and stage under ``tmp/``.
TEMP_MIN_AGE_SECONDS = 3600
#: A pack is rewritten when at least this fraction of its bytes is dead.
REPACK_THRESHOLD = 0.3
AFTER_MARK = declare(
    "gc.after-mark", "the plan made under the exclusive guard, nothing changed yet: the re-run plans again"
)
EXPIRE_AFTER_ALIASES = declare(
    "gc.expire-after-aliases",
    "an expired version's custom aliases dropped, its record not yet marked deleted: it was "
    "already invisible (expired); the re-run marks it",
)
AFTER_PURGE_RECORD = declare(
    "gc.after-purge-record",
    "some deleted or expired versions marked purged (@N: after the N-th), no byte deleted yet: "
    "the re-run marks the rest",
)
DELETE_MANIFEST = declare(
    "gc.delete-manifest",
    "some dead manifests deleted (@N: after the N-th), no live one: the re-run deletes the rest",
)
DELETE_OBJECT = declare(
    "gc.delete-object",
    "some dead loose objects deleted (@N: after the N-th), no live one: the re-run deletes the rest",
)
DELETE_TEMP = declare(
    "gc.delete-temp",
    "some stale temp files or interrupted packs deleted (@N: after the N-th): the re-run deletes the rest",
)


@dataclass(frozen=True)
class GcResult:
    """What gc did (or, with ``dry_run``, would do). Sizes are bytes."""

    dry_run: bool
    expired: list[str] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)
    manifests: int = 0
    objects: int = 0
    packs_deleted: int = 0
    packs_repacked: int = 0
    temp_files: int = 0
    bytes_freed: int = 0
    dead_bytes_kept: int = 0
    young_kept: int = 0
    young_bytes: int = 0
    grace_period: int = DEFAULT_GRACE_SECONDS
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "expired": self.expired,
            "purged": self.purged,
            "manifests": self.manifests,
            "objects": self.objects,
            "packs_deleted": self.packs_deleted,
            "packs_repacked": self.packs_repacked,
            "temp_files": self.temp_files,
            "bytes_freed": self.bytes_freed,
            "dead_bytes_kept": self.dead_bytes_kept,
            "young_kept": self.young_kept,
            "young_bytes": self.young_bytes,
            "grace_period_seconds": self.grace_period,
            "problems": self.problems,
        }


@dataclass
class _Plan:
    expired: list[VersionRecord] = field(default_factory=list)
    purge: list[VersionRecord] = field(default_factory=list)
    manifests: list[tuple[Path, int]] = field(default_factory=list)
    loose: list[tuple[str, int]] = field(default_factory=list)
    packs_delete: dict[str, int] = field(default_factory=dict)
    packs_repack: dict[str, tuple[set[str], int]] = field(default_factory=dict)  # keep, dead bytes
    orphan_packs: list[tuple[Path, int]] = field(default_factory=list)
    temp: list[tuple[Path, int]] = field(default_factory=list)
    dead_kept: int = 0
    young: int = 0
    young_bytes: int = 0
    grace: int = DEFAULT_GRACE_SECONDS
    problems: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # live manifests gc could not read

    @property
    def expected_bytes(self) -> int:
        return (
            sum(s for _, s in self.manifests)
            + sum(s for _, s in self.loose)
            + sum(self.packs_delete.values())
            + sum(d for _, d in self.packs_repack.values())
            + sum(s for _, s in self.orphan_packs)
            + sum(s for _, s in self.temp)
        )


def gc(
    repo: Repository,
    *,
    dry_run: bool = False,
    grace_period: int | None = None,
    repack_threshold: float = REPACK_THRESHOLD,
    progress: Progress | None = None,
) -> GcResult:
    """Collect garbage in ``repo``; see the module docstring for what and in which order."""
    grace = repo.settings.grace_seconds if grace_period is None else grace_period
    if grace < 0:
        raise InvalidInput("the grace period cannot be negative")
    cache: dict[str, ManifestBlobs] = {}
    plan = _plan(repo, grace, repack_threshold, cache)
    if dry_run:
        return _result(plan, True, plan.expected_bytes)
    locks = repo.locks_dir
    # Cache lock first (the order every writer uses): no `get` reads a pack gc is rewriting.
    with (
        cache_exclusive(locks, timeout=GC_TIMEOUT_SECONDS),
        gc_exclusive(locks, tmp_dir=repo.tmp_dir),
    ):
        plan = _plan(repo, grace, repack_threshold, cache)
        if plan.unreadable:
            # Without a live manifest gc cannot know which blobs it needs: delete nothing.
            raise IntegrityError(
                f"gc stopped: {len(plan.unreadable)} live manifest(s) are missing or corrupt "
                f"({', '.join(d[:12] for d in plan.unreadable[:3])}); nothing was deleted",
                hint="run `artctl artifact verify` and restore them (e.g. `artctl pull`) first",
            )
        crash_point(AFTER_MARK)
        freed = _execute(repo, plan, progress)
    return _result(plan, False, freed)


#: How long a failed put waits for gc's locks to take back what it stored; if other writers
#: are in flight that long, the leftovers stay for the next gc (they are unreferenced).
DISCARD_TIMEOUT_SECONDS = 2.0


@contextlib.contextmanager
def discard_on_failure(repo: Repository) -> Iterator[None]:
    """Wrap a write (put, draft add, upsert) so that, if it fails, the objects and packs it
    created and nothing references are removed at once instead of after the grace period.

    This matters most after ENOSPC: the bytes of a put that will never be committed would
    otherwise fill the disk for an hour. The block must not hold gc's guard itself (the
    removal takes it exclusively, like gc: no other write is in flight while it decides).
    """
    with repo.store.recording_created() as created:
        try:
            yield
        except BaseException:
            loose, packs = created()
            if loose or packs:
                with contextlib.suppress(Exception):  # best effort: never hides the real error
                    discard_created(repo, loose, packs)
            raise


def discard_created(repo: Repository, loose: set[str], packs: set[str]) -> int | None:
    """Delete those of ``loose`` objects and ``packs`` that no version or draft references;
    return the bytes freed, or None when gc's locks were not free within a moment."""
    from artctl.errors import LockTimeout

    locks = repo.locks_dir
    if holds_shared(locks):  # inside another write of this process: its version may need them
        return None
    try:
        with (
            cache_exclusive(locks, timeout=DISCARD_TIMEOUT_SECONDS),
            gc_exclusive(locks, timeout=DISCARD_TIMEOUT_SECONDS, tmp_dir=repo.tmp_dir),
        ):
            plan = _Plan(grace=0)
            _live_manifests, live = _mark(repo, plan, {}, None)
            if plan.unreadable:
                return None
            freed = 0
            for digest in sorted(loose - live):
                freed += repo.store.delete_loose(digest)
            for pack_id in sorted(packs):
                try:
                    blobs = pack_blobs(repo.store, pack_id)
                except Exception:  # noqa: BLE001 - gone or damaged: not ours to judge here
                    continue
                if not any(d in live for d, _, _ in blobs):
                    freed += repo.store.delete_pack(pack_id)
            return freed
    except LockTimeout:
        return None


def _result(plan: _Plan, dry_run: bool, freed: int) -> GcResult:
    ref = lambda r: f"{r.name}:{r.version}"  # noqa: E731
    return GcResult(
        dry_run,
        [ref(r) for r in plan.expired],
        [ref(r) for r in plan.purge],
        len(plan.manifests),
        len(plan.loose),
        len(plan.packs_delete) + len(plan.orphan_packs),
        len(plan.packs_repack),
        len(plan.temp),
        freed,
        plan.dead_kept,
        plan.young,
        plan.young_bytes,
        plan.grace,
        plan.problems,
    )


# -- mark ---------------------------------------------------------------------------------------
def _plan(repo: Repository, grace: int, threshold: float, cache: dict[str, ManifestBlobs]) -> _Plan:
    plan = _Plan(grace=grace)
    repository = repo
    cutoff = time.time() - grace
    live_manifests, live_blobs = _mark(repo, plan, cache, datetime.now(timezone.utc))
    _sweep_manifests(repository.manifests_dir, live_manifests, cutoff, plan)
    _sweep_loose(repo.store.objects_dir, live_blobs, cutoff, plan)
    temp_cutoff = time.time() - max(grace, TEMP_MIN_AGE_SECONDS)
    # A .pack without .idx is an interrupted write (a killed put, a killed repack): the plan that
    # gc executes is made under the exclusive guard, so no writer is between a pack and its index.
    _sweep_packs(repo.store, live_blobs, cutoff, threshold, plan, cutoff)
    for path in _files(repository.tmp_dir):
        with contextlib.suppress(FileNotFoundError):
            st = path.stat()
            if st.st_mtime < temp_cutoff:
                plan.temp.append((path, st.st_size))
    return plan


def _mark(
    repo: Repository, plan: _Plan, cache: dict[str, ManifestBlobs], now: datetime | None
) -> tuple[set[str], set[str]]:
    """``(live manifests, live blobs)`` by :mod:`artctl.ops.reachability`; versions to purge go
    to ``plan`` (and, when ``now`` is given, versions expired by then are treated as dead —
    ``None``: none is)."""
    found = live(repo, repo.registry, now, cache)
    plan.purge.extend(found.unpurged)
    plan.expired.extend(found.expired)
    plan.problems.extend(found.problems)
    plan.unreadable.extend(found.unreadable)
    return found.manifests, found.blobs


def _files(directory: Path) -> Iterator[Path]:
    for dirpath, _dirs, names in os.walk(directory):
        for name in names:
            yield Path(dirpath) / name


# -- sweep --------------------------------------------------------------------------------------
def _old(st: os.stat_result, cutoff: float, plan: _Plan, dead: int | None = None) -> bool:
    """True when old enough to collect; else counted as kept for its youth (``dead``: the
    bytes that would have been freed, when that is not the whole file)."""
    if st.st_mtime < cutoff:
        return True
    plan.young += 1
    plan.young_bytes += st.st_size if dead is None else dead
    return False


def _sweep_manifests(root: Path, live: set[str], cutoff: float, plan: _Plan) -> None:
    for path in _files(root):
        digest = digest_of_manifest_path(path)
        if digest is None or digest in live:
            continue
        with contextlib.suppress(FileNotFoundError):
            st = path.stat()
            if _old(st, cutoff, plan):
                plan.manifests.append((path, st.st_size))


def _sweep_loose(root: Path, live: set[str], cutoff: float, plan: _Plan) -> None:
    for path in _files(root):
        digest = digest_of_object_path(path)
        if digest is None or digest in live:
            continue
        with contextlib.suppress(FileNotFoundError):
            st = path.stat()
            if _old(st, cutoff, plan):
                plan.loose.append((digest, st.st_size))


def _sweep_packs(
    store,
    live: set[str],
    cutoff: float,
    threshold: float,
    plan: _Plan,
    orphan_cutoff: float,
) -> None:
    complete = set(store.iter_packs())
    for pack_id in sorted(complete):
        try:
            blobs = pack_blobs(store, pack_id)
            st = store.pack_path(pack_id).stat()
        except FileNotFoundError:
            continue
        except Exception as exc:  # noqa: BLE001 - a damaged index is reported and left alone
            plan.problems.append(f"pack {pack_id[:12]}: {exc}")
            continue
        keep = {d for d, _, _ in blobs if d in live}
        dead = sum(length for d, _, length in blobs if d not in keep)
        if not dead:
            continue
        if not _old(st, cutoff, plan, st.st_size if not keep else dead):
            continue
        if not keep:
            plan.packs_delete[pack_id] = st.st_size
        elif dead >= threshold * sum(length for _, _, length in blobs):
            plan.packs_repack[pack_id] = (keep, dead)
        else:
            plan.dead_kept += dead
    if store.packs_dir.is_dir():
        for name in os.listdir(store.packs_dir):
            pack_id = pack_of_path(store.packs_dir / name)
            if pack_id is not None and pack_id not in complete and is_digest(pack_id):
                path = store.packs_dir / name
                with contextlib.suppress(FileNotFoundError):
                    st = path.stat()
                    if st.st_mtime < orphan_cutoff:
                        plan.orphan_packs.append((path, st.st_size))


def _spare(repo: Repository, plan: _Plan, manifests: set[str]) -> None:
    """Take a revived version's manifest and blobs out of the plan (rare: a racing TTL edit)."""
    keep: set[str] = set()
    for digest in manifests:
        keep |= {e.digest for e in repo.read_manifest(digest) if e.digest}
    plan.manifests = [(p, s) for p, s in plan.manifests if digest_of_manifest_path(p) not in manifests]
    plan.loose = [(d, s) for d, s in plan.loose if d not in keep]
    for pack_id in list(plan.packs_delete):
        kept = {d for d, _, _ in pack_blobs(repo.store, pack_id) if d in keep}
        if kept:
            del plan.packs_delete[pack_id]
            plan.packs_repack[pack_id] = (kept, 0)
    for pack_id, (kept, dead) in list(plan.packs_repack.items()):
        extra = {d for d, _, _ in pack_blobs(repo.store, pack_id) if d in keep}
        plan.packs_repack[pack_id] = (kept | extra, dead)


# -- execute ------------------------------------------------------------------------------------
def _execute(repo: Repository, plan: _Plan, progress: Progress | None) -> int:
    registry = repo.registry
    tick = progress or (lambda files, size: None)
    expired = {(r.name, r.index) for r in plan.expired}
    revived: set[str] = set()
    for record in plan.purge:
        name = parse_name(record.name)
        with registry.lock(name):
            current = registry.version(name, record.index)
            if current is None or current.purged_at:
                continue
            if not current.deleted:
                if (record.name, record.index) not in expired or not current.expired():
                    revived.add(current.manifest)  # TTL extended since the plan: keep its data
                    continue
                registry.drop_aliases_of(name, current.version)
                crash_point(EXPIRE_AFTER_ALIASES)
                current = current.evolve(state="deleted", deleted_at=utcnow())
            registry.save_version(current.evolve(purged_at=utcnow()))
            crash_point(AFTER_PURGE_RECORD)
    if revived:
        _spare(repo, plan, revived)
    freed = 0
    for path, size in plan.manifests:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
            freed += size
            tick(1, size)
        crash_point(DELETE_MANIFEST)
    packs: dict[str, set[str]] = {p: set() for p in plan.packs_delete}
    packs.update({p: keep for p, (keep, _dead) in plan.packs_repack.items()})
    if packs:
        result = repack(repo.store, packs)
        freed += result.bytes_freed
        plan.problems.extend(f"pack {p[:12]}: {why}" for p, why in result.skipped.items())
        for pack_id in result.skipped:  # report what was done, not what was planned
            plan.packs_repack.pop(pack_id, None)
        tick(len(result.removed_packs), result.bytes_freed)
    for digest, _size in plan.loose:
        got = repo.store.delete_loose(digest)
        freed += got
        tick(1, got)
        crash_point(DELETE_OBJECT)
    for path, size in [*plan.orphan_packs, *plan.temp]:
        orphan = pack_of_path(path) if path.parent == repo.store.packs_dir else None
        if orphan is not None and repo.store.index_path(orphan).exists():
            continue  # completed since the plan: a repack above rewrote that very pack (same id)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
            freed += size
            tick(1, size)
        crash_point(DELETE_TEMP)
    return freed
