"""Reading a remote's registry and its FORMAT (docs/remotes.md is the spec; the writes are in
:mod:`artctl.ops.remote.publish`).

A remote holds the repository tree minus local state, in repository format 2 (docs/format.md):
every path is named by :mod:`artctl.format.layout`, every registry record is one of
:mod:`artctl.format.snapshots`. Immutable, content-named files (objects, packs, manifests) are
written with plain PUTs — "missing" means "path absent", and two writers of one name write the
same bytes. Everything that names or changes a version is created with an exclusive create in
one request (S3 ``If-None-Match: *``, GCS ``ifGenerationMatch=0``, Azure ``If-None-Match: *``,
``link(2)`` on a directory); there is no lock file a crashed writer could leave behind.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from artctl.backend.base import Backend
from artctl.base.hashing import is_digest
from artctl.errors import ArtctlError, RemoteError, RepositoryFormatError
from artctl.format.layout import (
    ARTIFACT_RECORD,
    FORMAT_FILE,
    alias_snapshot_key,
    alias_snapshots_key,
    artifact_key,
    edit_snapshot_key,
    parse_key,
)
from artctl.format.names import ArtifactName, parse_name
from artctl.format.records import ArtifactRecord, VersionRecord, loads
from artctl.format.snapshots import (
    AliasSnapshot,
    fold,
    parse_alias_snapshot,
    parse_edit_snapshot,
    parse_purge_marker,
    parse_tombstone,
)
from artctl.repository.repo import REPO_FORMAT, check_format, format_bytes

ALIAS_RETRIES = 50


# -- the FORMAT file ----------------------------------------------------------------------------
def remote_format(data: bytes, where: str) -> int:
    """The format a remote's FORMAT file names (the repository's rules: ``check_format``, one
    owner), refused as a RemoteError: a remote that is not artctl's, or too new."""
    try:
        return check_format(data, where)
    except RepositoryFormatError as exc:
        hint = (
            exc.hint
            if "upgrade" in (exc.hint or "")
            else "check the URL; artctl only uses locations it initialized"
        )
        raise RemoteError(exc.message, hint=hint) from None


def open_remote(backend: Backend, *, create: bool) -> bool:
    """Check that the remote is an artctl remote; initialize an empty one when ``create``.

    Returns True when this call initialized it. A location that holds other files but no
    FORMAT is refused: artctl never writes into somebody else's bucket layout. A writer
    (``create``) brings a format-1 remote to format 2 first: its records are already format 2's
    (version records, alias snapshots, tombstones); only edit snapshots are new, and a reader
    of format 1 would ignore them.
    """
    where = f"remote {backend.url}"
    data = backend.read_or_none(FORMAT_FILE)
    if data is not None:
        if remote_format(data, where) < REPO_FORMAT and create:
            backend.write(FORMAT_FILE, format_bytes())
        return False
    exists = backend.check_location()
    if exists and backend.listdir(""):
        raise RemoteError(
            f"remote {backend.url} is not an artctl remote (it has files but no FORMAT)",
            hint="use an empty bucket/prefix, or fix the URL",
        )
    if not create:
        raise RemoteError(
            f"remote {backend.url} is empty: there is nothing to pull",
            hint="push to it first (`artctl push`)",
        )
    winner = create_or_read(backend, FORMAT_FILE, format_bytes())
    if winner is not None:
        remote_format(winner, where)
        return False
    return True


# -- reading the registry -----------------------------------------------------------------------
@dataclass
class RemoteArtifact:
    """One artifact as the remote has it: versions as readers see them (folded, format 2)."""

    name: ArtifactName
    record: ArtifactRecord
    versions: dict[int, VersionRecord] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    alias_seq: int = -1
    #: The newest alias snapshot (None: there is none, or it is unreadable), for the next CAS.
    alias_snapshot: AliasSnapshot | None = None
    #: Per version number: the newest edit snapshot's seq (absent: never edited), for the CAS.
    edit_seqs: dict[int, int] = field(default_factory=dict)


def parse_version(data: bytes, name: ArtifactName, index: int, where: str) -> VersionRecord:
    """A version record from the remote, checked against the path it was found at."""
    record = VersionRecord.from_json(loads(data, where), where)
    if record.name != str(name) or record.index != index or not is_digest(record.manifest):
        raise RepositoryFormatError(f"{where} does not describe {name}:v{index} (tampered or corrupt)")
    return record


@dataclass
class _Listed:
    """The registry files of one artifact directory, by kind, from one listing."""

    versions: dict[int, str] = field(default_factory=dict)
    tombstones: dict[int, str] = field(default_factory=dict)
    purges: dict[int, str] = field(default_factory=dict)
    edits: dict[int, int] = field(default_factory=dict)  # version -> newest edit seq
    alias_seqs: list[int] = field(default_factory=list)


def _list_registry(files: list[str]) -> dict[str, _Listed]:
    """Artifact directory -> its registry files (only directories with an ``artifact.json``)."""
    dirs: dict[str, _Listed] = {}
    for rel in files:
        head, _, tail = rel.rpartition("/")
        if tail == ARTIFACT_RECORD:
            dirs.setdefault(head, _Listed())
    for rel in files:
        found = parse_key(rel)
        info = dirs.get(found.ident) if found is not None else None
        if found is None or info is None or found.index is None:
            continue
        if found.kind == "version":
            info.versions[found.index] = rel
        elif found.kind == "tombstone":
            info.tombstones[found.index] = rel
        elif found.kind == "purge-marker":
            info.purges[found.index] = rel
        elif found.kind == "edit-snapshot" and found.seq is not None:
            info.edits[found.index] = max(found.seq, info.edits.get(found.index, -1))
        elif found.kind == "alias-snapshot":
            info.alias_seqs.append(found.index)
    return dirs


def _wanted(name: ArtifactName, info: _Listed) -> list[str]:
    """The files a reader of the artifact needs: every record, the newest edit of each version,
    its tombstone and purge marker, the newest alias snapshot."""
    rels = [*info.versions.values(), *info.tombstones.values(), *info.purges.values()]
    rels.extend(edit_snapshot_key(name, index, seq) for index, seq in info.edits.items())
    if info.alias_seqs:
        rels.append(alias_snapshot_key(name, max(info.alias_seqs)))
    return rels


def read_registry(
    backend: Backend,
    names: set[str] | None = None,
    problems: list[str] | None = None,
    *,
    under: str = "registry",
) -> dict[str, RemoteArtifact]:
    """Every artifact (or those in ``names``) with versions and custom aliases, by name.

    ``under`` narrows the one listing to a subtree (one artifact's directory, when a reader
    needs only that artifact: a listing of the whole registry costs a request per thousand keys).
    Each version is folded (:func:`artctl.format.snapshots.fold`) from its record, its newest
    edit snapshot, tombstone and purge marker, exactly as a local repository of format 2 does.

    A damaged record raises RepositoryFormatError naming it — unless ``problems`` is given:
    then it is skipped and described there (one bad record must not make every other artifact
    of the remote unreachable). What is skipped is never guessed at: a damaged artifact record
    hides its artifact, a damaged version record, edit, tombstone or purge marker hides that
    version, a damaged alias table leaves the artifact without custom aliases.
    """
    dirs = _list_registry(backend.find(under))
    records = backend.read_many(f"{d}/{ARTIFACT_RECORD}" for d in dirs)
    out: dict[str, RemoteArtifact] = {}
    wanted_rels: list[str] = []
    for directory, info in dirs.items():
        data = records.get(f"{directory}/{ARTIFACT_RECORD}")
        if data is None:
            continue
        try:
            name, record = _artifact_record(backend, directory, data)
        except ArtctlError as exc:
            _skip(problems, exc, "its artifact is skipped")
            continue
        if names is not None and str(name) not in names:
            continue
        out[str(name)] = RemoteArtifact(name, record, alias_seq=max(info.alias_seqs, default=-1))
        wanted_rels.extend(_wanted(name, info))
    blobs = backend.read_many(wanted_rels)
    for art in out.values():
        info = dirs[artifact_key(art.name)]
        for index in info.versions:
            try:
                folded = _fold_version(backend, art.name, index, info, blobs)
            except ArtctlError as exc:  # never serve a version whose deletion or edit cannot be read
                _skip(problems, exc, f"{art.name}:v{index} is skipped")
                continue
            if folded is not None:
                art.versions[index] = folded
                if index in info.edits:
                    art.edit_seqs[index] = info.edits[index]
        if art.alias_seq >= 0:
            rel = alias_snapshot_key(art.name, art.alias_seq)
            data = blobs.get(rel)
            if data is not None:
                try:
                    art.alias_snapshot = parse_alias_snapshot(data, art.alias_seq, f"{backend.url}/{rel}")
                    art.aliases = dict(art.alias_snapshot.aliases)
                except ArtctlError as exc:
                    _skip(problems, exc, f"custom aliases of {art.name} are skipped")
    return out


def _fold_version(
    backend: Backend, name: ArtifactName, index: int, info: _Listed, blobs: dict[str, bytes | None]
) -> VersionRecord | None:
    """Version ``index`` as readers see it; None when its record vanished since the listing."""
    data = blobs.get(info.versions[index])
    if data is None:
        return None
    record = parse_version(data, name, index, f"{backend.url}/{info.versions[index]}")
    edits = []
    if index in info.edits:
        rel = edit_snapshot_key(name, index, info.edits[index])
        found = blobs.get(rel)
        if found is not None:
            edits.append(parse_edit_snapshot(found, record, info.edits[index], f"{backend.url}/{rel}"))
    tombstone = purge = None
    if index in info.tombstones and (found := blobs.get(info.tombstones[index])) is not None:
        tombstone = parse_tombstone(found, record, f"{backend.url}/{info.tombstones[index]}")
    if index in info.purges and (found := blobs.get(info.purges[index])) is not None:
        purge = parse_purge_marker(found, record, f"{backend.url}/{info.purges[index]}")
    return fold(record, edits, tombstone, purge)


def _artifact_record(backend: Backend, directory: str, data: bytes) -> tuple[ArtifactName, ArtifactRecord]:
    """An ``artifact.json`` and its name, checked against the directory it was found in."""
    record = ArtifactRecord.from_json(
        loads(data, f"{backend.url}/{directory}/artifact.json"), f"{backend.url}/{directory}/artifact.json"
    )
    name = parse_name(record.name)
    if artifact_key(name) != directory:
        raise RepositoryFormatError(
            f"remote record {directory}/artifact.json names {record.name} (tampered or corrupt)"
        )
    return name, record


def _skip(problems: list[str] | None, exc: ArtctlError, consequence: str) -> None:
    """Record a damaged remote record as skipped, or raise when the caller wants strictness."""
    if problems is None:
        raise exc
    problems.append(f"{exc.message}: {consequence}")


def newest_seq(backend: Backend, directory: str, kind: str) -> int:
    """The highest sequence number of the snapshots in ``directory`` (-1: none): the CAS read."""
    seqs = []
    for entry in backend.listdir(directory):
        found = parse_key(f"{directory}/{entry.rsplit('/', 1)[-1]}")
        if found is not None and found.kind == kind:
            seq = found.seq if kind == "edit-snapshot" else found.index
            if seq is not None:
                seqs.append(seq)
    return max(seqs, default=-1)


def read_alias_snapshot(backend: Backend, name: ArtifactName) -> AliasSnapshot | None:
    """The newest alias snapshot of ``name`` on the remote; None when there is none."""
    seq = newest_seq(backend, alias_snapshots_key(name), "alias-snapshot")
    while seq >= 0:
        rel = alias_snapshot_key(name, seq)
        data = backend.read_or_none(rel)
        if data is not None:
            return parse_alias_snapshot(data, seq, f"{backend.url}/{rel}")
        seq -= 1
    return None


def read_aliases(backend: Backend, name: ArtifactName) -> tuple[int, dict[str, str]]:
    """The newest alias snapshot: ``(seq, table)``; ``(-1, {})`` when there is none."""
    snapshot = read_alias_snapshot(backend, name)
    return (snapshot.seq, dict(snapshot.aliases)) if snapshot is not None else (-1, {})


# -- writing records ----------------------------------------------------------------------------
class StuckRecord(RemoteError):
    """An exclusive create keeps failing while the record stays unreadable."""


def create_or_read(backend: Backend, rel: str, data: bytes, timeout: float = 30.0) -> bytes | None:
    """Exclusive create; None when we won, else the winner's bytes.

    S3 answers a conditional PUT racing another one with 409 ("conflicting conditional
    operation in progress") before — or without — the other's object becoming readable, so a
    lost race can briefly look like "not there": then try the create again.
    """
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        if backend.create(rel, data):
            return None
        try:
            return backend.read(rel)
        except FileNotFoundError:
            if time.monotonic() >= deadline:
                raise StuckRecord(
                    f"cannot create {backend.url}/{rel}: another writer keeps it busy", hint="retry"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def json_line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
