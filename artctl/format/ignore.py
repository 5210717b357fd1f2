"""``.artctlignore``: paths a directory's owner keeps out of its versions (gitignore syntax).

The file sits in the root of a directory being put (or compared with ``status``/``diff``) and
uses git's rules exactly, through the ``pathspec`` library (``GitIgnoreSpec``): ``*.tmp``,
``build/``, ``/top-only``, ``**/cache``, ``!keep.tmp``. An ignored directory is not descended
into (as in git, a file inside it cannot be re-included). The ignore file itself is never stored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from artctl.errors import InvalidInput

if TYPE_CHECKING:
    import pathspec

IGNORE_FILE = ".artctlignore"
#: A repository inside a directory being scanned is never part of a version (nor of a status).
REPOSITORY_DIR = ".artifacts"
#: Names a scan must show to :class:`Ignore` even when there is no ignore file.
SPECIAL_NAMES = frozenset({IGNORE_FILE, REPOSITORY_DIR})


@dataclass(frozen=True)
class Ignore:
    """The ignore rules of one directory root; paths are relative to it, ``/``-separated."""

    spec: pathspec.GitIgnoreSpec | None  # None when the root has no ignore file

    def file(self, relative: str) -> bool:
        """True if the file at ``relative`` stays out (the ignore file itself always does)."""
        if relative == IGNORE_FILE:
            return True
        return self.spec is not None and self.spec.match_file(relative)

    def directory(self, relative: str, local: str) -> bool:
        """True if the directory at ``relative`` (``local`` on disk) is skipped whole: ``build/``
        matches it, or it is an artctl repository."""
        if relative.rpartition("/")[2] == REPOSITORY_DIR and os.path.isfile(os.path.join(local, "FORMAT")):
            return True
        return self.spec is not None and self.spec.match_file(relative + "/")

    def covers(self, relative: str) -> bool:
        """True if a scan leaves ``relative`` out: the file, or a directory above it, matches
        (the rules alone: for a path that may not exist, such as a version's)."""
        parts = relative.split("/")
        above = ("/".join(parts[:i]) + "/" for i in range(1, len(parts)))
        return self.file(relative) or (self.spec is not None and any(map(self.spec.match_file, above)))


NOTHING = Ignore(None)


def load(root: str | os.PathLike[str]) -> Ignore:
    """The rules of ``root/.artctlignore``, or :data:`NOTHING` when there is no such file."""
    path = os.path.join(os.fspath(root), IGNORE_FILE)
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        return Ignore(None)
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    import pathspec

    try:
        return Ignore(pathspec.GitIgnoreSpec.from_lines(lines))
    except (ValueError, TypeError) as exc:  # pathspec's GitWildMatchPatternError is a ValueError
        raise InvalidInput(f"{path}: {exc}", hint="it uses .gitignore syntax") from None
