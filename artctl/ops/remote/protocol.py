"""The remote's registry records and their conditional writes (docs/remotes.md is the spec).

A remote holds the repository tree minus local state; every path in it is named by
:mod:`artctl.format.layout`. Immutable, content-named files
(objects, packs, manifests) are written with plain PUTs — "missing" means "path absent", and
two writers of one name write the same bytes. Everything that names a version is created with
an exclusive create in one request (S3 ``If-None-Match: *``, GCS ``ifGenerationMatch=0``, Azure
``If-None-Match: *``, ``link(2)`` on a directory); there is no lock file a crashed writer could
leave behind:

* ``registry/<p>/<n>/artifact.json`` — created once; a different type is a conflict.
* ``registry/<p>/<n>/versions/v<N>.json`` — created once; a taken number makes the writer
  renumber (see :func:`publish_version`).
* ``registry/<p>/<n>/aliases/<seq>.json`` — the custom-alias table as numbered snapshots; a
  change creates ``seq + 1`` exclusively (compare-and-swap built from exclusive create, the one
  conditional write every backend enforces in a single request).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from artctl.backend.base import Backend
from artctl.base.hashing import is_digest
from artctl.errors import ArtctlError, Conflict, RemoteError, RepositoryFormatError
from artctl.format.layout import (
    ARTIFACT_RECORD,
    FORMAT_FILE,
    alias_snapshot_key,
    artifact_key,
    artifact_record_key,
    parse_key,
    tombstone_key,
    version_key,
)
from artctl.format.names import ArtifactName, parse_name, version_index
from artctl.format.records import ArtifactRecord, VersionRecord, dumps, loads
from artctl.repository.repo import check_format, format_bytes

ALIAS_RETRIES = 50


# -- the FORMAT file ----------------------------------------------------------------------------
def open_remote(backend: Backend, *, create: bool) -> bool:
    """Check that the remote is an artctl remote; initialize an empty one when ``create``.

    Returns True when this call initialized it. A location that holds other files but no
    FORMAT is refused: artctl never writes into somebody else's bucket layout.
    """
    data = backend.read_or_none(FORMAT_FILE)
    if data is not None:
        try:
            check_format(data, f"remote {backend.url}")
        except RepositoryFormatError as exc:
            raise RemoteError(
                f"{exc.message} (its FORMAT file is not artctl's)",
                hint=exc.hint or "check the URL; artctl only uses locations it initialized",
            ) from None
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
        check_format(winner, f"remote {backend.url}")
        return False
    return True


# -- reading the registry -----------------------------------------------------------------------
@dataclass
class RemoteArtifact:
    """One artifact as the remote has it."""

    name: ArtifactName
    record: ArtifactRecord
    versions: dict[int, VersionRecord] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    alias_seq: int = -1


def parse_version(data: bytes, name: ArtifactName, index: int, where: str) -> VersionRecord:
    """A version record from the remote, checked against the path it was found at."""
    record = VersionRecord.from_json(loads(data, where), where)
    if record.name != str(name) or record.index != index or not is_digest(record.manifest):
        raise RepositoryFormatError(f"{where} does not describe {name}:v{index} (tampered or corrupt)")
    return record


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

    A damaged record raises RepositoryFormatError naming it — unless ``problems`` is given:
    then it is skipped and described there (one bad record must not make every other artifact
    of the remote unreachable). What is skipped is never guessed at: a damaged artifact record
    hides its artifact, a damaged version record or tombstone hides that version, a damaged
    alias table leaves the artifact without custom aliases.
    """
    files = backend.find(under)
    dirs: dict[str, dict[str, Any]] = {}
    for rel in files:
        head, _, tail = rel.rpartition("/")
        if tail == ARTIFACT_RECORD:
            dirs.setdefault(head, {"versions": {}, "aliases": []})
    for rel in files:
        found = parse_key(rel)
        info = dirs.get(found.ident) if found is not None else None
        if found is None or info is None or found.index is None:
            continue
        if found.kind == "tombstone":
            info.setdefault("deleted", {})[found.index] = rel
        elif found.kind == "version":
            info["versions"][found.index] = rel
        elif found.kind == "alias-snapshot":
            info["aliases"].append(found.index)
    records = backend.read_many(f"{d}/{ARTIFACT_RECORD}" for d in dirs)
    out: dict[str, RemoteArtifact] = {}
    wanted_rels: list[str] = []
    for directory in dirs:
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
        info = dirs[directory]
        art = RemoteArtifact(name, record)
        if info["aliases"]:
            art.alias_seq = max(info["aliases"])
            wanted_rels.append(alias_snapshot_key(name, art.alias_seq))
        wanted_rels.extend(info["versions"].values())
        wanted_rels.extend(info.get("deleted", {}).values())
        out[str(name)] = art
    blobs = backend.read_many(wanted_rels)
    for art in out.values():
        directory = artifact_key(art.name)
        for index, rel in dirs[directory]["versions"].items():
            data = blobs.get(rel)
            if data is None:
                continue
            try:
                art.versions[index] = parse_version(data, art.name, index, f"{backend.url}/{rel}")
            except ArtctlError as exc:
                _skip(problems, exc, f"{art.name}:v{index} is skipped")
        for index, rel in dirs[directory].get("deleted", {}).items():
            data = blobs.get(rel)
            if data is not None and index in art.versions:
                try:
                    art.versions[index] = _apply_tombstone(art.versions[index], data, f"{backend.url}/{rel}")
                except ArtctlError as exc:  # never serve a version whose deletion cannot be read
                    del art.versions[index]
                    _skip(problems, exc, f"{art.name}:v{index} is skipped")
        if art.alias_seq >= 0:
            data = blobs.get(alias_snapshot_key(art.name, art.alias_seq))
            if data is not None:
                try:
                    where = f"{backend.url}/{alias_snapshot_key(art.name, art.alias_seq)}"
                    art.aliases = _alias_table(data, where)
                except ArtctlError as exc:
                    _skip(problems, exc, f"custom aliases of {art.name} are skipped")
    return out


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


def _apply_tombstone(record: VersionRecord, data: bytes, where: str) -> VersionRecord:
    """``record`` marked deleted by the tombstone ``data`` (its ``deleted_at`` checked like
    any record's time)."""
    stone = loads(data, where)
    deleted_at = stone.get("deleted_at")
    return VersionRecord.from_json(
        {
            **record.to_json(),
            "state": "deleted",
            "deleted_at": deleted_at if isinstance(deleted_at, str) else None,
        },
        where,
    )


def _skip(problems: list[str] | None, exc: ArtctlError, consequence: str) -> None:
    """Record a damaged remote record as skipped, or raise when the caller wants strictness."""
    if problems is None:
        raise exc
    problems.append(f"{exc.message}: {consequence}")


def _alias_table(data: bytes, where: str) -> dict[str, str]:
    from artctl.format.names import validate_custom_alias

    obj = loads(data, where)
    table = obj.get("aliases", {})
    if not isinstance(table, dict):
        raise RepositoryFormatError(f"{where} is not an alias table")
    out = {}
    for alias, version in table.items():
        validate_custom_alias(alias)
        if not isinstance(version, str) or version_index(version) is None:
            raise RepositoryFormatError(f"{where}: alias {alias!r} points at {version!r}")
        out[alias] = version
    return out


def read_aliases(backend: Backend, name: ArtifactName) -> tuple[int, dict[str, str]]:
    """The newest alias snapshot: ``(seq, table)``; ``(-1, {})`` when there is none."""
    directory = f"{artifact_key(name)}/aliases"
    found = (parse_key(f"{directory}/{n}") for n in backend.listdir(directory))
    seqs = [f.index for f in found if f is not None and f.kind == "alias-snapshot" and f.index is not None]
    for seq in sorted(seqs, reverse=True):
        data = backend.read_or_none(alias_snapshot_key(name, seq))
        if data is not None:
            return seq, _alias_table(data, f"{backend.url}/{alias_snapshot_key(name, seq)}")
    return -1, {}


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


def ensure_artifact(backend: Backend, record: ArtifactRecord) -> None:
    """Create ``artifact.json`` once; a remote artifact of another type is a conflict."""
    name = parse_name(record.name)
    rel = artifact_record_key(name)
    winner = create_or_read(backend, rel, dumps(record.to_json()))
    if winner is None:
        return
    existing = ArtifactRecord.from_json(loads(winner, f"{backend.url}/{rel}"))
    if existing.type != record.type:
        raise Conflict(
            f"artifact {name} is a {existing.type!r} on the remote but a {record.type!r} here",
            hint="names are unique within a project whatever the type; rename one of them",
        )
    if existing.portfolio != record.portfolio:
        where = "on the remote" if existing.portfolio else "here"
        raise Conflict(
            f"{name} is a registry collection {where} but an ordinary collection on the other side",
            hint="rename one of them",
        )


def publish_version(
    backend: Backend, record: VersionRecord, taken: dict[int, VersionRecord]
) -> VersionRecord:
    """Create ``record`` on the remote under a free number; return it as published.

    Keeps the local number when it is free and above every remote number (so numbering stays
    in creation order); otherwise takes the next number. An exclusive create that loses a race
    re-reads the winner: if it is the same content (same manifest digest) that version is ours.
    """
    name = parse_name(record.name)
    top = max(taken, default=-1)
    index = record.index if record.index > top else top + 1
    skipped: set[int] = set()
    while True:
        candidate = record.evolve(index=index)
        rel = version_key(name, index)
        try:
            winner = create_or_read(backend, rel, dumps(candidate.to_json()), timeout=5.0)
        except StuckRecord:
            # a number the store will neither give us nor show: skip it (numbers may have gaps)
            skipped.add(index)
            index += 1
            continue
        if winner is None:
            taken[index] = candidate
            return candidate
        try:
            existing = parse_version(winner, name, index, f"{backend.url}/{rel}")
        except ArtctlError:  # a damaged record holds this number: never ours, take another
            skipped.add(index)
            index = max([*taken, *skipped]) + 1
            continue
        taken[index] = existing
        if existing.manifest == record.manifest:
            return existing
        index = max([*taken, *skipped]) + 1


def update_aliases(backend: Backend, name: ArtifactName, changes: dict[str, str]) -> dict[str, str]:
    """Apply ``alias → vN`` changes with compare-and-swap on the snapshot sequence."""
    for _attempt in range(ALIAS_RETRIES):
        seq, table = read_aliases(backend, name)
        new = {**table, **changes}
        if new == table:
            return table
        doc = {"format": 1, "seq": seq + 1, "aliases": dict(sorted(new.items()))}
        if backend.create(alias_snapshot_key(name, seq + 1), dumps(doc)):
            return new
        time.sleep(0.02 * (1 + _attempt % 10))  # let the winner's write become readable
    raise Conflict(
        f"aliases of {name} on the remote changed {ALIAS_RETRIES} times while pushing", hint="retry the push"
    )


def json_line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def publish_deletion(backend: Backend, record: VersionRecord) -> bool:
    """Mark a remote version deleted (exclusive create of its tombstone); False if it already was."""
    name = parse_name(record.name)
    doc = {
        "format": 1,
        "name": record.name,
        "version": record.version,
        "manifest": record.manifest,
        "deleted_at": record.deleted_at,
    }
    return backend.create(tombstone_key(name, record.index), dumps(doc))
