"""The files of one artifact's registry in repository format 2, read and created locally.

A version record ``versions/vN.json`` is created once; what happens to the version afterwards
is one more file created exclusively (``artctl.format.snapshots``): an edit snapshot, a
tombstone, a purge marker; the custom-alias table is the newest numbered alias snapshot. Readers
fold them (:func:`artctl.format.snapshots.fold`). Every directory is listed once per read, so
listing an artifact of many versions costs one ``listdir`` of ``versions/`` and one of
``edits/`` more than format 1 did.

Format 1 reads as before: an ``aliases.json`` beside no alias snapshot is the table, and a
record's own ``state``/``deleted_at``/``purged_at`` are kept by the fold.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from artctl.base.fsutil import create_exclusive
from artctl.errors import RepositoryFormatError
from artctl.format.layout import (
    alias_snapshot_key,
    alias_snapshots_key,
    aliases_key,
    artifact_key,
    edit_snapshot_key,
    edits_key,
    parse_key,
    purge_marker_key,
    tombstone_key,
    version_key,
    versions_key,
)
from artctl.format.local_layout import Layout
from artctl.format.names import ArtifactName, parse_name, version_index
from artctl.format.records import VersionRecord, dumps, loads
from artctl.format.snapshots import (
    AliasSnapshot,
    EditSnapshot,
    PurgeMarker,
    Tombstone,
    VersionFiles,
    parse_alias_snapshot,
    parse_edit_snapshot,
    parse_purge_marker,
    parse_tombstone,
)


@dataclass(frozen=True)
class Writer:
    """Where and how the registry creates files: the repository's layout, temp dir, fsync."""

    layout: Layout
    tmp_dir: Path
    fsync: bool

    def create(self, key: str, data: bytes) -> bool:
        """Create the file of ``key`` exclusively; False when it exists already."""
        return create_exclusive(self.layout.path(key), data, tmp_dir=self.tmp_dir, fsync=self.fsync)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _listdir(path: Path) -> list[str]:
    try:
        return os.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _seqs(layout: Layout, directory: str, kind: str) -> list[int]:
    """The sequence numbers of the ``<seq>.json`` snapshots in ``directory`` (a key), sorted;
    temps and strays are skipped."""
    found = (parse_key(f"{directory}/{file}") for file in _listdir(layout.path(directory)))
    seqs = (f.seq if kind == "edit-snapshot" else f.index for f in found if f is not None and f.kind == kind)
    return sorted(s for s in seqs if s is not None)


# -- versions -------------------------------------------------------------------------------------
@dataclass
class _Slot:
    """What ``versions/`` holds for one number: the record file, a tombstone, a purge marker."""

    record: bool = False
    tombstone: bool = False
    purge: bool = False


def _slots(layout: Layout, name: ArtifactName) -> dict[int, _Slot]:
    """One ``listdir`` of ``versions/``: every number and its files."""
    slots: dict[int, _Slot] = {}
    prefix = versions_key(name)
    for file in _listdir(layout.path(prefix)):
        found = parse_key(f"{prefix}/{file}")
        if found is None or found.index is None:
            continue
        slot = slots.setdefault(found.index, _Slot())
        if found.kind == "version":
            slot.record = True
        elif found.kind == "tombstone":
            slot.tombstone = True
        elif found.kind == "purge-marker":
            slot.purge = True
    return slots


def edited_versions(layout: Layout, name: ArtifactName) -> set[int]:
    """The numbers that have an ``edits/vN/`` directory (one ``listdir``)."""
    edits_root = f"{artifact_key(name)}/edits"  # holds one edits/vN/ per edited version
    found = (version_index(entry) for entry in _listdir(layout.path(edits_root)))
    return {index for index in found if index is not None}


def _record(layout: Layout, name: ArtifactName, index: int) -> VersionRecord | None:
    path = layout.path(version_key(name, index))
    data = _read(path)
    if data is None:
        return None
    return VersionRecord.from_json(loads(data, str(path)), str(path))


def _files(
    layout: Layout, name: ArtifactName, record: VersionRecord, slot: _Slot, edited: bool
) -> VersionFiles:
    """The record with its newest edit, its tombstone and purge marker (those the slot has)."""
    index = record.index
    files = VersionFiles(record)
    if edited:
        seqs = _seqs(layout, edits_key(name, index), "edit-snapshot")
        if seqs:
            path = layout.path(edit_snapshot_key(name, index, seqs[-1]))
            data = _read(path)
            if data is not None:
                files.edits.append(parse_edit_snapshot(data, record, seqs[-1], str(path)))
    if slot.tombstone:
        path = layout.path(tombstone_key(name, index))
        data = _read(path)
        if data is not None:
            files.tombstone = parse_tombstone(data, record, str(path))
    if slot.purge:
        path = layout.path(purge_marker_key(name, index))
        data = _read(path)
        if data is not None:
            files.purge = parse_purge_marker(data, record, str(path))
    return files


def version_files(layout: Layout, name: ArtifactName, index: int) -> VersionFiles | None:
    """Version ``index`` with the files that changed it; None when it does not exist."""
    record = _record(layout, name, index)
    if record is None:
        return None
    slot = _Slot(
        record=True,
        tombstone=layout.path(tombstone_key(name, index)).exists(),
        purge=layout.path(purge_marker_key(name, index)).exists(),
    )
    return _files(layout, name, record, slot, edited=True)


def all_version_files(layout: Layout, name: ArtifactName) -> list[VersionFiles]:
    """Every version of an artifact with its files, oldest first (each directory listed once)."""
    slots = _slots(layout, name)
    edited = edited_versions(layout, name) if slots else set()
    out = []
    for index in sorted(slots):
        slot = slots[index]
        if not slot.record:
            continue
        record = _record(layout, name, index)
        if record is not None:
            out.append(_files(layout, name, record, slot, index in edited))
    return out


def slot_extras(layout: Layout, name: ArtifactName, index: int) -> list[Path]:
    """The files beside ``vN.json`` that change version ``index``: its edits, tombstone, marker."""
    directory = layout.path(edits_key(name, index))
    found = [directory / f for f in _listdir(directory)]
    for key in (tombstone_key(name, index), purge_marker_key(name, index)):
        if layout.path(key).exists():
            found.append(layout.path(key))
    return found


def extra_slots(layout: Layout, name: ArtifactName) -> set[int]:
    """Numbers that have a tombstone, marker or edits (with or without a record)."""
    found = {i for i, s in _slots(layout, name).items() if s.tombstone or s.purge}
    return found | edited_versions(layout, name)


def write_edit(writer: Writer, files: VersionFiles, edited: VersionRecord, by: str | None) -> None:
    """Create the next edit snapshot of a version (callers hold the artifact's lock)."""
    name = parse_name(edited.name)
    seq = files.edit_seq + 1
    while not writer.create(
        edit_snapshot_key(name, edited.index, seq), dumps(EditSnapshot.of(edited, seq, by=by).to_json())
    ):
        seq += 1  # a writer without the lock got there first: compare-and-swap, next number


def write_tombstone(writer: Writer, record: VersionRecord, by: str | None) -> bool:
    """Create the tombstone of a version; False when it was deleted already."""
    name = parse_name(record.name)
    return writer.create(tombstone_key(name, record.index), dumps(Tombstone.of(record, by=by).to_json()))


def write_purge(writer: Writer, record: VersionRecord, purged_at: str) -> bool:
    """Create the purge marker of a version; False when it was purged already."""
    name = parse_name(record.name)
    marker = PurgeMarker(record.name, record.index, purged_at)
    return writer.create(purge_marker_key(name, record.index), dumps(marker.to_json()))


# -- aliases -------------------------------------------------------------------------------------
def alias_seqs(layout: Layout, name: ArtifactName) -> list[int]:
    return _seqs(layout, alias_snapshots_key(name), "alias-snapshot")


def read_alias_snapshot(layout: Layout, name: ArtifactName, seq: int) -> AliasSnapshot | None:
    path = layout.path(alias_snapshot_key(name, seq))
    data = _read(path)
    return None if data is None else parse_alias_snapshot(data, seq, str(path))


def legacy_aliases(layout: Layout, name: ArtifactName) -> dict[str, str] | None:
    """The ``aliases.json`` table of repository format 1; None when there is none."""
    return legacy_table(layout.path(aliases_key(name)))


def legacy_table(path: Path) -> dict[str, str] | None:
    """The table of one ``aliases.json`` (format 1); None when the file does not exist."""
    data = _read(path)
    if data is None:
        return None
    table = loads(data, str(path)).get("aliases", {})
    if not isinstance(table, dict):
        raise RepositoryFormatError(f"{path} has no 'aliases' table")
    return {k: v for k, v in table.items() if isinstance(v, str)}


def newest_aliases(layout: Layout, name: ArtifactName) -> AliasSnapshot | None:
    """The newest alias snapshot, or format 1's ``aliases.json`` as snapshot -1 (or None)."""
    seqs = alias_seqs(layout, name)
    for seq in reversed(seqs):  # a snapshot removed meanwhile (a merge): the one before
        snapshot = read_alias_snapshot(layout, name, seq)
        if snapshot is not None:
            return snapshot
    legacy = legacy_aliases(layout, name)
    return None if legacy is None else AliasSnapshot(-1, legacy)


def write_aliases(
    writer: Writer, name: ArtifactName, table: dict[str, str], by: str | None, at: str | None = None
) -> bool:
    """Append the snapshot that makes ``table`` the alias table; False when it already is."""
    while True:
        current = newest_aliases(writer.layout, name)
        if (current.aliases if current is not None else {}) == table:
            return False
        snapshot = AliasSnapshot.after(current, table, by=by, at=at)
        if writer.create(alias_snapshot_key(name, snapshot.seq), dumps(snapshot.to_json())):
            return True
