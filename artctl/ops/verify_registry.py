"""``artifact verify`` for the registry files of repository format 2 (docs/format.md).

Readers only ever open the newest alias snapshot and a version's newest edit, so a damaged
older file, an edit of a version that does not exist, or a tombstone that names another
manifest than its version would go unnoticed until a merge or ``alias log`` trips on it. Each
such file is one problem line here, naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from artctl.errors import ArtctlError
from artctl.format.layout import edits_key, parse_key
from artctl.format.names import ArtifactName
from artctl.format.records import VersionRecord, loads
from artctl.format.snapshots import (
    parse_alias_snapshot,
    parse_edit_snapshot,
    parse_purge_marker,
    parse_tombstone,
)

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

Problem = dict[str, str]


def _files(directory: Path) -> list[Path]:
    try:
        return [directory / f for f in sorted(os.listdir(directory)) if not f.startswith(".")]
    except (FileNotFoundError, NotADirectoryError):
        return []


def _record(repo: Repository, name: ArtifactName, index: int) -> VersionRecord | None:
    """The immutable record of a version (not folded: the files below are checked against it)."""
    path = repo.layout.version(name, index)
    try:
        return VersionRecord.from_json(loads(path.read_bytes(), str(path)), str(path))
    except (FileNotFoundError, ArtctlError):
        return None  # absent, or damaged: the record itself is reported by verify


def registry_problems(repo: Repository, name: ArtifactName) -> tuple[list[Problem], set[int]]:
    """Problems of an artifact's snapshot, tombstone and marker files; and the versions they
    concern (so that verify does not report the same file again when it reads the version)."""
    problems: list[Problem] = []
    flagged: set[int] = set()
    layout = repo.layout

    def report(path: Path, version: str, problem: str, index: int | None = None) -> None:
        problems.append({"version": version, "path": layout.key(path), "problem": problem})
        if index is not None:
            flagged.add(index)

    def check(path: Path, label: str, index: int | None, parse: Callable[[bytes], object]) -> None:
        try:
            parse(path.read_bytes())
        except FileNotFoundError:
            return
        except ArtctlError as exc:
            report(path, label, str(exc), index)

    directory = layout.artifact_dir(name)
    for path in _files(directory / "aliases"):
        found = layout.what(path)
        if found is not None and found.kind == "alias-snapshot" and found.index is not None:
            check(path, str(name), None, partial(parse_alias_snapshot, seq=found.index, where=str(path)))
    candidates = [*_files(layout.versions_dir(name))]
    for edits in _files(layout.path(edits_key(name, 0)).parent):
        candidates.extend(_files(edits))
    for path in candidates:
        found = parse_key(layout.key(path))
        if found is None or found.index is None or found.kind == "version":
            continue
        index, label = found.index, f"{name}:v{found.index}"
        record = _record(repo, name, index)
        if record is None:
            if layout.version(name, index).exists():
                continue  # the record is damaged: verify reports it
            report(path, label, f"{layout.key(path)} changes {label}, which does not exist", index)
        elif found.kind == "edit-snapshot" and found.seq is not None:
            edit = partial(parse_edit_snapshot, record=record, seq=found.seq, where=str(path))
            check(path, label, index, edit)
        elif found.kind == "purge-marker":
            check(path, label, index, partial(parse_purge_marker, record=record, where=str(path)))
        elif found.kind == "tombstone":
            _check_tombstone(path, record, label, report)
    return problems, flagged


def _check_tombstone(
    path: Path, record: VersionRecord, label: str, report: Callable[[Path, str, str, int | None], None]
) -> None:
    try:
        tombstone = parse_tombstone(path.read_bytes(), record, str(path))
    except FileNotFoundError:
        return
    except ArtctlError as exc:
        report(path, label, str(exc), record.index)
        return
    if tombstone.manifest is not None and tombstone.manifest != record.manifest:
        report(
            path,
            label,
            f"{path} deletes manifest {tombstone.manifest[:12]}, but {label} is "
            f"{record.manifest[:12]} (tampered or corrupt)",
            record.index,
        )
