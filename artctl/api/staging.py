"""Building the content of a new version: the ``add_*``/``remove`` half of ``artctl.Artifact``.

Staged files are only remembered here (path and name); they are read and hashed when the
artifact is logged, in one pass, and a draft's base contributes its manifest unread.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artctl.errors import ArtctlError, InvalidInput
from artctl.format.manifest import Entry, Manifest, validate_path
from artctl.format.records import VersionRecord

if TYPE_CHECKING:
    from artctl.api.repo import Repo


class Staging:
    """The files staged for a new version (and, for a draft, the version it starts from)."""

    _record: VersionRecord | None

    def _init_staging(self) -> None:
        self._sources: list[tuple[str, str | None]] = []
        self._removed: list[str] = []
        self._removed_at: list[int] = []
        self._reference_options: dict[str, dict[str, Any]] = {}
        self._tmpdir: str | None = None
        self._base: VersionRecord | None = None

    def _staging(self) -> None:
        if self._record is not None:
            raise ArtctlError(
                f"{self._record.name}:{self._record.version} is committed and immutable; "
                "use artifact.new_draft() to make a new version from it"
            )

    def _has_content(self) -> bool:
        """Whether logging could produce a non-empty version (checked before starting a run)."""
        return bool(self._sources) or self._base is not None

    def add_file(
        self, local_path: str | os.PathLike[str], name: str | None = None, *, overwrite: bool = True
    ) -> Staging:
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

    def add_dir(self, local_path: str | os.PathLike[str], name: str | None = None) -> Staging:
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

    def add_reference(
        self, uri: str, name: str | None = None, checksum: bool = True, max_objects: int | None = None
    ) -> Staging:
        """Track data that stays in external storage (S3, GCS, Azure, HTTP, file://)."""
        self._staging()
        from artctl import references

        references.validate_uri(uri)
        self._sources.append((f"ref::{uri}", name))
        self._reference_options[uri] = {"checksum": checksum, "max_objects": max_objects}
        return self

    def remove(self, path: str) -> Staging:
        """Remove a staged path (or a directory prefix ending in ``/``) from the artifact."""
        self._staging()
        self._removed.append(path)
        # Where the removal falls among the adds: it applies to what was added before it (and to
        # a draft's base), not to files added after it.
        self._removed_at.append(len(self._sources))
        return self

    def _build_manifest(self, repo: Repo, progress=None) -> Manifest:
        """Base manifest (for a draft) + staged adds and removals, applied in call order.

        Only the staged files are read and hashed; a draft's base contributes its manifest.
        """
        manifest = repo.manifest(self._base) if self._base is not None else Manifest()
        groups = [repo.collect([(p, n)]) if not p.startswith("ref::") else [] for p, n in self._sources]
        stored: dict[str, Entry] = {}
        files = [f for group in groups for f in group]
        if files:
            stored = {e.path: e for e in repo.store_files(files, progress)}
        label = getattr(self, "_name", "")

        def removals_at(position: int) -> None:
            for path, mark in zip(self._removed, self._removed_at, strict=True):
                if mark == position and not manifest.remove_prefix(path):
                    raise InvalidInput(f"{path!r} is not in artifact {label}")

        for position, ((source, name), group) in enumerate(zip(self._sources, groups, strict=True)):
            removals_at(position)
            if source.startswith("ref::"):
                from artctl import references

                uri = source[5:]
                for entry in references.entries_for(uri, name, **self._reference_options.get(uri, {})):
                    manifest.add(entry)
            for f in group:
                manifest.add(stored[f.path])
        removals_at(len(self._sources))
        if not len(manifest):
            raise InvalidInput(f"artifact {label} has no files; add some with add_file/add_dir")
        return manifest

    def _cleanup(self) -> None:
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
        self._sources, self._removed, self._removed_at = [], [], []
