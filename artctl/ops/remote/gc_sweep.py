"""What remote gc may delete: the sweep plan, from one listing with the store's modification
times (nothing here deletes anything; :mod:`artctl.ops.remote.gc` executes the plan).

A file goes only when nothing live needs it AND the store last modified it before ``cutoff``
(the gc's start by the store's clock, less the grace): loose objects and manifests nothing live
names; packs none of whose blobs is live (``.idx`` then ``.pack``); packs with at least
:data:`REPACK_THRESHOLD` of their bytes dead, rewritten; ``.pack`` files without an ``.idx`` (a
killed push: readers ignore them), ``.idx`` files without their ``.pack``, and packs shorter than
their index says (damaged: readers ignore them too, and push sends their blobs again elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from artctl.backend.base import MAX_INDEX_BYTES, Backend, FileStat
from artctl.errors import IntegrityError
from artctl.format.layout import MANIFESTS, OBJECTS, PACKS, index_key, pack_key, parse_key
from artctl.ops.remote.gc_mark import RemoteLive
from artctl.repository.packs import decode_index

#: A pack with at least this share of its blob bytes dead is rewritten (as local gc does).
REPACK_THRESHOLD = 0.3


@dataclass(frozen=True)
class Doomed:
    """One file remote gc deletes (or, with ``--dry-run``, would delete)."""

    rel: str
    size: int
    why: str  # manifest, object, pack, repacked, interrupted pack, orphan index, damaged pack


@dataclass(frozen=True)
class Repack:
    """A pack to rewrite with only its ``keep`` blobs."""

    pack_id: str
    blobs: list[tuple[str, int, int]]
    keep: set[str]
    size: int  # .pack + .idx
    dead_bytes: int


@dataclass
class SweepPlan:
    """Files to delete in the safe order, packs to rewrite, and what was kept for being young."""

    manifests: list[Doomed] = field(default_factory=list)
    objects: list[Doomed] = field(default_factory=list)
    packs: list[Doomed] = field(default_factory=list)  # whole packs: .idx listed before its .pack
    repacks: list[Repack] = field(default_factory=list)
    present_manifests: set[str] = field(default_factory=set)
    young_kept: int = 0
    young_bytes: int = 0
    dead_bytes_kept: int = 0
    problems: list[str] = field(default_factory=list)

    def files(self) -> list[Doomed]:
        """Every file that goes, repacked packs included (their new pack is not counted)."""
        old = [
            Doomed(rel, 0, "repacked")
            for r in self.repacks
            for rel in (index_key(r.pack_id), pack_key(r.pack_id))
        ]
        return [*self.packs, *old, *self.objects, *self.manifests]


def plan(backend: Backend, live: RemoteLive, cutoff: float) -> SweepPlan:
    """The sweep for ``live`` (the mark) and ``cutoff`` (store-clock POSIX seconds)."""
    out = SweepPlan()
    for rel, stat in backend.list_stats(MANIFESTS).items():
        found = parse_key(rel)
        if found is not None and found.kind == "manifest":
            out.present_manifests.add(found.ident)
            if not live.blocked and found.ident not in live.manifests:
                _doom(out, out.manifests, rel, stat, cutoff, "manifest")
    if live.blocked:
        return out
    for rel, stat in backend.list_stats(OBJECTS).items():
        found = parse_key(rel)
        if found is not None and found.kind == "object" and found.ident not in live.blobs:
            _doom(out, out.objects, rel, stat, cutoff, "object")
    _plan_packs(backend, live, cutoff, out)
    return out


def _doom(out: SweepPlan, into: list[Doomed], rel: str, stat: FileStat, cutoff: float, why: str) -> bool:
    """Plan ``rel`` for deletion when it is old enough; count it as young otherwise."""
    if stat.mtime < cutoff:
        into.append(Doomed(rel, stat.size, why))
        return True
    out.young_kept += 1
    out.young_bytes += stat.size
    return False


def _plan_packs(backend: Backend, live: RemoteLive, cutoff: float, out: SweepPlan) -> None:
    packs: dict[str, FileStat] = {}
    indexes: dict[str, FileStat] = {}
    for rel, stat in backend.list_stats(PACKS).items():
        found = parse_key(rel)
        if found is not None and found.kind in ("pack", "index"):
            (packs if found.kind == "pack" else indexes)[found.ident] = stat
    for pack_id in sorted(packs.keys() - indexes.keys()):
        _doom(out, out.packs, pack_key(pack_id), packs[pack_id], cutoff, "interrupted pack")
    for pack_id in sorted(indexes.keys() - packs.keys()):
        _doom(out, out.packs, index_key(pack_id), indexes[pack_id], cutoff, "orphan index")
    both = sorted(packs.keys() & indexes.keys())
    data = backend.read_many((index_key(p) for p in both), MAX_INDEX_BYTES)
    for pack_id in both:
        pack, idx = packs[pack_id], indexes[pack_id]
        raw = data.get(index_key(pack_id))
        if raw is None:
            continue
        try:
            blobs = decode_index(raw, f"remote {index_key(pack_id)}")
        except IntegrityError as exc:
            out.problems.append(f"{exc.message}: pack {pack_id[:12]} left alone")
            continue
        newest = FileStat(pack.size + idx.size, max(pack.mtime, idx.mtime))
        if pack.size < max((o + n for _d, o, n in blobs), default=0):  # cut short: readers ignore it
            if newest.mtime < cutoff:
                out.packs += [
                    Doomed(index_key(pack_id), idx.size, "damaged pack"),
                    Doomed(pack_key(pack_id), pack.size, "damaged pack"),
                ]
            continue
        keep = {d for d, _o, _n in blobs if d in live.blobs}
        total = sum(n for _d, _o, n in blobs) or 1
        dead = sum(n for d, _o, n in blobs if d not in keep)
        if not dead:
            continue
        if not keep and newest.mtime < cutoff:
            out.packs += [
                Doomed(index_key(pack_id), idx.size, "pack"),
                Doomed(pack_key(pack_id), pack.size, "pack"),
            ]
        elif not keep:
            out.young_kept += 2
            out.young_bytes += newest.size
        elif dead / total >= REPACK_THRESHOLD and newest.mtime < cutoff:
            out.repacks.append(Repack(pack_id, blobs, keep, newest.size, dead))
        else:
            out.dead_bytes_kept += dead
