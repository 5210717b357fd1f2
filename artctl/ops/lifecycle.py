"""What users do with versions after creating them: custom aliases and (soft) deletion.

Deletion is soft: the version gets a tombstone (``versions/vN.deleted.json``, created under
the artifact's lock; the record itself is never rewritten), so the version disappears from
``get``/``ls`` at once while its bytes stay until ``artctl gc`` (which keeps the small record
for lineage). ``latest`` is computed, so it falls back to the newest live version by itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from artctl.base.crashpoints import crash_point, declare
from artctl.errors import ArtifactNotFound, Conflict, InvalidName
from artctl.format.names import (
    LATEST,
    ArtifactName,
    ArtifactRef,
    parse_name,
    parse_ref,
    validate_custom_alias,
)
from artctl.format.records import VersionRecord, utcnow

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

DELETE_BEFORE_MARK = declare(
    "delete-collection.before-mark",
    "every version soft-deleted and the aliases dropped, the collection not yet marked deleted: "
    "its name still taken; the re-run marks it and frees the name",
)


@dataclass(frozen=True)
class AliasInfo:
    """One alias of an artifact: where it points, and whether artctl manages it."""

    alias: str
    version: str
    managed: bool
    state: str = "committed"

    def to_json(self) -> dict[str, Any]:
        return {"alias": self.alias, "version": self.version, "managed": self.managed, "state": self.state}


@dataclass(frozen=True)
class AliasChange:
    """The result of ``alias add`` / ``alias rm``."""

    name: str
    alias: str
    version: str | None
    previous: str | None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "alias": self.alias, "version": self.version, "previous": self.previous}


@dataclass(frozen=True)
class DeleteResult:
    """Versions soft-deleted by ``artifact rm`` and the custom aliases removed with them."""

    name: str
    versions: list[str]
    aliases_removed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "deleted": self.versions, "aliases_removed": self.aliases_removed}


def _ref(repo: Repository, ref: str | ArtifactRef) -> ArtifactRef:
    return parse_ref(ref, repo.names) if isinstance(ref, str) else ref


def _name(repo: Repository, name: str | ArtifactName) -> ArtifactName:
    if isinstance(name, str):
        if ":" in name:
            raise InvalidName(f"{name!r} names one version; --all takes the artifact NAME without ':ALIAS'")
        return parse_name(name, repo.names)
    return name


# -- aliases ------------------------------------------------------------------------------------
def add_alias(repo: Repository, ref: str | ArtifactRef, alias: str) -> AliasChange:
    """Point custom ``alias`` at the version ``ref`` names, moving it from any other version."""
    validate_custom_alias(alias)
    parsed = _ref(repo, ref)
    previous = repo.registry.aliases(parsed.name).get(alias)
    record = repo.registry.set_alias(parsed, alias)
    return AliasChange(
        str(parsed.name), alias, record.version, previous if previous != record.version else None
    )


def remove_alias(repo: Repository, name: str | ArtifactName, alias: str) -> AliasChange:
    """Drop custom ``alias``; ``latest`` and ``vN`` are managed and refused."""
    parsed = _name(repo, name)
    version = repo.registry.remove_alias(parsed, alias)
    return AliasChange(str(parsed), alias, None, version)


def list_aliases(repo: Repository, name: str | ArtifactName) -> list[AliasInfo]:
    """``latest`` (if any version is live) then the custom aliases, sorted."""
    parsed = _name(repo, name)
    registry = repo.registry
    registry.require_artifact(parsed)
    out: list[AliasInfo] = []
    latest = registry.latest(parsed)
    if latest is not None:
        out.append(AliasInfo(LATEST, latest.version, True))
    for alias, version in sorted(registry.aliases(parsed).items()):
        record = registry.version(parsed, int(version[1:]))
        state = "missing" if record is None else record.status()
        out.append(AliasInfo(alias, version, False, state))
    return out


# -- deletion -----------------------------------------------------------------------------------
def _soft_delete(repo: Repository, name: ArtifactName, record: VersionRecord) -> None:
    repo.registry.record_deletion(record.evolve(deleted_at=utcnow()))


def delete_version(repo: Repository, ref: str | ArtifactRef, *, delete_aliases: bool = False) -> DeleteResult:
    """Soft-delete one version; refused while it holds custom aliases unless ``delete_aliases``.

    Deleting a version that is already deleted (or expired) is an error, so a script that
    deletes twice learns about it. Deleting a linked version only unlinks it, its aliases with
    it (W&B ignores ``delete_aliases`` there); a source version that is linked is refused
    (``artctl.ops.links``).
    """
    from artctl.repository.links import check_deletable

    parsed = _ref(repo, ref)
    registry = repo.registry
    check_deletable(repo, [registry.resolve(parsed)])  # reads other collections: before our lock
    with registry.lock(parsed.name):
        record = registry.resolve(parsed)
        held = sorted(a for a, v in registry.aliases(parsed.name).items() if v == record.version)
        if held and not delete_aliases and record.link is None:
            raise Conflict(
                f"{record.name}:{record.version} holds the alias(es) {', '.join(held)}",
                hint="pass --delete-aliases (Python: delete(delete_aliases=True)) "
                "or move them with `artctl alias add`",
            )
        removed = registry.drop_aliases_of(parsed.name, record.version)
        _soft_delete(repo, parsed.name, record)
    return DeleteResult(record.name, [record.version], removed)


def delete_artifact(repo: Repository, name: str | ArtifactName) -> DeleteResult:
    """Delete a whole collection: soft-delete every live version, drop all its custom aliases,
    then mark the collection deleted, which frees its name (the next put of that name, of any
    type, starts a fresh collection at v0, as in W&B). The versions' bytes stay until gc.
    Refused while a registry links to one of its versions.

    Re-running it after an interruption finishes it; deleting a deleted collection is an error.
    """
    from artctl.repository.links import check_deletable

    parsed = _name(repo, name)
    registry = repo.registry
    check_deletable(repo, registry.versions(parsed))
    with registry.lock(parsed):
        if registry.holder(parsed) is None:
            registry.require_artifact(parsed)  # never existed: not found
            raise ArtifactNotFound(f"artifact {parsed} was already deleted")
        live = registry.versions(parsed)
        removed = sorted(registry.aliases(parsed))
        if removed:
            registry.write_aliases(parsed, {})
        for record in live:
            _soft_delete(repo, parsed, record)
        crash_point(DELETE_BEFORE_MARK)
        registry.mark_deleted(parsed)
    return DeleteResult(str(parsed), [r.version for r in live], removed)


# -- renaming -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RenameResult:
    """``artifact rename``: the collection's old and new names, its type and live versions."""

    old: str
    new: str
    type: str
    versions: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new, "type": self.type, "versions": self.versions}


def rename_artifact(repo: Repository, old: str | ArtifactName, new: str | ArtifactName) -> RenameResult:
    """Rename a collection with all its versions, aliases and run links, whole or not at all
    (``artctl.repository.renames``). A ``new`` without a project stays in ``old``'s project
    (a rename, not a move); a taken ``new`` is a conflict. Version numbers and digests keep."""
    source = _name(repo, old)
    if isinstance(new, str):
        if ":" in new:
            raise InvalidName(f"{new!r} names one version; rename takes the new NAME without ':ALIAS'")
        new = parse_name(new, repo.names.with_defaults(project=source.project))
    record = repo.registry.rename(source, new)
    live = [r.version for r in repo.registry.versions(new)]
    return RenameResult(str(source), str(new), record.type, live)
