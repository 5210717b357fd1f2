"""A saved artifact's files: one file (``ArtifactPath``), ``download``, ``verify`` and ``checkout``.

``checkout(root)`` is W&B's "replace root with the artifact": the version is materialized and
every other file under ``root`` is removed, so the directory then holds exactly the version.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artctl.errors import ArtifactNotFound, ContentMismatch, InvalidInput
from artctl.format.manifest import Entry, Manifest
from artctl.format.records import VersionRecord

if TYPE_CHECKING:
    from artctl.api.repo import Repo


class ArtifactPath:
    """One file of a saved artifact (``artifact.get_path(name)``)."""

    def __init__(self, artifact: LocalFiles, entry: Entry) -> None:
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
        artifact = self._artifact
        result = artifact._repo().get(
            artifact._ref(), root=root or artifact._default_root(), path_prefix=self.entry.path
        )
        return str(result.root / self.entry.path)

    def __repr__(self) -> str:
        return f"<ArtifactPath {self.entry.path}>"


def verify_root(base: Path, entries: Iterable[Entry], label: str) -> None:
    """Raise ``ContentMismatch`` unless ``base`` holds exactly the stored files of ``entries``.

    Reference entries are not checked (their bytes live elsewhere), nor flagged as extra.
    """
    from artctl.base.hashing import hash_file

    entries = list(entries)
    expected = {e.path: e for e in entries if e.ref is None}
    refs = {e.path for e in entries if e.ref is not None}
    found = set(_files_under(base)) if base.is_dir() else set()
    problems = [f"missing {p}" for p in sorted(set(expected) - found)]
    problems += [f"unexpected {p}" for p in sorted(found - set(expected) - refs)]
    problems += [
        f"changed {p}" for p in sorted(set(expected) & found) if hash_file(base / p) != expected[p].digest
    ]
    if problems:
        raise ContentMismatch(
            f"{base} does not match {label}: "
            + "; ".join(problems[:5])
            + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
        )


def _files_under(base: Path) -> list[str]:
    """Relative paths of every file (and symlink) under ``base``, never following symlinks."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(base):
        here = Path(dirpath)
        out.extend((here / n).relative_to(base).as_posix() for n in filenames)
        out.extend((here / n).relative_to(base).as_posix() for n in dirnames if (here / n).is_symlink())
    return out


def remove_extras(base: Path, keep: set[str]) -> list[str]:
    """Delete every file under ``base`` not in ``keep``, then the directories left empty.

    Symlinks are removed, never followed, so nothing outside ``base`` is touched.
    """
    removed = []
    for relative in sorted(_files_under(base)):
        if relative not in keep:
            (base / relative).unlink()
            removed.append(relative)
    for dirpath, _, _ in sorted(os.walk(base), key=lambda t: -len(t[0])):
        if Path(dirpath) != base and not os.listdir(dirpath):
            os.rmdir(dirpath)
    return removed


class LocalFiles:
    """The files half of a saved ``Artifact``: listing, downloading, checking out, verifying.

    Mixed into :class:`artctl.Artifact`, which provides ``_repo()``, ``_saved()``, ``_ref()``,
    ``_default_root()`` and ``_use_run``.
    """

    if TYPE_CHECKING:
        _use_run: str | None

        def _repo(self) -> Repo: ...
        def _ref(self) -> str: ...
        def _saved(self) -> VersionRecord: ...
        def _default_root(self) -> Path: ...

    def manifest(self) -> Manifest:
        return self._repo().manifest(self._saved())

    def files(self) -> list[ArtifactPath]:
        return [ArtifactPath(self, e) for e in self.manifest()]

    def get_path(self, name: str) -> ArtifactPath:
        """One file of a saved artifact, e.g. ``art.get_path("images/a.png").download()``."""
        entry = self.manifest().entries.get(name)
        if entry is None:
            raise ArtifactNotFound(f"{self._ref()} has no file {name!r}")
        return ArtifactPath(self, entry)

    get_entry = get_path

    def open(self, path: str, mode: str = "rb") -> Any:
        """One file of a saved version as a seekable read-only file, read where its bytes are
        (local store, else a remote, with ranged requests): the ``artctl://`` filesystem."""
        from artctl.api.filesystem import ArtctlFileSystem, read_only

        record = self._saved()
        if mode not in ("rb", "r"):
            raise read_only(f"{record.name}:{record.version}/{path}")
        fs = ArtctlFileSystem(repo=str(self._repo().root))
        return fs.open(f"{record.name}:{record.version}/{path.lstrip('/')}", mode)

    def download(
        self,
        root: str | os.PathLike[str] | None = None,
        allow_missing_references: bool = False,
        skip_cache: bool | None = None,
        path_prefix: str | None = None,
        multipart: bool | None = None,
        *,
        link: str | None = None,
    ) -> str:
        """Materialize the files; return the root directory (W&B's signature; ``multipart``
        is accepted and has no effect: there is no upload service to split requests for).

        ``skip_cache=True`` writes independent copies (never links into the store);
        ``allow_missing_references=True`` skips references whose data is gone or changed.
        """
        if skip_cache:
            link = "copy"
        result = self._repo().get(
            self._ref(),
            root=root,
            path_prefix=path_prefix,
            link=link,
            run_id=self._use_run,
            allow_missing_references=allow_missing_references,
        )
        return str(result.root)

    def file(self, root: str | os.PathLike[str] | None = None) -> str:
        """W&B's ``artifact.file()``: download a version of one file and return that file's
        path (``model_path = run.use_artifact("cnn:latest").file()``)."""
        entries = list(self.manifest())
        if len(entries) != 1:
            raise InvalidInput(
                f"{self._ref()} holds {len(entries)} files, not one",
                hint="use artifact.download(), or artifact.get_path(NAME).download() for one of them",
            )
        return str(Path(self.download(root=root)) / entries[0].path)

    def checkout(self, root: str | os.PathLike[str] | None = None) -> str:
        """Make ``root`` hold exactly this version: every other file is deleted, then it is downloaded.

        Deleting first also clears a file that stands where the version has a directory (and
        the reverse); files the version has are replaced atomically by the download.
        """
        target = Path(root) if root is not None else self._default_root()
        if target.is_dir():
            remove_extras(target, {e.path for e in self.manifest()})
        return self.download(root=target)

    def verify(self, root: str | os.PathLike[str] | None = None) -> None:
        """Check that ``root`` (default: :meth:`download`'s) holds exactly this version's files.

        W&B's ``artifact.verify``: a missing, extra or different file raises ``ValueError``.
        """
        base = Path(root) if root is not None else self._default_root()
        verify_root(base, self.manifest(), self._ref())
