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

The plan (mark and sweep) is :mod:`artctl.ops.gc_plan`; taking back what a failed write stored
is :mod:`artctl.ops.gc_discard`; this module executes a plan.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from artctl.base.crashpoints import crash_point, declare
from artctl.base.locks import GC_TIMEOUT_SECONDS, cache_exclusive, gc_exclusive
from artctl.errors import IntegrityError, InvalidInput
from artctl.format.layout import pack_of_path
from artctl.format.names import parse_name
from artctl.format.records import utcnow
from artctl.ops.gc_discard import DISCARD_TIMEOUT_SECONDS, discard_created, discard_on_failure
from artctl.ops.gc_plan import TEMP_MIN_AGE_SECONDS, Plan, make_plan, spare
from artctl.ops.reachability import ManifestBlobs
from artctl.repository.repack import repack
from artctl.repository.settings import DEFAULT_GRACE_SECONDS

__all__ = [
    "DISCARD_TIMEOUT_SECONDS",
    "REPACK_THRESHOLD",
    "TEMP_MIN_AGE_SECONDS",
    "GcResult",
    "discard_created",
    "discard_on_failure",
    "gc",
]

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

Progress = Callable[[int, int], None]
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
    plan = make_plan(repo, grace, repack_threshold, cache)
    if dry_run:
        return _result(plan, True, plan.expected_bytes)
    locks = repo.locks_dir
    # Cache lock first (the order every writer uses): no `get` reads a pack gc is rewriting.
    with (
        cache_exclusive(locks, timeout=GC_TIMEOUT_SECONDS),
        gc_exclusive(locks, tmp_dir=repo.tmp_dir),
    ):
        plan = make_plan(repo, grace, repack_threshold, cache)
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


def _result(plan: Plan, dry_run: bool, freed: int) -> GcResult:
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


# -- execute ------------------------------------------------------------------------------------
def _execute(repo: Repository, plan: Plan, progress: Progress | None) -> int:
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
                registry.record_deletion(current.evolve(deleted_at=utcnow()))
            registry.record_purge(current)
            crash_point(AFTER_PURGE_RECORD)
    if revived:
        spare(repo, plan, revived)
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
