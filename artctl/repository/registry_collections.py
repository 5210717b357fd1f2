"""The registry's collections: one ``artifact.json`` per name (type, registry or not, tags),
created on first use, renamed whole, deleted (the name is then free) and retired.

A deleted collection keeps its records until a new collection takes its name: :meth:`retire`
moves its directory out of the registry in one rename, then removes it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from artctl.base.crashpoints import crash_point, declare
from artctl.base.fsutil import atomic_write_bytes, create_exclusive
from artctl.errors import ArtifactNotFound, Conflict
from artctl.format.names import ArtifactName, parse_name, parse_project, validate_tag, validate_type
from artctl.format.records import ArtifactRecord, dumps, loads, utcnow
from artctl.repository import renames
from artctl.repository.registry_base import RegistryBase

RETIRE_AFTER_RENAME = declare(
    "retire.after-rename",
    "a deleted collection's directory moved under tmp/, not yet removed: the name is free, the "
    "put that claimed it starts again at v0 on its re-run",
)


class RegistryCollections(RegistryBase):
    """Reading and changing collections (see :class:`artctl.repository.registry.Registry`)."""

    # -- artifacts ------------------------------------------------------------------------
    def artifact(self, name: ArtifactName) -> ArtifactRecord | None:
        self.settle(name)
        path = self.layout.artifact_record(name)
        try:
            return ArtifactRecord.from_json(loads(path.read_bytes(), str(path)), str(path))
        except FileNotFoundError:
            return None

    def require_artifact(self, name: ArtifactName) -> ArtifactRecord:
        record = self.artifact(name)
        if record is None:
            successor = self.renamed_to(name)
            raise ArtifactNotFound(
                f"artifact {name} not found",
                hint=f"it was renamed to {successor}"
                if successor
                else "list artifacts with `artctl artifact ls`",
            )
        return record

    def renamed_to(self, name: ArtifactName) -> str | None:
        """The live collection that was once called ``name``, if any: ``name``'s project is
        scanned first (where a rename usually stays), then the others, as a rename may move a
        collection to another project. Only read where ``name`` is missing (an error's hint,
        repeating a rename, following a rename from a link or a working directory)."""
        try:
            projects = sorted(os.listdir(self.root), key=lambda p: p != name.project)
        except FileNotFoundError:
            return None
        for project in projects:
            found = self._renamed_within(project, name)
            if found is not None:
                return found
        return None

    def _renamed_within(self, project: str, name: ArtifactName) -> str | None:
        """The live collection of ``project`` whose earlier names include ``name``."""
        try:
            siblings = sorted(os.listdir(self.root / project))
        except (FileNotFoundError, NotADirectoryError):
            return None
        for sibling in siblings:
            path = self.root / project / sibling / "artifact.json"
            try:
                record = ArtifactRecord.from_json(loads(path.read_bytes(), str(path)), str(path))
            except (FileNotFoundError, NotADirectoryError):
                continue
            if str(name) in record.renamed_from and not record.deleted_at:
                return record.name
        return None

    def holder(self, name: ArtifactName) -> ArtifactRecord | None:
        """The collection holding ``name``, or None when the name is free: never used, or its
        collection was deleted as a whole (as in W&B, deleting a collection frees its name).
        The one answer to "is this name taken, and by which type?"."""
        record = self.artifact(name)
        return None if record is None or record.deleted_at else record

    def ensure_artifact(self, name: ArtifactName, kind: str, *, portfolio: bool = False) -> ArtifactRecord:
        """The artifact's record, created on first use; a different type, or a registry
        collection where an ordinary one is wanted (or the reverse), is a conflict.

        A deleted collection's directory is retired first (callers hold the artifact's lock),
        so the name starts again as a fresh collection at v0, of any type."""
        validate_type(kind)
        existing = self.artifact(name)
        if existing is not None and existing.deleted_at:
            self.retire(name)
            existing = None
        if existing is None:
            record = ArtifactRecord(str(name), kind, utcnow(), portfolio=portfolio)
            path = self.layout.artifact_record(name)
            if create_exclusive(path, dumps(record.to_json()), tmp_dir=self.tmp_dir, fsync=self.fsync):
                return record
            existing = self.artifact(name)
            assert existing is not None
        self.check_type(existing, kind)
        self.check_portfolio(existing, portfolio)
        return existing

    @staticmethod
    def check_portfolio(existing: ArtifactRecord, portfolio: bool) -> None:
        """Versions are put into ordinary collections and linked into registry collections,
        never the other way round (W&B keeps sequences and portfolios apart the same way)."""
        if existing.portfolio and not portfolio:
            raise Conflict(
                f"{existing.name} is a registry collection: its versions are links",
                hint=f"link versions to it (`artctl link REF {existing.name}`); put files elsewhere",
            )
        if portfolio and not existing.portfolio:
            raise Conflict(
                f"{existing.name} is an ordinary collection (its versions were put, not linked)",
                hint="link to a registry collection: a new name, e.g. registry/<name>",
            )

    @staticmethod
    def check_type(existing: ArtifactRecord, kind: str) -> None:
        """A name is unique within a project whatever the type: another type is a conflict."""
        validate_type(kind)
        if existing.type != kind:
            raise Conflict(
                f"artifact {existing.name} already exists with type {existing.type!r}, not {kind!r}",
                hint="names are unique within a project whatever the type; choose another name",
            )

    def update_artifact(
        self, name: ArtifactName, *, description: Any = ..., tags: Any = ...
    ) -> ArtifactRecord:
        """Change a collection's own description or tags (``...`` leaves a field alone)."""
        changes = {k: v for k, v in (("description", description), ("tags", tags)) if v is not ...}
        if "tags" in changes:
            changes["tags"] = sorted({validate_tag(t) for t in changes["tags"]})
        with self.lock(name):
            record = self.require_artifact(name).evolve(**changes)
            atomic_write_bytes(
                self.layout.artifact_record(name),
                dumps(record.to_json()),
                tmp_dir=self.tmp_dir,
                fsync=self.fsync,
            )
        return record

    def iter_artifacts(self, project: str | None = None, kind: str | None = None) -> Iterator[ArtifactRecord]:
        """Every artifact (optionally of one ``[entity/]project`` or type), sorted by name."""
        if project:
            project = parse_project(project.rstrip("/"), self.names())
        self.settle_all()
        if not self.root.is_dir():
            return
        found: list[ArtifactRecord] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            if "artifact.json" in filenames:
                dirnames[:] = []
                path = Path(dirpath) / "artifact.json"
                record = ArtifactRecord.from_json(loads(path.read_bytes(), str(path)), str(path))
                name = parse_name(record.name)
                if project and name.project != project:
                    continue
                if kind and record.type != kind:
                    continue
                found.append(record)
        yield from sorted(found, key=lambda r: r.name)

    def mark_deleted(self, name: ArtifactName) -> ArtifactRecord:
        """Record that the whole collection was deleted: its name is free from now on
        (callers hold the lock and have soft-deleted every version first)."""
        record = self.require_artifact(name).evolve(deleted_at=utcnow())
        atomic_write_bytes(
            self.artifact_dir(name) / "artifact.json",
            dumps(record.to_json()),
            tmp_dir=self.tmp_dir,
            fsync=self.fsync,
        )
        return record

    def retire(self, name: ArtifactName) -> None:
        """Remove a deleted collection's records so its name can start again (callers hold the
        lock). One atomic rename takes the directory out of the registry, then it is removed:
        a kill in between leaves the name free and ``tmp/retired-<hash>``, which the next
        retire of that name (a re-run) removes."""
        import shutil

        from artctl.base.hashing import hash_bytes

        aside = self.tmp_dir / f"retired-{hash_bytes(str(name).encode())[:32]}"
        shutil.rmtree(aside, ignore_errors=True)
        try:
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
            os.rename(self.artifact_dir(name), aside)
            crash_point(RETIRE_AFTER_RENAME)
        except FileNotFoundError:
            pass
        shutil.rmtree(aside, ignore_errors=True)

    def rename(self, old: ArtifactName, new: ArtifactName) -> ArtifactRecord:
        """Rename a collection, all its versions, aliases and the run links naming it, whole or
        not at all (``artctl.repository.renames``); return the renamed collection's record.

        ``new`` must be free (unused, or a deleted collection's name). Renaming again after a
        rename was interrupted finishes that rename and succeeds.
        """
        if old == new:
            raise Conflict(f"artifact {old} already has that name")
        intent = renames.Rename(old, new)
        self._finish_renames(old)
        self._finish_renames(new)
        if self.holder(old) is None and self.renamed_to(old) == str(new):
            return self.require_artifact(new)  # done already (a repeated or interrupted rename)
        with self._locks([old, new]):
            if renames.involving(self, old) or renames.involving(self, new):
                raise Conflict(
                    f"another rename of {old} or {new} was interrupted just now",
                    hint="run the command again: it finishes that rename first",
                )
            self._roll_forward(old)
            self._roll_forward(new)
            source = self.holder(old)
            if source is None:
                self.require_artifact(old)  # never existed: not found
                raise ArtifactNotFound(
                    f"artifact {old} was deleted", hint="a deleted collection cannot be renamed"
                )
            taken = self.holder(new)
            if taken is not None:
                raise Conflict(
                    f"artifact {new} already exists (type {taken.type!r})",
                    hint=f"choose another name, or delete it first: `artctl artifact rm {new} --all`",
                )
            self.retire(new)  # a deleted collection of that name, if any: its name is free
            renames.write(self, intent)
            crash_point(renames.AFTER_INTENT)
            renames.apply(self, intent)
        return self.require_artifact(new)

    def delete_artifact_records(self, name: ArtifactName) -> None:
        """Remove an artifact's registry directory (used by gc once every version is gone)."""
        import shutil

        shutil.rmtree(self.artifact_dir(name), ignore_errors=True)
