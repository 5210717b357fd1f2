"""``artctl alias log NAME [ALIAS]``: who moved which alias when — the audit trail of promotions.

An artifact's custom-alias table is a series of numbered snapshots (``aliases/<seq>.json``,
repository format 2, docs/format.md), each recording when (``at``), by whom (``by``:
``user@host``) and what changed (``changes``: alias, from, to). The history is read by one
function over a :class:`~artctl.backend.base.Backend`, so the same code reads a remote and the
local repository (a :class:`~artctl.backend.local.LocalBackend` over ``.artifacts/``). A
snapshot without ``changes`` is compared with the one before it; a format-1 ``aliases.json``
(a repository not migrated yet, read-only) is one entry of unknown time and author.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from artctl.backend.local import LocalBackend
from artctl.errors import ArtifactNotFound, InvalidInput
from artctl.format.layout import (
    ALIASES_FILE,
    alias_snapshot_key,
    alias_snapshots_key,
    artifact_key,
    artifact_record_key,
    parse_key,
)
from artctl.format.names import (
    LATEST,
    ArtifactName,
    parse_name,
    parse_ref,
    validate_custom_alias,
    version_index,
)
from artctl.format.records import loads
from artctl.format.snapshots import AliasSnapshot, parse_alias_snapshot

if TYPE_CHECKING:
    from artctl.backend.base import Backend
    from artctl.repository.repo import Repository


@dataclass(frozen=True)
class AliasEvent:
    """One alias set (``old`` None), moved, or removed (``new`` None) by snapshot ``seq``."""

    name: str
    alias: str
    old: str | None
    new: str | None
    at: str | None
    by: str | None
    seq: int

    @property
    def action(self) -> str:
        return "set" if self.old is None else "removed" if self.new is None else "moved"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "alias": self.alias,
            "action": self.action,
            "from": self.old,
            "to": self.new,
            "at": self.at,
            "by": self.by,
            "seq": self.seq,
        }


def alias_snapshots(backend: Backend, name: ArtifactName) -> list[AliasSnapshot]:
    """Every alias snapshot of an artifact, oldest first (one listing, one batched read)."""
    directory = alias_snapshots_key(name)
    found = (parse_key(f"{directory}/{file}") for file in backend.listdir(directory))
    seqs = sorted(
        f.index for f in found if f is not None and f.kind == "alias-snapshot" and f.index is not None
    )
    blobs = backend.read_many([alias_snapshot_key(name, seq) for seq in seqs])
    out = []
    for seq in seqs:
        rel = alias_snapshot_key(name, seq)
        data = blobs.get(rel)
        if data is not None:  # removed since the listing: a merge rewrote the table
            out.append(parse_alias_snapshot(data, seq, f"{backend.url}/{rel}"))
    if not out:
        legacy = backend.read_or_none(f"{artifact_key(name)}/{ALIASES_FILE}")
        if legacy is not None:
            table = loads(legacy, f"{backend.url}/{artifact_key(name)}/{ALIASES_FILE}").get("aliases")
            if isinstance(table, dict):
                out.append(AliasSnapshot.from_json({"aliases": table}, 0, f"{backend.url}/{ALIASES_FILE}"))
    return out


def alias_history(
    backend: Backend, name: ArtifactName, alias: str | None = None, *, limit: int | None = None
) -> list[AliasEvent]:
    """The changes of an artifact's custom aliases (of ``alias`` only, if given), newest first.

    An artifact that does not exist there is :class:`ArtifactNotFound`.
    """
    if alias is not None:
        if alias == LATEST or version_index(alias) is not None:
            raise InvalidInput(
                f"{alias!r} is managed by artctl and has no history of its own",
                hint=f"`artctl artifact ls {name} --all` shows every version and which is latest",
            )
        validate_custom_alias(alias)
    if limit is not None and limit < 1:
        raise InvalidInput(f"--limit must be at least 1, not {limit}")
    snapshots = alias_snapshots(backend, name)
    if not snapshots and not backend.exists(artifact_record_key(name)):
        raise ArtifactNotFound(f"artifact {name} does not exist in {backend.url}")
    events: list[AliasEvent] = []
    previous: AliasSnapshot | None = None
    for snapshot in snapshots:
        for change in snapshot.changes_since(previous):
            if alias is None or change.alias == alias:
                events.append(
                    AliasEvent(
                        str(name),
                        change.alias,
                        change.old,
                        change.new,
                        snapshot.at,
                        snapshot.by,
                        snapshot.seq,
                    )
                )
        previous = snapshot
    events.reverse()
    return events[:limit] if limit is not None else events


def local_backend(repo: Repository) -> Backend:
    """The local ``.artifacts/`` seen as storage (read here only: nothing is written)."""
    return LocalBackend(str(repo.root), str(repo.root), fsync=repo.fsync)


def alias_log(
    repo: Repository,
    name: str | ArtifactName,
    alias: str | None = None,
    *,
    remote: str | None = None,
    limit: int | None = None,
) -> list[AliasEvent]:
    """The alias history of ``name`` in this repository, or on ``remote`` (a name or URL);
    ``NAME:ALIAS`` is the same as ``NAME ALIAS``."""
    if isinstance(name, str) and ":" in name:
        ref = parse_ref(name, repo.names)
        if alias is not None and alias != ref.alias:
            raise InvalidInput(f"{name!r} names alias {ref.alias!r}, and ALIAS says {alias!r}: give one")
        name, alias = ref.name, ref.alias
    parsed = parse_name(name, repo.names) if isinstance(name, str) else name
    if remote is None:
        from artctl.ops.remote.mirror import mirrored_remote

        remote = mirrored_remote(repo)  # a mirror's history is its merges: the team's is the remote's
    if remote is None:
        repo.registry.require_artifact(parsed)
        repo.registry.settle(parsed)  # an interrupted merge is finished before the history is read
        return alias_history(local_backend(repo), parsed, alias, limit=limit)
    from artctl.ops.remote.config import backend_for, get_remote

    return alias_history(backend_for(repo, get_remote(repo, remote)), parsed, alias, limit=limit)
