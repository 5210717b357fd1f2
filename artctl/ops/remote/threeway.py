"""The three-way merge of push and pull: base (what this repository and the remote last agreed
on for one artifact), ours (the local registry) and theirs (the remote's).

For every custom alias, every editable field (:data:`~artctl.format.snapshots.EDITABLE`) and the
deletion of every version: equal on both sides → nothing to do; changed on one side since the
base → that side's value; changed on both sides differently → a conflict (push refuses it,
``push --force`` writes ours, pull takes theirs and says which local change it replaced).
Aliases are compared by the content they point at (the manifest digest), so a version that
changes number on its first push is still the same value.

The base is local state, never pushed: ``.artifacts/remotes/<remote>/synced/<hash>.json``
(:func:`artctl.format.layout.sync_base_key`), written atomically after each successful push or
pull of the artifact. Without a base (a repository that never synced the artifact with that
remote) the older rules apply: local wins on push for the aliases it holds, remote wins on pull,
and only a disagreement that is certain (an alias both sides hold on different content, a field
both sides hold differently on push) is a conflict.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from artctl.base.fsutil import atomic_write_bytes
from artctl.errors import ArtctlError, Conflict
from artctl.format.layout import sync_base_key
from artctl.format.names import ArtifactName, version_index
from artctl.format.records import VersionRecord, dumps, loads
from artctl.format.snapshots import EDITABLE
from artctl.ops.remote.protocol import RemoteArtifact

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

KIND = "artctl-sync-base"
PULL_HINT = "`artctl pull` to take the remote's, or `artctl push --force` to keep yours"
DELETED_HINT = "`artctl pull` (the deletion wins), then change it again if you still need to"

#: Which side a value comes from.
SAME, OURS, THEIRS, CONFLICT = "same", "ours", "theirs", "conflict"


def decide(base: Any, ours: Any, theirs: Any, *, has_base: bool) -> str:
    """Whose value wins for one item: SAME, OURS, THEIRS, or CONFLICT (also: no base to tell)."""
    if ours == theirs:
        return SAME
    if has_base:
        if ours == base:
            return THEIRS
        if theirs == base:
            return OURS
    return CONFLICT


# -- what a sync reports --------------------------------------------------------------------------
@dataclass(frozen=True)
class Disagreement:
    """One alias or field changed on both sides since the last sync (``what``: ``alias
    production``, ``v3 description``, ``v3``); ``ours``/``theirs`` as a user reads them."""

    name: str
    what: str
    ours: str
    theirs: str
    hint: str = PULL_HINT

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "what": self.what, "yours": self.ours, "theirs": self.theirs}

    def message(self) -> str:
        return (
            f"{self.name} {self.what} changed here and on the remote since your last sync "
            f"(yours: {self.ours}, the remote's: {self.theirs})"
        )


@dataclass(frozen=True)
class Replaced:
    """A local change that pull replaced with the remote's."""

    name: str
    what: str
    ours: str
    theirs: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "what": self.what, "yours": self.ours, "theirs": self.theirs}

    def message(self, direction: str = "pull") -> str:
        return (
            f"{direction}: replaced your local change of {self.name} {self.what} ({self.ours}) "
            f"with the remote's ({self.theirs})"
        )


class SyncConflict(Conflict):
    """A push refused for changes made on both sides; ``result`` is what the push did do."""

    def __init__(self, conflicts: list[Disagreement], result: Any = None) -> None:
        first = conflicts[0]
        more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
        super().__init__(f"push refused: {first.message()}{more}", hint=first.hint)
        self.conflicts = conflicts
        self.result = result

    def details(self) -> dict[str, Any] | None:
        """The push's ``--json`` summary (what was pushed, and ``"conflicts"``)."""
        return self.result.to_json() if self.result is not None else None


def show(value: Any) -> str:
    """A field's value as the conflict and replaced messages print it."""
    if value is None:
        return "none"
    return value if isinstance(value, str) and version_index(value) is not None else repr(value)


# -- the base ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VersionBase:
    """One version as both sides last agreed on it."""

    manifest: str
    deleted: bool
    fields: dict[str, Any]


@dataclass(frozen=True)
class SyncBase:
    """What this repository and one remote last agreed on for one artifact (remote numbers)."""

    name: str
    aliases: dict[str, str] = field(default_factory=dict)
    versions: dict[int, VersionBase] = field(default_factory=dict)

    @classmethod
    def of(cls, art: RemoteArtifact) -> SyncBase:
        """The remote's state of ``art`` after a sync: by then both sides agree on it."""
        versions = {
            i: VersionBase(r.manifest, r.deleted, {k: getattr(r, k) for k in EDITABLE})
            for i, r in art.versions.items()
        }
        return cls(str(art.name), dict(art.aliases), versions)

    def version(self, twin: VersionRecord) -> VersionBase | None:
        """The base of remote version ``twin`` (None: it is newer than the last sync)."""
        found = self.versions.get(twin.index)
        return found if found is not None and found.manifest == twin.manifest else None

    def alias_content(self, alias: str) -> str | None:
        return content_of(self.aliases.get(alias), {i: v.manifest for i, v in self.versions.items()})

    def to_json(self) -> dict[str, Any]:
        return {
            "format": 1,
            "kind": KIND,
            "name": self.name,
            "aliases": dict(sorted(self.aliases.items())),
            "versions": {
                str(i): {"manifest": v.manifest, "deleted": v.deleted, **v.fields}
                for i, v in sorted(self.versions.items())
            },
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> SyncBase:
        if obj.get("kind") != KIND:
            raise ValueError("kind")
        versions = {
            int(i): VersionBase(str(v["manifest"]), bool(v["deleted"]), {k: v.get(k) for k in EDITABLE})
            for i, v in obj["versions"].items()
        }
        return cls(str(obj["name"]), {str(a): str(v) for a, v in obj["aliases"].items()}, versions)


def content_of(version: str | None, manifests: dict[int, str]) -> str | None:
    """What an alias value points at: the version's manifest digest (its ``vN`` when unknown)."""
    if version is None:
        return None
    index = version_index(version)
    return manifests.get(index, version) if index is not None else version


def load_base(repository: Repository, remote_key: str, name: ArtifactName) -> SyncBase | None:
    """The base of ``name`` with that remote; None when they never synced it.

    The base only decides who changed what; a damaged one (edited by hand) is treated as
    absent, which falls back to the rules without a base — never to a wrong merge.
    """
    path = repository.layout.path(sync_base_key(remote_key, name))
    try:
        base = SyncBase.from_json(loads(path.read_bytes(), str(path)))
    except FileNotFoundError:
        return None
    except (ArtctlError, KeyError, TypeError, ValueError, AttributeError):
        return None
    return base if base.name == str(name) else None


def save_base(repository: Repository, remote_key: str, art: RemoteArtifact) -> None:
    """Record that this repository and the remote now agree on ``art`` (atomically)."""
    path = repository.layout.path(sync_base_key(remote_key, art.name))
    path.parent.mkdir(parents=True, exist_ok=True)
    data = dumps(SyncBase.of(art).to_json())
    atomic_write_bytes(path, data, tmp_dir=repository.tmp_dir, fsync=repository.fsync)


# -- push: what to write on the remote ------------------------------------------------------------
@dataclass
class PushPlan:
    """What a push writes for one artifact beyond new versions, decided before any write."""

    aliases: dict[str, str | None] = field(default_factory=dict)  # alias -> LOCAL vN (None: remove)
    expected: dict[str, str | None] = field(default_factory=dict)  # alias -> the remote's value seen
    edits: dict[int, dict[str, Any]] = field(default_factory=dict)  # remote number -> fields to set
    edit_expected: dict[int, dict[str, Any]] = field(default_factory=dict)  # … the remote's values seen
    edited_at: dict[int, str | None] = field(default_factory=dict)  # … when it was edited here
    deletions: dict[int, VersionRecord] = field(default_factory=dict)  # remote number -> local record
    conflicts: list[Disagreement] = field(default_factory=list)


def _changed(record: VersionRecord, base: VersionBase | None) -> bool:
    """Whether an editable field of ``record`` differs from the base (False without one)."""
    return base is not None and any(getattr(record, k) != base.fields.get(k) for k in EDITABLE)


def plan_push(
    name: ArtifactName,
    base: SyncBase | None,
    art: RemoteArtifact,
    local: list[VersionRecord],
    local_aliases: dict[str, str],
    twins: dict[int, VersionRecord],
    *,
    force: bool,
) -> PushPlan:
    """Deletions, edits and alias changes this push sends for one artifact, and its conflicts.

    ``local`` is every local version (deleted too), ``twins`` maps a local number to the remote
    version holding it (:func:`artctl.ops.remote.sync.match_versions`).
    """
    plan = PushPlan()
    for record in local:
        twin = twins.get(record.index)
        if twin is not None:
            _plan_version(plan, str(name), record, twin, base.version(twin) if base else None, force)
    _plan_aliases(plan, str(name), base, art, local, local_aliases, twins, force)
    return plan


def _plan_version(
    plan: PushPlan,
    name: str,
    record: VersionRecord,
    twin: VersionRecord,
    base: VersionBase | None,
    force: bool,
) -> None:
    """The deletion and the edited fields of one version that the remote also has."""
    if record.deleted:
        if not twin.deleted:
            if _changed(twin, base) and not force:
                plan.conflicts.append(Disagreement(name, twin.version, "deleted", "edited"))
            else:
                plan.deletions[twin.index] = record
        return
    if twin.deleted:
        if _changed(record, base):  # an edit cannot bring a deleted version back, even forced
            plan.conflicts.append(Disagreement(name, twin.version, "edited", "deleted", DELETED_HINT))
        return
    for key in EDITABLE:
        ours, theirs = getattr(record, key), getattr(twin, key)
        side = decide(base.fields.get(key) if base else None, ours, theirs, has_base=base is not None)
        if side == OURS or (side == CONFLICT and force):
            plan.edits.setdefault(twin.index, {})[key] = ours
            plan.edit_expected.setdefault(twin.index, {})[key] = theirs
            plan.edited_at[twin.index] = record.updated_at
        elif side == CONFLICT:
            plan.conflicts.append(Disagreement(name, f"{twin.version} {key}", show(ours), show(theirs)))


def alias_sides(
    base: SyncBase | None, art: RemoteArtifact, local: list[VersionRecord], local_aliases: dict[str, str]
) -> Iterator[tuple[str, str | None, str | None, str]]:
    """Every alias this side, the remote or the base knows: ``(alias, ours, theirs, side)``,
    ``side`` being which of them changed it since the base (:func:`decide`), judged by the
    content the alias points at (a renumbered version is the same version). Push and pull
    both decide aliases here; they differ in what they do with a conflict."""
    mine = {r.index: r.manifest for r in local}
    remote = {i: r.manifest for i, r in art.versions.items()}
    for alias in sorted({*local_aliases, *art.aliases, *(base.aliases if base else {})}):
        ours, theirs = local_aliases.get(alias), art.aliases.get(alias)
        side = decide(
            base.alias_content(alias) if base else None,
            content_of(ours, mine),
            content_of(theirs, remote),
            has_base=base is not None,
        )
        yield alias, ours, theirs, side


def _plan_aliases(
    plan: PushPlan,
    name: str,
    base: SyncBase | None,
    art: RemoteArtifact,
    local: list[VersionRecord],
    local_aliases: dict[str, str],
    twins: dict[int, VersionRecord],
    force: bool,
) -> None:
    """Alias sets, moves and removals, compared by the content they point at."""
    for alias, ours, theirs, side in alias_sides(base, art, local, local_aliases):
        if side == CONFLICT and base is None:  # the older rules: local wins for the aliases it holds
            side = OURS if theirs is None else THEIRS if ours is None else CONFLICT
        if side == CONFLICT and not force:
            plan.conflicts.append(
                Disagreement(name, f"alias {alias}", ours or "removed", theirs or "removed")
            )
        elif side in (OURS, CONFLICT):
            index = version_index(ours) if ours is not None else None
            twin = twins.get(index) if index is not None else None
            if twin is not None and twin.deleted:
                plan.conflicts.append(
                    Disagreement(name, f"alias {alias}", ours or "", f"{twin.version} deleted", DELETED_HINT)
                )
                continue
            plan.aliases[alias], plan.expected[alias] = ours, theirs
        elif theirs is not None and version_index(theirs) in plan.deletions:
            if side == THEIRS and not force:  # moved there on the remote, deleted here
                plan.conflicts.append(Disagreement(name, f"alias {alias}", f"{theirs} deleted", theirs))
            else:  # an alias never points at a deleted version
                plan.aliases[alias], plan.expected[alias] = None, theirs
