"""W&B-style artifacts: ``artctl.Artifact`` and the files of a saved one (``ArtifactPath``).

An ``Artifact`` is either *staged* (built in memory, not yet saved) or *saved* (bound to one
version of the repository). Staged files are read only when the artifact is logged.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ArtctlError, ContentMismatch, InvalidInput, RunError
from .manifest import Entry, Manifest, validate_path
from .names import LATEST, parse_name, parse_ref, validate_type
from .records import VersionRecord
from .repository_ops import PutResult, Repo

if TYPE_CHECKING:
    from .run_api import Run


class ArtifactPath:
    """One file of a saved artifact (``artifact.get_path(name)``)."""

    def __init__(self, artifact: "Artifact", entry: Entry) -> None:
        self._artifact = artifact
        self.entry = entry

    @property
    def path(self) -> str:
        return self.entry.path

    @property
    def ref(self) -> str | None:
        """The external URI of a reference entry (None for stored files)."""
        return self.entry.ref

    @property
    def digest(self) -> str | None:
        return self.entry.digest

    @property
    def size(self) -> int:
        return self.entry.size

    def download(self, root: str | os.PathLike[str] | None = None) -> str:
        """Write this one file under ``root``; return its local path."""
        result = self._artifact._repo().get(self._artifact._ref(), root=root or self._artifact._default_root(),
                                            path_prefix=self.entry.path)
        return str(result.root / self.entry.path)

    def __repr__(self) -> str:
        return f"<ArtifactPath {self.entry.path}>"


class Artifact:
    """A versioned set of files, like ``wandb.Artifact``."""

    def __init__(self, name: str, type: str, description: str | None = None,
                 metadata: dict[str, Any] | None = None, *, ttl: timedelta | None = None,
                 incremental: bool = False) -> None:
        if ":" in name:
            raise InvalidInput(f"artifact name {name!r} must not contain an alias; pass aliases when logging")
        validate_type(type)
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidInput("metadata must be a dict")
        self.name = name
        self.type = type
        self.description = description
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.ttl = ttl
        self.incremental = incremental
        self._sources: list[tuple[str, str | None]] = []
        self._removed: list[str] = []
        self._tmpdir: str | None = None
        self._record: VersionRecord | None = None
        self._repository: Repo | None = None
        self._saved_aliases: list[str] = []
        self.aliases: list[str] = []
        self._base: VersionRecord | None = None

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def _from_record(cls, repo: Repo, record: VersionRecord) -> "Artifact":
        art = cls.__new__(cls)
        art.name = record.name
        art.type = record.type
        art.description = record.description
        art.metadata = dict(record.metadata)
        art.ttl = record.ttl
        art.incremental = False
        art._sources, art._removed, art._tmpdir, art._base = [], [], None, None
        art._bind(repo, record)
        return art

    def _bind(self, repo: Repo, record: VersionRecord) -> None:
        self._repository = repo
        self._record = record
        self.name = record.name
        self._saved_aliases = repo.registry.aliases_of(record)
        self.aliases = list(self._saved_aliases)

    @property
    def is_saved(self) -> bool:
        return self._record is not None

    def _saved(self) -> VersionRecord:
        if self._record is None:
            raise ArtctlError(f"artifact {self.name} is not saved yet; log it with run.log_artifact() "
                              "or artifact.save() first")
        return self._record

    def _repo(self) -> Repo:
        if self._repository is None:
            self._repository = Repo()
        return self._repository

    def _ref(self) -> str:
        record = self._saved()
        return f"{record.name}:{record.version}"

    def _default_root(self) -> Path:
        return self._repo().default_root(self._saved())

    # -- staging (before save) ------------------------------------------------------------------
    def _staging(self) -> None:
        if self._record is not None:
            raise ArtctlError(f"{self._ref()} is committed and immutable; "
                              "use artifact.new_draft() to make a new version from it")

    def add_file(self, local_path: str | os.PathLike[str], name: str | None = None,
                 *, overwrite: bool = True) -> "Artifact":
        """Stage one file, stored as ``name`` (default: its base name)."""
        self._staging()
        path = Path(local_path)
        if path.is_dir():
            raise InvalidInput(f"{local_path} is a directory", hint="use add_dir() for a directory")
        if not path.is_file():
            raise InvalidInput(f"no such file: {local_path}")
        logical = validate_path(name if name is not None else path.name)
        self._sources.append((str(path), logical))
        return self

    def add_dir(self, local_path: str | os.PathLike[str], name: str | None = None) -> "Artifact":
        """Stage every file under a directory, under the prefix ``name`` (default: top level)."""
        self._staging()
        path = Path(local_path)
        if path.is_file():
            raise InvalidInput(f"{local_path} is a file, not a directory", hint="use add_file() for a file")
        if not path.is_dir():
            raise InvalidInput(f"no such directory: {local_path}")
        if name:
            validate_path(name.strip("/"))
        self._sources.append((str(path), name.strip("/") if name else None))
        return self

    @contextlib.contextmanager
    def new_file(self, name: str, mode: str = "w", encoding: str | None = None) -> Iterator[Any]:
        """Write a new file straight into the artifact: ``with art.new_file("a.txt") as f: …``."""
        self._staging()
        validate_path(name)
        if self._tmpdir is None:
            self._tmpdir = tempfile.mkdtemp(prefix="artctl-new-file-")
        local = Path(self._tmpdir) / name
        local.parent.mkdir(parents=True, exist_ok=True)
        with open(local, mode, encoding=encoding if "b" not in mode else None) as fh:
            yield fh
        self._sources.append((str(local), name))

    def add_reference(self, uri: str, name: str | None = None, checksum: bool = True,
                      max_objects: int | None = None) -> "Artifact":
        """Track data that stays in external storage (S3, GCS, Azure, HTTP, file://)."""
        self._staging()
        from . import references

        references.validate_uri(uri)
        self._sources.append((f"ref::{uri}", name))
        self._reference_options = getattr(self, "_reference_options", {})
        self._reference_options[uri] = {"checksum": checksum, "max_objects": max_objects}
        return self

    def remove(self, path: str) -> "Artifact":
        """Remove a staged path (or a directory prefix ending in ``/``) from the artifact."""
        self._staging()
        self._removed.append(path)
        # Where the removal falls among the adds: it applies to what was added before it (and to
        # a draft's base), not to files added after it.
        marks = getattr(self, "_removed_at", None)
        if marks is None:
            marks = self._removed_at = []
        marks.append(len(self._sources))
        return self

    def _build_manifest(self, repo: Repo, progress=None) -> Manifest:  # type: ignore[no-untyped-def]
        """Base manifest (for a draft) + staged adds and removals, applied in call order.

        Only the staged files are read and hashed; a draft's base contributes its manifest.
        """
        manifest = repo.manifest(self._base) if self._base is not None else Manifest()
        groups = [repo.collect([(p, n)]) if not p.startswith("ref::") else []
                  for p, n in self._sources]
        stored: dict[str, Entry] = {}
        files = [f for group in groups for f in group]
        if files:
            stored = {e.path: e for e in repo.store_files(files, progress)}
        marks = list(getattr(self, "_removed_at", None) or [0] * len(self._removed))
        marks += [len(self._sources)] * (len(self._removed) - len(marks))

        def removals_at(position: int) -> None:
            for path, mark in zip(self._removed, marks):
                if mark == position and not manifest.remove_prefix(path):
                    raise InvalidInput(f"{path!r} is not in artifact {self.name}")

        options = getattr(self, "_reference_options", {})
        for position, ((source, name), group) in enumerate(zip(self._sources, groups)):
            removals_at(position)
            if source.startswith("ref::"):
                from . import references

                uri = source[5:]
                for entry in references.entries_for(uri, name, **options.get(uri, {})):
                    manifest.add(entry)
            for f in group:
                manifest.add(stored[f.path])
        removals_at(len(self._sources))
        if not len(manifest):
            raise InvalidInput(f"artifact {self.name} has no files; add some with add_file/add_dir")
        return manifest

    def _commit(self, repo: Repo, *, project: str | None, aliases: Sequence[str] = (),
                run_id: str | None = None) -> PutResult:
        from .repository_ops import check_metadata

        name = parse_name(self.name, project)
        check_metadata(self.metadata)  # before any file is read or stored
        from .repository_ops import check_type

        check_type(repo, name, self.type)
        from .cache import shared_use
        from .writeguard import writing

        # gc deletes nothing, and cache cleanup evicts nothing, until the version exists.
        with shared_use(repo.repository.locks_dir), writing(repo.repository.locks_dir):
            if self.incremental and self._base is None:
                self._base = repo.registry.latest(name)  # W&B's incremental: build on latest
            manifest = self._build_manifest(repo)
            custom = [a for a in [*self.aliases, *aliases] if a != LATEST and not _is_version(a)]
            result = repo.commit_manifest(name, self.type, manifest, aliases=custom,
                                          description=self.description, metadata=self.metadata,
                                          ttl=self.ttl, run_id=run_id,
                                          base=self._base.manifest if self._base is not None else None)
        self._bind(repo, result.record)
        self._cleanup()
        return result

    def _cleanup(self) -> None:
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
        self._sources, self._removed = [], []
        self._removed_at = []

    # -- saved artifacts ---------------------------------------------------------------------------
    @property
    def version(self) -> str:
        return self._saved().version

    @property
    def digest(self) -> str:
        return self._saved().digest

    @property
    def qualified_name(self) -> str:
        return self._ref()

    @property
    def source_name(self) -> str:
        return self._ref()

    @property
    def state(self) -> str:
        return self._saved().state if self._record else "PENDING"

    @property
    def size(self) -> int:
        return self._saved().size

    @property
    def file_count(self) -> int:
        return self._saved().files

    @property
    def created_at(self) -> str:
        return self._saved().created_at

    def manifest(self) -> Manifest:
        return self._repo().manifest(self._saved())

    @property
    def project(self) -> str:
        """The project part of the name (W&B's ``artifact.project``)."""
        return parse_name(self.name).project

    @property
    def entity(self) -> str | None:
        """The entity part of the name, or None (W&B's ``artifact.entity``)."""
        return parse_name(self.name).entity

    def verify(self, root: str | os.PathLike[str] | None = None) -> None:
        """Check that ``root`` (default: :meth:`download`'s) holds exactly this version's files.

        W&B's ``artifact.verify``: every file under ``root`` is hashed and compared with the
        manifest; a missing, extra or different file raises ``ValueError``. Reference entries
        are not checked (their bytes live elsewhere).
        """
        from .hashing import hash_file

        base = Path(root) if root is not None else self._default_root()
        expected = {e.path: e for e in self.manifest() if e.ref is None}
        found: set[str] = set()
        if base.is_dir():
            for path in sorted(base.rglob("*")):
                if path.is_file():
                    found.add(path.relative_to(base).as_posix())
        refs = {e.path for e in self.manifest() if e.ref is not None}
        problems = [f"missing {p}" for p in sorted(set(expected) - found)]
        problems += [f"unexpected {p}" for p in sorted(found - set(expected) - refs)]
        problems += [f"changed {p}" for p in sorted(set(expected) & found)
                     if hash_file(base / p) != expected[p].digest]
        if problems:
            raise ContentMismatch(f"{base} does not match {self._ref()}: " + "; ".join(problems[:5])
                                 + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))

    def files(self) -> list[ArtifactPath]:
        return [ArtifactPath(self, e) for e in self.manifest()]

    def get_path(self, name: str) -> ArtifactPath:
        """One file of a saved artifact, e.g. ``art.get_path("images/a.png").download()``."""
        entry = self.manifest().entries.get(name)
        if entry is None:
            from .errors import ArtifactNotFound

            raise ArtifactNotFound(f"{self._ref()} has no file {name!r}")
        return ArtifactPath(self, entry)

    get_entry = get_path

    def download(self, root: str | os.PathLike[str] | None = None, path_prefix: str | None = None,
                 *, link: str | None = None) -> str:
        """Materialize the files; return the root directory."""
        run_id = getattr(self, "_use_run", None)
        result = self._repo().get(self._ref(), root=root, path_prefix=path_prefix, link=link,
                                  run_id=run_id)
        return str(result.root)

    def save(self, *, project: str | None = None) -> "Artifact":
        """Persist a staged artifact as a version, or a saved one's edited fields and aliases."""
        if self._record is None:
            self._commit(self._repo(), project=project or os.environ.get("ARTCTL_PROJECT"))
            return self
        repo = self._repo()
        ref = parse_ref(self._ref())
        ttl: Any = self.ttl if self.ttl != self._record.ttl else ...
        repo.update(ref, description=self.description, metadata=dict(self.metadata), ttl=ttl)
        wanted = {a for a in self.aliases if a != LATEST and not _is_version(a)}
        held = {a for a in self._saved_aliases if a != LATEST and not _is_version(a)}
        for alias in sorted(held - wanted):
            repo.registry.remove_alias(ref.name, alias)
        for alias in sorted(wanted - held):
            repo.registry.set_alias(ref, alias)
        record = repo.resolve(ref)
        self._bind(repo, record)
        return self

    # -- lineage ----------------------------------------------------------------------------------
    def logged_by(self) -> "Run | None":
        """The run that logged this version (None if it was put outside any run)."""
        from . import lineage

        repo = self._repo()
        run_id = lineage.logged_by(repo, self._saved())
        if run_id is None:
            return None
        try:
            record = repo.repository.runs.get(run_id)
        except RunError:
            return None
        from .run_api import Run

        return Run(repo, record.id, record.project)

    def used_by(self) -> "list[Run]":
        """The runs that used this version as an input, oldest first."""
        from . import lineage
        from .run_api import Run

        repo = self._repo()
        return [Run(repo, run_id, repo.repository.runs.get(run_id).project)
                for run_id in lineage.used_by(repo, self._saved())]

    def lineage(self, direction: str = "both", depth: int | None = None):  # type: ignore[no-untyped-def]
        """The lineage graph around this version (``.nodes``, ``.edges``, ``.to_json()``)."""
        from . import lineage

        return lineage.lineage(self._repo(), self._ref(), direction=direction, depth=depth)

    def new_draft(self) -> "Artifact":
        """A staged artifact based on this saved version: add/remove files, then save or log it.

        Only the files you add are read; the base contributes its manifest. (For a draft that
        outlives the process, use ``artctl draft`` / :class:`artctl.drafts.Drafts`.)
        """
        record = self._saved()
        draft = Artifact(record.name, record.type, record.description, dict(record.metadata),
                         ttl=record.ttl)
        draft._repository = self._repo()
        draft._base = record
        return draft

    def delete(self, delete_aliases: bool = False) -> None:
        """Soft-delete this version (its bytes go at the next ``artctl gc``).

        Refused while it holds custom aliases unless ``delete_aliases=True``.
        """
        from .lifecycle import delete_version

        record = self._saved()
        repo = self._repo()
        delete_version(repo, f"{record.name}:{record.version}", delete_aliases=delete_aliases)
        self._record = repo.resolve(f"{record.name}:{record.version}", include_deleted=True)
        self._saved_aliases = self.aliases = [record.version]

    def __repr__(self) -> str:
        if self._record is None:
            return f"<Artifact {self.name} ({self.type}, unsaved)>"
        return f"<Artifact {self._ref()} ({self.type})>"


def _is_version(alias: str) -> bool:
    from .names import version_index

    return version_index(alias) is not None
