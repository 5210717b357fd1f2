"""The metadata store: artifacts, their versions and aliases, as small JSON records.

Layout under ``.artifacts/registry/<project>/<name>/`` (the entity is the repository's, so it
is not part of the path: docs/names.md): ``artifact.json``, ``versions/v<N>.json`` and the
immutable files of repository format 2 that change them (edit snapshots, tombstones, purge
markers, alias snapshots: ``artctl.repository.registry_files``, docs/format.md).
``latest`` is not stored: it is always the newest live version, so it can never go stale.
Changes happen under the artifact's lock; every file is created exclusively and never
rewritten, so even without the lock no version number or snapshot is written twice. A change
of several records at once (the renumbering merge of push/pull) goes through
``.artifacts/journal/`` (``artctl.repository.journal``): taking the lock, and every read, first
finishes an interrupted one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from artctl.base.crashpoints import crash_point
from artctl.base.fsutil import create_exclusive
from artctl.errors import ArtifactNotFound, InvalidInput, LinkError
from artctl.format.names import (
    ArtifactName,
    ArtifactRef,
    parse_name,
    requested_aliases,
    validate_custom_alias,
    validate_tag,
)
from artctl.format.records import VersionRecord, dumps, utcnow
from artctl.format.snapshots import EDITABLE, fold
from artctl.repository.registry_collections import RETIRE_AFTER_RENAME
from artctl.repository.registry_files import version_files, write_edit, write_purge, write_tombstone
from artctl.repository.registry_versions import RegistryVersions

__all__ = ["RETIRE_AFTER_RENAME", "Registry"]


class Registry(RegistryVersions):
    """Reads and changes the registry of one repository: base (paths, locks, settling, the alias
    table: ``registry_base``), collections (``registry_collections``), version lookups
    (``registry_versions``), and here the changes of versions and aliases."""

    # -- changing versions and aliases ----------------------------------------------------
    def commit(
        self,
        name: ArtifactName,
        kind: str,
        manifest: str,
        *,
        files: int,
        size: int,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        ttl_seconds: int | None = None,
        aliases: Sequence[str] = (),
        logged_by: str | None = None,
        tags: Sequence[str] = (),
        point: str | None = None,
        link: str | None = None,
    ) -> tuple[VersionRecord, bool]:
        """Record a version for a stored manifest; return it and whether it is new.

        Identical content (same manifest digest as a live version) creates nothing; the aliases
        still move to that version and the tags are added to it. Version numbers are never
        reused, even after deletion. ``point`` is the caller's crash point between the version
        record and the aliases. ``link`` (``name:vN`` of the source) makes the version a link
        of a registry collection: the same rules, so linking one version twice is idempotent.
        """
        custom = requested_aliases(aliases)  # `latest` accepted (a no-op), vN refused
        labels = sorted({validate_tag(t) for t in tags})
        with self.lock(name):
            self.ensure_artifact(name, kind, portfolio=link is not None)
            existing = [r for r in self.versions(name) if r.manifest == manifest]
            if existing:
                record, created = existing[-1], False
                if not set(labels) <= set(record.tags):
                    record = record.evolve(tags=sorted({*record.tags, *labels}))
                    self.record_edit(record)
            else:
                everything = self.versions(name, include_deleted=True)
                index = everything[-1].index + 1 if everything else 0
                record = VersionRecord(
                    name=str(name),
                    type=kind,
                    index=index,
                    manifest=manifest,
                    created_at=utcnow(),
                    files=files,
                    size=size,
                    description=description,
                    metadata=dict(metadata or {}),
                    ttl_seconds=ttl_seconds,
                    logged_by=logged_by,
                    tags=labels,
                    link=link,
                )
                while not create_exclusive(
                    self.version_path(name, record.index),
                    dumps(record.to_json()),
                    tmp_dir=self.tmp_dir,
                    fsync=self.fsync,
                ):
                    record = record.evolve(index=record.index + 1)
                created = True
            if point is not None:
                crash_point(point)
            if custom:
                table = self.aliases(name)
                for alias in custom:
                    table[alias] = record.version
                self.write_aliases(name, table)
        return record, created

    # -- the immutable files of format 2 (callers hold the artifact's lock) -------------------
    def record_edit(self, record: VersionRecord, *, by: str | None = None) -> None:
        """Make ``record``'s editable fields (description, metadata, TTL, tags) the version's:
        one more edit snapshot; the version record itself is never rewritten."""
        files = version_files(self.layout, parse_name(record.name), record.index)
        if files is None:
            raise ArtifactNotFound(f"artifact {record.name} has no version {record.version}")
        current = fold(files.record, files.edits)
        if any(getattr(current, key) != getattr(record, key) for key in EDITABLE):
            write_edit(self.writer, files, record, by)

    def record_deletion(self, record: VersionRecord, *, by: str | None = None) -> bool:
        """Delete a version: its tombstone (False: it was deleted already)."""
        return write_tombstone(self.writer, record, by)

    def record_purge(self, record: VersionRecord) -> bool:
        """gc dropped a version's data: its purge marker (False: it was purged already)."""
        return write_purge(self.writer, record, utcnow())

    def update(
        self,
        ref: ArtifactRef,
        *,
        description: Any = ...,
        metadata: Any = ...,
        ttl_seconds: Any = ...,
        tags: Any = ...,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
    ) -> VersionRecord:
        """Change a version's description, metadata, TTL or tags (``...`` leaves a field alone;
        ``tags`` replaces them all, ``add_tags``/``remove_tags`` change some)."""
        if metadata is not ... and not isinstance(metadata, dict):
            raise InvalidInput("metadata must be a JSON object")
        add, remove = {validate_tag(t) for t in add_tags}, {validate_tag(t) for t in remove_tags}
        with self.lock(ref.name):
            record = self.resolve(ref)
            if record.link is not None and ttl_seconds not in (..., None):
                raise LinkError(
                    f"{record.name}:{record.version} is linked to {record.link}: a linked version has no TTL",
                    hint="unlink it first, then set the TTL of the source version",
                )
            changes: dict[str, Any] = {}
            if description is not ...:
                changes["description"] = description
            if metadata is not ...:
                changes["metadata"] = metadata
            if ttl_seconds is not ...:
                changes["ttl_seconds"] = ttl_seconds
            if tags is not ... or add or remove:
                base = set(record.tags) if tags is ... else {validate_tag(t) for t in tags}
                changes["tags"] = sorted((base - remove) | add)
            if any(getattr(record, k) != v for k, v in changes.items()):
                changes["updated_at"] = utcnow()
            record = record.evolve(**changes)
            self.record_edit(record)
        return record

    def set_alias(self, ref: ArtifactRef, alias: str) -> VersionRecord:
        """Point a custom alias at a version, moving it from any other version."""
        validate_custom_alias(alias)
        with self.lock(ref.name):
            record = self.resolve(ref)
            table = self.aliases(ref.name)
            table[alias] = record.version
            self.write_aliases(ref.name, table)
        return record

    def remove_alias(self, name: ArtifactName, alias: str) -> str:
        """Drop a custom alias; return the version it pointed at."""
        validate_custom_alias(alias)
        with self.lock(name):
            self.require_artifact(name)
            table = self.aliases(name)
            if alias not in table:
                raise ArtifactNotFound(f"artifact {name} has no alias {alias!r}")
            version = table.pop(alias)
            self.write_aliases(name, table)
        return version

    def drop_aliases_of(self, name: ArtifactName, version: str) -> list[str]:
        """Remove every custom alias of one version (callers hold the lock)."""
        table = self.aliases(name)
        gone = sorted(a for a, v in table.items() if v == version)
        if gone:
            self.write_aliases(name, {a: v for a, v in table.items() if v != version})
        return gone
