"""Which version a working directory was last made from (``get``, ``checkout``, ``put``).

Recorded in ``state.db`` by the directory's absolute path, so that ``artctl status`` in a
directory needs no REF, as ``git status`` needs no branch. It is a cache like the rest of
``state.db``: when it is lost (or the directory was filled some other way) give REF.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from artctl.errors import ArtctlError, InvalidInput
from artctl.format.names import parse_name
from artctl.format.records import VersionRecord, utcnow

if TYPE_CHECKING:
    from artctl.repository.repo import Repository


def key(directory: str | os.PathLike[str]) -> str:
    """The one spelling of a directory in the table: absolute, symlinks resolved."""
    return str(Path(directory).resolve())


def remember(repo: Repository, directory: str | os.PathLike[str], record: VersionRecord) -> None:
    """``directory`` now holds exactly ``record``."""
    repo.state.remember_workdir(key(directory), record.name, record.version, record.manifest, utcnow())


def recorded(repo: Repository, directory: str | os.PathLike[str]) -> str | None:
    """``name:vN`` last placed in ``directory``, or None. The version is the one recorded (by
    its manifest), under its collection's name now when that was renamed since, and under its
    number now when a push or pull renumbered it; None when its collection was deleted and the
    name reused (its ``vN`` is another version: comparing with it would report nonsense)."""
    row = repo.state.workdir(key(directory))
    if row is None:
        return None
    name, version, manifest = _current_name(repo, row[0]), row[1], row[2]
    try:
        record = repo.resolve(f"{name}:{version}", include_deleted=True)
    except ArtctlError:
        return f"{name}:{version}"  # gone: the caller says so (not found, deleted)
    if record.manifest == manifest:
        return f"{name}:{version}"
    same = [
        r for r in repo.registry.versions(parse_name(name), include_deleted=True) if r.manifest == manifest
    ]
    return f"{name}:{same[-1].version}" if same else None


def _current_name(repo: Repository, name: str) -> str:
    """``name``, or what ``artifact rename`` made of it (a chain of renames is followed)."""
    parsed = parse_name(name)
    if repo.registry.artifact(parsed) is not None:
        return name
    return repo.registry.renamed_to(parsed) or name


def find(repo: Repository, directory: str | os.PathLike[str]) -> tuple[str, Path] | None:
    """``(name:vN, recorded directory)`` for ``directory`` or the nearest recorded directory
    above it (as ``git status`` works from any subdirectory), or None."""
    here = Path(directory).resolve()
    for candidate in (here, *here.parents):
        ref = recorded(repo, candidate)
        if ref is not None:
            return ref, candidate
    return None


def default_ref(repo: Repository, directory: str | os.PathLike[str]) -> tuple[str, Path]:
    """What ``status`` compares when no REF is given: :func:`find`, or a clear error."""
    found = find(repo, directory)
    if found is None:
        raise InvalidInput(
            f"no version is recorded for {directory}: give REF",
            hint="e.g. `artctl status proj/name:latest DIR`; artctl records the "
            "version a directory was got, checked out or put from",
        )
    return found
