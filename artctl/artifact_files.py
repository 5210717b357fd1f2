"""A saved artifact's files on local disk: one file (``ArtifactPath``), ``verify`` and ``checkout``.

``checkout(root)`` is W&B's "replace root with the artifact": the version is materialized and
every other file under ``root`` is removed, so the directory then holds exactly the version.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ContentMismatch
from .manifest import Entry

if TYPE_CHECKING:
    from .artifact_api import Artifact


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
        artifact = self._artifact
        result = artifact._repo().get(artifact._ref(), root=root or artifact._default_root(),
                                      path_prefix=self.entry.path)
        return str(result.root / self.entry.path)

    def __repr__(self) -> str:
        return f"<ArtifactPath {self.entry.path}>"


def verify_root(base: Path, entries: Iterable[Entry], label: str) -> None:
    """Raise ``ContentMismatch`` unless ``base`` holds exactly the stored files of ``entries``.

    Reference entries are not checked (their bytes live elsewhere), nor flagged as extra.
    """
    from .hashing import hash_file

    entries = list(entries)
    expected = {e.path: e for e in entries if e.ref is None}
    refs = {e.path for e in entries if e.ref is not None}
    found = set(_files_under(base)) if base.is_dir() else set()
    problems = [f"missing {p}" for p in sorted(set(expected) - found)]
    problems += [f"unexpected {p}" for p in sorted(found - set(expected) - refs)]
    problems += [f"changed {p}" for p in sorted(set(expected) & found)
                 if hash_file(base / p) != expected[p].digest]
    if problems:
        raise ContentMismatch(f"{base} does not match {label}: " + "; ".join(problems[:5])
                              + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))


def _files_under(base: Path) -> list[str]:
    """Relative paths of every file (and symlink) under ``base``, never following symlinks."""
    out = []
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
    for dirpath, dirnames, filenames in sorted(os.walk(base), key=lambda t: -len(t[0])):
        if Path(dirpath) != base and not os.listdir(dirpath):
            os.rmdir(dirpath)
    return removed
