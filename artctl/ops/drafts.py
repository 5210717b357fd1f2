"""Drafts: a new version built incrementally from a base version, across processes.

A draft is one small JSON file, ``.artifacts/drafts/<id>.json`` (format in docs/drafts.md): the
base version (name, version, manifest digest), the entries added or replaced (path → entry)
and the base paths removed. It is the *delta*, never a copy of the base: ``draft add`` reads and
hashes only the files it adds (their bytes go to the object store at once, so the draft
survives the source files), ``draft rm`` only edits the path sets, and ``draft commit`` joins
base manifest and delta into a manifest and commits it like any put (identical content → no new
version). Every read-modify-write of a draft happens under the draft's lock, and every step
that stores objects holds the gc writer guard (``artctl.base.locks.writing``), so a concurrent gc neither
deletes the added bytes nor the base's (open drafts are gc roots). The draft file's format and
the results returned here are :mod:`artctl.ops.draft_records`'s.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artctl.base.crashpoints import crash_point, declare
from artctl.base.fsutil import atomic_write_bytes
from artctl.base.locks import writing
from artctl.errors import ArtctlError, InvalidInput
from artctl.format.layout import record_id_of_file
from artctl.format.manifest import Entry, Manifest, validate_path
from artctl.format.names import ArtifactRef, parse_name
from artctl.format.records import dumps, loads, utcnow
from artctl.format.version_fields import VersionFields
from artctl.ops.draft_records import Draft, DraftChange, DraftFile, DraftSummary, DraftView
from artctl.ops.put import collect, store_files
from artctl.repository.commit import commit_manifest

if TYPE_CHECKING:
    from artctl.base.progress import Progress
    from artctl.repository.repo import Repository
    from artctl.repository.views import PutResult

ADD_AFTER_OBJECTS = declare(
    "draft.add-after-objects",
    "the added files' blobs stored, the draft file unchanged: unreferenced blobs; the re-run "
    "adds the files without storing them again",
)
COMMIT_AFTER_VERSION = declare(
    "draft.commit-after-version",
    "the version committed, the draft file not yet deleted: the re-run of commit reports that "
    "same version (identical content) and deletes the draft",
)

_ID = re.compile(r"[0-9a-f]{12}\Z")


class DraftNotFound(ArtctlError, LookupError):
    """An unknown, committed or discarded draft id."""


def new_draft_id() -> str:
    return secrets.token_hex(6)


class Drafts:
    """The open drafts of one repository."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self.repository = repo
        self.root = self.repository.layout.drafts

    # -- storage ------------------------------------------------------------------------------
    def path(self, draft_id: str) -> Path:
        if not isinstance(draft_id, str) or not _ID.match(draft_id):
            raise DraftNotFound(
                f"no draft {draft_id!r}: draft ids are 12 hex characters",
                hint="list open drafts with `artctl draft ls`",
            )
        return self.repository.layout.draft(draft_id)

    def _lock(self, draft_id: str):
        return self.repository.lock(f"draft-{draft_id}")

    def get(self, draft_id: str) -> Draft:
        path = self.path(draft_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise DraftNotFound(
                f"no open draft {draft_id!r} (unknown, committed or discarded)",
                hint="list open drafts with `artctl draft ls`",
            ) from None
        return Draft.from_json(loads(data, str(path)), str(path))

    def _save(self, draft: Draft) -> None:
        atomic_write_bytes(
            self.path(draft.id),
            dumps(draft.to_json()),
            tmp_dir=self.repository.tmp_dir,
            fsync=self.repository.fsync,
        )

    def list(self) -> list[DraftSummary]:
        out = []
        try:
            names = sorted(os.listdir(self.root))
        except FileNotFoundError:
            return []
        for file in names:
            draft_id = record_id_of_file(file)
            if draft_id is None or not _ID.match(draft_id):
                continue
            try:
                out.append(self._summary(self.get(draft_id)))
            except DraftNotFound:
                continue
        return sorted(out, key=lambda s: (s.created_at, s.id))

    @staticmethod
    def _summary(draft: Draft) -> DraftSummary:
        return DraftSummary(
            draft.id,
            draft.name,
            draft.base_version,
            len(draft.added),
            len(draft.removed),
            draft.created_at,
            draft.updated_at,
        )

    # -- operations ---------------------------------------------------------------------------
    def new(self, ref: str | ArtifactRef) -> Draft:
        """Open a draft based on a live version (``NAME`` alone means ``latest``); a draft of a
        registry link is one of its source, committed to the source's collection (as W&B)."""
        from artctl.repository.links import source_version

        record = source_version(self.repo, ref)
        now = utcnow()
        while True:
            draft = Draft(
                new_draft_id(),
                record.name,
                record.type,
                record.version,
                record.manifest,
                now,
                now,
                description=record.description,
                metadata=dict(record.metadata),
                ttl_seconds=record.ttl_seconds,
            )
            if not self.path(draft.id).exists():
                break
        with writing(
            self.repository.locks_dir, tmp_dir=self.repository.tmp_dir
        ):  # the base must not vanish before the draft exists
            self.repo.resolve(f"{record.name}:{record.version}")
            self._save(draft)
        return draft

    def base_manifest(self, draft: Draft) -> Manifest:
        return self.repository.read_manifest(draft.base_manifest)

    def manifest(self, draft: Draft, base: Manifest | None = None) -> Manifest:
        """The manifest the draft would commit: base minus removed plus added."""
        base = base if base is not None else self.base_manifest(draft)
        entries = {p: e for p, e in base.entries.items() if p not in draft.removed}
        entries.update(draft.added)
        return Manifest(entries)

    def add(
        self,
        draft_id: str,
        local: str | os.PathLike[str],
        name: str | None = None,
        progress: Progress | None = None,
    ) -> DraftChange:
        """Store a file or directory's files and add them (replacing same paths) to the draft."""
        self.get(draft_id)  # fail fast on an unknown id, before reading any file
        if name is not None:
            validate_path(name.rstrip("/"))  # "/abs" is refused, not quietly made relative
        from artctl.ops.gc import discard_on_failure

        with (
            discard_on_failure(self.repo),
            writing(self.repository.locks_dir, tmp_dir=self.repository.tmp_dir),
        ):
            files = collect([(local, name)])
            if not files:
                raise InvalidInput(f"{local} contains no files")
            entries = store_files(self.repo, files, progress)
            crash_point(ADD_AFTER_OBJECTS)
            with self._lock(draft_id):
                draft = self.get(draft_id)
                added = dict(draft.added)
                added.update((e.path, e) for e in entries)
                removed = draft.removed - {e.path for e in entries}
                draft = _evolve(draft, added=added, removed=removed)
                self.manifest(draft).check_collisions()
                self._save(draft)
        return DraftChange(draft_id, added=[e.path for e in entries])

    def remove(self, draft_id: str, path: str) -> DraftChange:
        """Remove a path, or everything under a directory prefix (``dir/`` or ``dir``)."""
        key = path.rstrip("/")
        validate_path(key)
        with self._lock(draft_id):
            draft = self.get(draft_id)
            current = self.manifest(draft)
            gone = current.remove_prefix(key)
            if not gone:
                raise InvalidInput(
                    f"{path!r} is not in draft {draft_id}",
                    hint=f"see its files with `artctl draft ls {draft_id}`",
                )
            base = self.base_manifest(draft)
            added = {p: e for p, e in draft.added.items() if p not in gone}
            removed = draft.removed | {p for p in gone if p in base.entries}
            self._save(_evolve(draft, added=added, removed=removed))
        return DraftChange(draft_id, removed=sorted(gone))

    def show(self, draft_id: str) -> DraftView:
        draft = self.get(draft_id)
        base = self.base_manifest(draft)
        files = []
        for entry in self.manifest(draft, base):
            if entry.path not in draft.added:
                status = "base"
            elif entry.path in base.entries and base.entries[entry.path].to_json() == entry.to_json():
                status = "base"
            else:
                status = "changed" if entry.path in base.entries else "added"
            files.append(DraftFile(entry.path, entry.size, entry.digest, status, entry.ref))
        return DraftView(self._summary(draft), files, sorted(draft.removed))

    def commit(
        self,
        draft_id: str,
        *,
        aliases: Sequence[str] = (),
        run_id: str | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> PutResult:
        """Commit the draft as the artifact's next version (or the identical existing one)."""
        from artctl.format.names import requested_aliases

        requested_aliases(aliases)  # refused before any work; `latest` is a no-op
        with writing(self.repository.locks_dir, tmp_dir=self.repository.tmp_dir), self._lock(draft_id):
            draft = self.get(draft_id)
            manifest = self.manifest(draft)
            if not len(manifest):
                raise InvalidInput(f"draft {draft_id} has no files left; add some or discard it")
            fields = VersionFields(
                aliases=aliases,
                description=description if description is not None else draft.description,
                metadata=metadata if metadata is not None else draft.metadata,
                ttl=_ttl(draft.ttl_seconds),
                run_id=run_id,
            )
            result = commit_manifest(
                self.repo, parse_name(draft.name), draft.type, manifest, fields, base=draft.base_manifest
            )
            crash_point(COMMIT_AFTER_VERSION)
            self.path(draft_id).unlink()
        return result

    def discard(self, draft_id: str) -> Draft:
        with self._lock(draft_id):
            draft = self.get(draft_id)
            self.path(draft_id).unlink()
        return draft


def _evolve(draft: Draft, *, added: dict[str, Entry], removed: Iterable[str]) -> Draft:
    from dataclasses import replace

    return replace(draft, added=added, removed=frozenset(removed), updated_at=utcnow())


def _ttl(seconds: int | None):
    from datetime import timedelta

    return None if seconds is None else timedelta(seconds=seconds)
