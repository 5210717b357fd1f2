"""Bringing the local registry of one artifact in line with the remote's (push and pull).

Version numbers are the remote's: the remote is where numbers are decided (by exclusive
create), so after a push or pull a local version whose content (manifest digest) the remote
holds takes the remote's number, and local-only versions move above every remote number. That
is how two clones that each made ``v1`` both keep their work: the second one's ``v1`` becomes
``v2`` everywhere, and its aliases and run links follow it.

The merge of one artifact is all or nothing (``artctl.repository.journal``): its whole target state is
written as a journal before the first record changes, so a kill, SIGTERM or Ctrl-C at any
instruction never drops a local version or points an alias at another clone's content.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from artctl.base.crashpoints import crash_point, declare
from artctl.format.names import validate_type, version_index
from artctl.format.records import VersionRecord
from artctl.ops.remote.protocol import RemoteArtifact

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
    """A local version that got a new number to make room for the remote's."""

    name: str
    old: str
    new: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "from": self.old, "to": self.new}


@dataclass(frozen=True)
class MergePlan:
    """What the local registry of one artifact becomes to follow the remote's numbering."""

    versions: dict[int, VersionRecord]  # every version record afterwards, by number
    aliases: dict[str, str]  # the whole custom-alias table afterwards
    moved: dict[int, int]  # local number -> number afterwards (for every local version)
    new_refs: list[str]  # remote versions that are new here (``name:vN``)

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


def plan_merge(art: RemoteArtifact, local: list[VersionRecord], local_aliases: dict[str, str]) -> MergePlan:
    """The merged state, computed before anything is written: matched local versions take
    their remote twin's number (a local deletion carried over), the others move above every
    remote number in their order; aliases follow their versions, the remote's table wins."""
    target: dict[int, VersionRecord] = dict(art.versions)
    twins = match_versions(art, local)
    moved: dict[int, int] = {}
    for record in sorted(local, key=lambda r: r.index):
        twin = twins.get(record.index)
        if twin is not None:
            if record.deleted and not twin.deleted:
                target[twin.index] = twin.evolve(state=record.state, deleted_at=record.deleted_at)
            moved[record.index] = twin.index
            continue
        top = max(target, default=-1)
        index = record.index if record.index > top else top + 1
        target[index] = record.evolve(index=index)
        moved[record.index] = index
    known = {r.manifest for r in local}
    new_refs = [
        f"{art.name}:v{i}" for i, r in sorted(art.versions.items()) if r.manifest not in known and r.live()
    ]
    table = {}
    for alias, version in local_aliases.items():
        old = version_index(version)
        table[alias] = f"v{moved.get(old, old)}" if old is not None else version
    table.update(art.aliases)
    table = {
        a: v
        for a, v in table.items()
        if (i := version_index(v)) is not None and i in target and not target[i].deleted
    }
    return MergePlan(target, table, moved, new_refs)


def merge_artifact(
    repository: Repository, art: RemoteArtifact, direction: str = "pull"
) -> tuple[list[Renumbered], list[str]]:
    """Make the local registry of ``art`` follow the remote's; return renumberings and the
    refs (``name:vN``) that are new locally.

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
        plan = plan_merge(art, local, aliases)
        if existing is not None and aliases == plan.aliases and _unchanged(local, plan.versions):
            return [], plan.new_refs
        pending = journal.Journal(
            name,
            plan.versions,
            plan.aliases,
            {f"v{old}": f"v{new}" for old, new in plan.renumbered.items()},
            None if existing is not None else art.record,
        )
        journal.write(repository.registry, pending)
        crash_point(points["after-journal"])
        journal.apply(repository.registry, pending, lambda step: crash_point(points[step]))
    return [
        Renumbered(str(name), f"v{old}", f"v{new}") for old, new in plan.renumbered.items()
    ], plan.new_refs


def _unchanged(local: list[VersionRecord], target: dict[int, VersionRecord]) -> bool:
    return {r.index: r.to_json() for r in local} == {i: r.to_json() for i, r in target.items()}
