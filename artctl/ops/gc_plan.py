"""gc's plan: mark what is live, then list what may go (see :mod:`artctl.ops.gc`).

The mark is :mod:`artctl.ops.reachability`'s answer; the sweep lists unreferenced manifests and
loose objects, packs to delete or rewrite, interrupted packs and stale temp files, keeping (and
counting) whatever is younger than the grace period. Nothing here deletes anything.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from artctl.base.hashing import is_digest
from artctl.format.layout import digest_of_manifest_path, digest_of_object_path, pack_of_path
from artctl.format.records import VersionRecord
from artctl.ops.reachability import ManifestBlobs, live
from artctl.repository.repack import pack_blobs
from artctl.repository.settings import DEFAULT_GRACE_SECONDS

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

#: Temp files are only removed when older than this (or the grace period, if longer): some
#: metadata writes (alias, update, rm) do not hold the gc guard and stage under ``tmp/``.
TEMP_MIN_AGE_SECONDS = 3600


@dataclass
class Plan:
    """What one gc pass would delete or rewrite, and what it keeps and why."""

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


# -- mark ---------------------------------------------------------------------------------------
def make_plan(repository: Repository, grace: int, threshold: float, cache: dict[str, ManifestBlobs]) -> Plan:
    """What gc would delete now in ``repo``, marking with ``cache`` (manifests already read)."""
    plan = Plan(grace=grace)
    cutoff = time.time() - grace
    live_manifests, live_blobs = mark(repository, plan, cache, datetime.now(timezone.utc))
    _sweep_manifests(repository.manifests_dir, live_manifests, cutoff, plan)
    _sweep_loose(repository.store.objects_dir, live_blobs, cutoff, plan)
    temp_cutoff = time.time() - max(grace, TEMP_MIN_AGE_SECONDS)
    # A .pack without .idx is an interrupted write (a killed put, a killed repack): the plan that
    # gc executes is made under the exclusive guard, so no writer is between a pack and its index.
    _sweep_packs(repository.store, live_blobs, cutoff, threshold, plan, cutoff)
    for path in _files(repository.tmp_dir):
        with contextlib.suppress(FileNotFoundError):
            st = path.stat()
            if st.st_mtime < temp_cutoff:
                plan.temp.append((path, st.st_size))
    return plan


def mark(
    repo: Repository, plan: Plan, cache: dict[str, ManifestBlobs], now: datetime | None
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
def _old(st: os.stat_result, cutoff: float, plan: Plan, dead: int | None = None) -> bool:
    """True when old enough to collect; else counted as kept for its youth (``dead``: the
    bytes that would have been freed, when that is not the whole file)."""
    if st.st_mtime < cutoff:
        return True
    plan.young += 1
    plan.young_bytes += st.st_size if dead is None else dead
    return False


def _sweep_manifests(root: Path, live: set[str], cutoff: float, plan: Plan) -> None:
    for path in _files(root):
        digest = digest_of_manifest_path(path)
        if digest is None or digest in live:
            continue
        with contextlib.suppress(FileNotFoundError):
            st = path.stat()
            if _old(st, cutoff, plan):
                plan.manifests.append((path, st.st_size))


def _sweep_loose(root: Path, live: set[str], cutoff: float, plan: Plan) -> None:
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
    plan: Plan,
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


def spare(repo: Repository, plan: Plan, manifests: set[str]) -> None:
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
