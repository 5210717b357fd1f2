"""The metadata store: artifacts, their versions and aliases, as small JSON records.

Layout under ``.artifacts/registry/<project>/<name>/`` (the entity is the repository's, so it
is not part of the path: docs/names.md): ``artifact.json``, ``versions/v<N>.json``,
``aliases.json`` (custom aliases only).
``latest`` is not stored: it is always the newest live version, so it can never go stale.
Changes happen under the artifact's lock; version records are created exclusively, so even
without the lock no version number can be written twice. A change of several records at once
(the renumbering merge of push/pull) goes through ``.artifacts/journal/`` (``artctl.repository.journal``):
taking the lock, and every read, first finishes an interrupted one.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artctl.base.crashpoints import crash_point, declare
from artctl.base.fsutil import atomic_write_bytes, create_exclusive
from artctl.errors import ArtifactNotFound, Conflict, InvalidInput, LinkError, RepositoryFormatError
from artctl.format.layout import version_of_file
from artctl.format.names import (
    LATEST,
    ArtifactName,
    ArtifactRef,
    NameScope,
    parse_name,
    parse_project,
    requested_aliases,
    validate_custom_alias,
    validate_tag,
    validate_type,
    version_index,
)
from artctl.format.records import ArtifactRecord, VersionRecord, dumps, loads, utcnow
from artctl.repository import renames

if TYPE_CHECKING:
    from artctl.base.locks import LockFactory
    from artctl.format.layout import Layout
    from artctl.repository.runs import RunStore

RETIRE_AFTER_RENAME = declare(
    "retire.after-rename",
    "a deleted collection's directory moved under tmp/, not yet removed: the name is free, the "
    "put that claimed it starts again at v0 on its re-run",
)


class Registry:
    """Reads and changes the registry of one repository."""

    def __init__(
        self,
        layout: Layout,
        lock: LockFactory,
        fsync: Callable[[], bool],
        runs: Callable[[], RunStore],
        names: Callable[[], NameScope],
    ) -> None:
        """``lock`` takes the repository's named locks; ``fsync`` says (each time: settings may
        change) whether writes are flushed; ``runs`` gives the run store an interrupted merge
        or a rename relinks (the two refer to each other, so it is looked up when needed);
        ``names`` is the repository's entity and default project, for short names."""
        self.layout = layout
        self.names = names
        self.root = layout.registry
        self.tmp_dir = layout.tmp
        self._lock = lock
        self._fsync = fsync
        self.runs = runs
        self._local = threading.local()

    @property
    def fsync(self) -> bool:
        return self._fsync()

    # -- paths ----------------------------------------------------------------------------
    def artifact_dir(self, name: ArtifactName) -> Path:
        return self.layout.artifact_dir(name)

    def version_path(self, name: ArtifactName, index: int) -> Path:
        return self.layout.version(name, index)

    @contextlib.contextmanager
    def lock(self, name: ArtifactName) -> Iterator[None]:
        """The artifact's lock; taking it first finishes a merge that was interrupted
        (``artctl.repository.journal``) and a rename from or to this name
        (``artctl.repository.renames``), so whoever changes the registry starts from a whole
        state. Re-entrant within a thread."""
        held = self._held()
        if name in held:
            yield
            return
        with contextlib.ExitStack() as stack:
            while True:
                if not held:  # a rename needs both names' locks, in order: none may be held
                    self._finish_renames(name)
                stack.enter_context(self._lock(f"artifact-{name}"))
                if held or not renames.involving(self, name):
                    break
                stack.close()  # its renamer died after we looked: finish it first
            held.add(name)
            try:
                self._roll_forward(name)
                yield
            finally:
                held.discard(name)

    @contextlib.contextmanager
    def _locks(self, names: list[ArtifactName]) -> Iterator[None]:
        """Several artifacts' locks in name order (renames only; nothing else nests them)."""
        with contextlib.ExitStack() as stack:
            held = self._held()
            for name in sorted(names, key=str):  # the order of artctl.base.locks
                if name not in held:
                    stack.enter_context(self._lock(f"artifact-{name}"))
                    held.add(name)
                    stack.callback(held.discard, name)
            yield

    def _finish_renames(self, name: ArtifactName | None = None) -> None:
        """Finish every pending rename from or to ``name`` (all of them when None)."""
        for pending in renames.pending(self):
            if name is None or name in (pending.old, pending.new):
                with self._locks(pending.names()):
                    current = renames.involving(self, pending.old)
                    if pending in current:  # not finished by another process meanwhile
                        renames.apply(self, pending)

    def _held(self) -> set[ArtifactName]:
        """Artifacts whose lock this thread holds."""
        held = getattr(self._local, "held", None)
        if held is None:
            held = self._local.held = set()
        return held

    # -- interrupted merges (artctl.repository.journal) ----------------------------------------------
    def _roll_forward(self, name: ArtifactName) -> None:
        from artctl.repository import journal

        pending = journal.read(self, journal.path_for(self, name))
        if pending is not None:
            journal.apply(self, pending)

    def settle(self, name: ArtifactName) -> None:
        """Before reading an artifact: finish its interrupted merge, if there is one."""
        from artctl.repository import journal

        held = self._held()
        if name not in held and journal.path_for(self, name).exists():
            with self.lock(name):
                pass
        if not held and renames.involving(self, name):
            self._finish_renames(name)

    def settle_all(self) -> None:
        """Before reading runs or listing artifacts: finish every interrupted merge.

        Skipped by a thread that already holds an artifact's lock: it must not wait for a
        second one (locks of two artifacts are never nested)."""
        from artctl.repository import journal

        if self._held():
            return
        self._finish_renames()
        for path in journal.pending(self):
            pending = journal.read(self, path)
            if pending is not None:
                with self.lock(pending.name):
                    pass

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
        """The collection of ``name``'s project that was once called ``name``, if any (a scan of
        one project, for an error's hint and for repeating a rename)."""
        try:
            siblings = sorted(os.listdir(self.root / name.project))
        except FileNotFoundError:
            return None
        for sibling in siblings:
            path = self.root / name.project / sibling / "artifact.json"
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

    # -- versions -------------------------------------------------------------------------
    def versions(self, name: ArtifactName, *, include_deleted: bool = False) -> list[VersionRecord]:
        """Versions of an artifact, oldest first; expired and deleted ones only on request."""
        self.settle(name)
        directory = self.layout.versions_dir(name)
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            return []
        records = []
        now = datetime.now(timezone.utc)
        for file in names:
            if version_of_file(file) is None:
                continue
            with contextlib.suppress(FileNotFoundError):
                record = VersionRecord.from_json(
                    loads((directory / file).read_bytes(), str(directory / file)), str(directory / file)
                )
                if include_deleted or record.live(now):
                    records.append(record)
        return sorted(records, key=lambda r: r.index)

    def version(self, name: ArtifactName, index: int) -> VersionRecord | None:
        self.settle(name)
        path = self.version_path(name, index)
        try:
            return VersionRecord.from_json(loads(path.read_bytes(), str(path)), str(path))
        except FileNotFoundError:
            return None

    def aliases(self, name: ArtifactName) -> dict[str, str]:
        """Custom aliases → version (``{"best": "v2"}``)."""
        self.settle(name)
        path = self.layout.aliases(name)
        try:
            data = loads(path.read_bytes(), str(path))
        except FileNotFoundError:
            return {}
        table = data.get("aliases", {})
        if not isinstance(table, dict):
            raise RepositoryFormatError(f"{path} has no 'aliases' table")
        return {k: v for k, v in table.items() if isinstance(v, str)}

    def write_aliases(self, name: ArtifactName, aliases: dict[str, str]) -> None:
        """Replace the artifact's whole custom-alias table (callers hold the artifact's lock)."""
        path = self.layout.aliases(name)
        atomic_write_bytes(
            path,
            dumps({"format": 1, "aliases": dict(sorted(aliases.items()))}),
            tmp_dir=self.tmp_dir,
            fsync=self.fsync,
        )

    def aliases_of(self, record: VersionRecord, *, latest: VersionRecord | None | bool = True) -> list[str]:
        """All aliases of a version, managed ones included, in display order."""
        name = parse_name(record.name)
        out = []
        if latest is True:
            latest = self.latest(name)
        if isinstance(latest, VersionRecord) and latest.index == record.index:
            out.append(LATEST)
        out.append(record.version)
        out.extend(sorted(a for a, v in self.aliases(name).items() if v == record.version))
        return out

    def latest(self, name: ArtifactName) -> VersionRecord | None:
        live = self.versions(name)
        return live[-1] if live else None

    def resolve(self, ref: ArtifactRef, *, include_deleted: bool = False) -> VersionRecord:
        """The version a reference names; unknown or deleted versions raise ArtifactNotFound."""
        self.require_artifact(ref.name)
        index = version_index(ref.alias)
        if ref.alias == LATEST:
            record = self.latest(ref.name)
            if record is None:
                raise ArtifactNotFound(f"artifact {ref.name} has no live versions")
            return record
        if index is None:
            target = self.aliases(ref.name).get(ref.alias)
            if target is None:
                raise ArtifactNotFound(
                    f"artifact {ref.name} has no alias {ref.alias!r}",
                    hint=f"see its aliases with `artctl alias ls {ref.name}`",
                )
            index = version_index(target)
            assert index is not None
        record = self.version(ref.name, index)
        if record is None:
            raise ArtifactNotFound(f"artifact {ref.name} has no version v{index}")
        if not include_deleted and not record.live():
            why = "deleted" if record.deleted else "expired (TTL)"
            raise ArtifactNotFound(
                f"{ref.name}:v{index} was {why}",
                hint=f"see every version with `artctl artifact ls {ref.name} --all`",
            )
        return record

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
                    self.save_version(record)
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

    def save_version(self, record: VersionRecord) -> None:
        """Rewrite a version's record (mutable fields only; callers hold the lock)."""
        name = parse_name(record.name)
        atomic_write_bytes(
            self.version_path(name, record.index),
            dumps(record.to_json()),
            tmp_dir=self.tmp_dir,
            fsync=self.fsync,
        )

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
            self.save_version(record)
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
