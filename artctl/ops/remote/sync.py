"""Bringing the local registry of one artifact in line with the remote's (push and pull).

Version numbers are the remote's: the remote is where numbers are decided (by exclusive
create), so after a push or pull a local version whose content (manifest digest) the remote
holds takes the remote's number, and local-only versions move above every remote number (a
deleted one that was never sent keeps its number while the remote has none under it). That
is how two clones that each made ``v1`` both keep their work: the second one's ``v1`` becomes
``v2`` everywhere, and its aliases and run links follow it. Aliases, edits and deletions merge
three-way against the last sync (:mod:`artctl.ops.remote.threeway`).

The merge of one artifact is all or nothing (``artctl.repository.journal``): its whole target state is
written as a journal before the first record changes, so a kill, SIGTERM or Ctrl-C at any
instruction never drops a local version or points an alias at another clone's content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from artctl.base.crashpoints import crash_point, declare
from artctl.format.names import validate_type, version_index
from artctl.format.records import VersionRecord
from artctl.format.snapshots import EDITABLE
from artctl.ops.remote.protocol import RemoteArtifact
from artctl.ops.remote.threeway import CONFLICT, OURS, THEIRS, Replaced, SyncBase, alias_sides, decide, show

if TYPE_CHECKING:
    from artctl.repository.repo import Repository


_MERGE_STEPS = {
    "after-journal": "the registry as before, plus the journal of the merged state: the next command that "
    "reads or changes the artifact (or reads runs) applies it first and sees the merged state",
    "version-written": "some version records rewritten from the journal (a version's new number is written "
    "before its old one is reused); the journal finishes the merge before anyone reads",
    "aliases-written": "version records and alias table merged, run links not yet; the journal finishes them "
    "before anyone reads",
    "run-linked": "one more run record names the new numbers; the journal finishes the others "
    "before anyone reads",
    "merged": "the artifact merged and its journal deleted",
}
MERGE_POINTS: dict[str, dict[str, str]] = {
    direction: {step: declare(f"{direction}.{step}", guarantee) for step, guarantee in _MERGE_STEPS.items()}
    for direction in ("pull", "push")
}
"""The merge's crash points, ``pull.*`` or ``push.*`` by the command that merges."""


@dataclass(frozen=True)
class Renumbered:
    """A local version that got a new number to make room for the remote's (``reason`` says why)."""

    name: str
    old: str
    new: str
    reason: str = ""

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "from": self.old, "to": self.new, "reason": self.reason}


@dataclass(frozen=True)
class MergePlan:
    """What the local registry of one artifact becomes to follow the remote's numbering."""

    versions: dict[int, VersionRecord]  # every version record afterwards, by number
    aliases: dict[str, str]  # the whole custom-alias table afterwards
    moved: dict[int, int]  # local number -> number afterwards (for every local version)
    new_refs: list[str]  # remote versions that are new here (``name:vN``)
    replaced: list[Replaced] = field(default_factory=list)  # local changes the remote's replaced
    reasons: dict[int, str] = field(default_factory=dict)  # local number -> why it moved

    @property
    def renumbered(self) -> dict[int, int]:
        """The local versions that change number."""
        return {old: new for old, new in sorted(self.moved.items()) if old != new}


def match_versions(art: RemoteArtifact, local: list[VersionRecord]) -> dict[int, VersionRecord]:
    """Local number -> the remote version that *is* that local version.

    The same number with the same content first, else the oldest live remote version with the
    same content (renumbered by an earlier push or pull). Each remote version matches at most
    one local version, so two local versions of one content (one deleted, one put again) are
    never folded into one — which would drop the live one.
    """
    twins = {r.index: art.versions[r.index] for r in local if _same(art.versions.get(r.index), r)}
    claimed = {t.index for t in twins.values()}
    for record in sorted(local, key=lambda r: r.index):
        if record.index in twins:
            continue
        twin = next(
            (
                r
                for i, r in sorted(art.versions.items())
                if i not in claimed and not r.deleted and r.manifest == record.manifest
            ),
            None,
        )
        if twin is not None:
            twins[record.index] = twin
            claimed.add(twin.index)
    return twins


def _same(remote: VersionRecord | None, local: VersionRecord) -> bool:
    return remote is not None and remote.manifest == local.manifest


def plan_merge(
    art: RemoteArtifact,
    local: list[VersionRecord],
    local_aliases: dict[str, str],
    base: SyncBase | None = None,
) -> MergePlan:
    """The merged state, computed before anything is written (a three-way merge against
    ``base``, :mod:`artctl.ops.remote.threeway`): matched local versions take their remote
    twin's number with the changes made only here kept; the others keep their number when it
    is free and they were never sent (deleted), else move above every remote number in their
    order; aliases follow their versions. Where both sides changed one thing, the remote's
    wins and the local change is listed in ``replaced``; a deletion wins over an alias."""
    target: dict[int, VersionRecord] = dict(art.versions)
    twins = match_versions(art, local)
    moved: dict[int, int] = {}
    reasons: dict[int, str] = {}
    replaced: list[Replaced] = []
    for record in sorted(local, key=lambda r: r.index):
        twin = twins.get(record.index)
        if twin is not None:
            target[twin.index] = _merge_version(str(art.name), record, twin, base, replaced)
            moved[record.index] = twin.index
            continue
        top = max(target, default=-1)
        if record.index > top or (record.deleted and record.index not in target):
            index = record.index  # a deleted version never sent keeps its number: it takes none
        else:
            index = top + 1
        target[index] = record.evolve(index=index)
        moved[record.index] = index
    for record in local:
        if moved[record.index] != record.index:
            reasons[record.index] = _reason(art, record, moved[record.index], twins)
    known = {r.manifest for r in local}
    new_refs = [
        f"{art.name}:v{i}" for i, r in sorted(art.versions.items()) if r.manifest not in known and r.live()
    ]
    table = _merge_aliases(art, local, local_aliases, base, target, moved, replaced)
    return MergePlan(target, table, moved, new_refs, replaced, reasons)


def _reason(art: RemoteArtifact, record: VersionRecord, new: int, twins: dict[int, VersionRecord]) -> str:
    """Why local ``record`` now has number ``new``, as the push and pull messages say it."""
    taken = art.versions.get(record.index)
    if taken is not None and taken.manifest != record.manifest:
        return f"the remote already had {record.version}"
    if record.index in twins:
        return f"the remote has it as v{new}"
    return "kept after the remote's versions"


def _merge_version(
    name: str, record: VersionRecord, twin: VersionRecord, base: SyncBase | None, replaced: list[Replaced]
) -> VersionRecord:
    """One version both sides have: a deletion on either side wins, fields merge three-way.
    Whether its data was purged is this repository's own fact (a remote's gc frees the remote's
    bytes, not these), so the local ``purged_at`` is kept."""
    found = base.version(twin) if base is not None else None
    if record.deleted:
        merged = twin.evolve(state=record.state, deleted_at=twin.deleted_at or record.deleted_at)
    elif twin.deleted:
        if found is not None and any(getattr(record, k) != found.fields.get(k) for k in EDITABLE):
            replaced.append(Replaced(name, twin.version, "edited", "deleted"))
        merged = twin
    else:
        kept: dict[str, Any] = {}
        for key in EDITABLE:
            ours, theirs = getattr(record, key), getattr(twin, key)
            side = decide(found.fields.get(key) if found else None, ours, theirs, has_base=found is not None)
            if side == OURS:
                kept[key] = ours
            elif side == CONFLICT and found is not None:
                replaced.append(Replaced(name, f"{twin.version} {key}", show(ours), show(theirs)))
        merged = twin.evolve(**kept, updated_at=record.updated_at or twin.updated_at) if kept else twin
    return merged if merged.purged_at == record.purged_at else merged.evolve(purged_at=record.purged_at)


def _merge_aliases(
    art: RemoteArtifact,
    local: list[VersionRecord],
    local_aliases: dict[str, str],
    base: SyncBase | None,
    target: dict[int, VersionRecord],
    moved: dict[int, int],
    replaced: list[Replaced],
) -> dict[str, str]:
    """The alias table afterwards: three-way by content; without a base the remote wins for
    the aliases it holds and local aliases it does not know are kept."""
    name = str(art.name)
    table: dict[str, str] = {}
    for alias, ours, theirs, side in alias_sides(base, art, local, local_aliases):
        if side == CONFLICT and base is None:
            side = THEIRS if theirs is not None else OURS
        elif side == CONFLICT:
            replaced.append(Replaced(name, f"alias {alias}", ours or "removed", theirs or "removed"))
            side = THEIRS
        old = version_index(ours) if side == OURS and ours is not None else None
        value = (f"v{moved.get(old, old)}" if old is not None else ours) if side == OURS else theirs
        index = version_index(value) if value is not None else None
        if value is None or index is None or index not in target:
            continue
        if target[index].deleted:  # a deletion wins over an alias
            if side == OURS and ours is not None:
                replaced.append(Replaced(name, f"alias {alias}", ours, f"deletion of {value}"))
            continue
        table[alias] = value
    return table


def merge_artifact(
    repository: Repository, art: RemoteArtifact, direction: str = "pull", base: SyncBase | None = None
) -> tuple[list[Renumbered], list[str], list[Replaced]]:
    """Make the local registry of ``art`` follow the remote's (three-way against ``base``);
    return renumberings, the refs (``name:vN``) that are new locally and the local changes
    the remote's replaced.

    Under the artifact's lock: plan, write the whole target state as a journal, apply it,
    delete it (``artctl.repository.journal``). An interruption anywhere leaves the state before the merge
    or, once the journal exists, one that the next command finishes. ``direction`` (``push``
    or ``pull``; a clone is a pull) names the crash points passed on the way.
    """
    from artctl.repository import journal

    registry = repository.registry
    name = art.name
    points = MERGE_POINTS["push" if direction == "push" else "pull"]
    with registry.lock(name):  # rolls forward an earlier interrupted merge first
        existing = registry.artifact(name)
        if existing is not None:
            registry.check_type(existing, art.record.type)
            registry.check_portfolio(existing, art.record.portfolio)
        else:
            validate_type(art.record.type)
        local = registry.versions(name, include_deleted=True)
        aliases = registry.aliases(name)
        plan = plan_merge(art, local, aliases, base)
        if existing is not None and aliases == plan.aliases and _unchanged(local, plan.versions):
            return [], plan.new_refs, plan.replaced
        # the remote's table taken whole: its change keeps the remote's author and time
        # (`alias log` here then agrees with the remote's, and two clones hold the same bytes)
        source = art.alias_snapshot if plan.aliases == art.aliases else None
        pending = journal.Journal(
            name,
            plan.versions,
            plan.aliases,
            {f"v{old}": f"v{new}" for old, new in plan.renumbered.items()},
            None if existing is not None else art.record,
            by=source.by if source is not None else None,
            at=source.at if source is not None else None,
        )
        journal.write(repository.registry, pending)
        crash_point(points["after-journal"])
        journal.apply(repository.registry, pending, lambda step: crash_point(points[step]))
    renumbered = [
        Renumbered(str(name), f"v{old}", f"v{new}", plan.reasons.get(old, ""))
        for old, new in plan.renumbered.items()
    ]
    return renumbered, plan.new_refs, plan.replaced


def _unchanged(local: list[VersionRecord], target: dict[int, VersionRecord]) -> bool:
    return {r.index: r.to_json() for r in local} == {i: r.to_json() for i, r in target.items()}
