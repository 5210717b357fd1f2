"""What is live on a remote: the mark of remote gc (docs/remotes.md, "Garbage collection on a
remote").

Read from the remote's registry (format 2: each version record folded with its newest edit
snapshot, tombstone and purge marker, :func:`artctl.format.snapshots.fold`) and its
distributed-version area:

1. a version that is neither deleted nor past its TTL at ``now`` is live: its manifest and every
   blob the manifest names (a registry link names its source's manifest, so it keeps it too);
2. every 64-hex digest in a file under ``drafts/`` of a distributed version that is not finished
   (no ``finished.json``) — the blobs its parts name, and a manifest of that name if there is one.

Whatever cannot be read is never guessed at: a damaged version record or live manifest leaves
its blobs unknown, so the sweep deletes no blob and no manifest (``blocked``); a damaged
tombstone or newest edit keeps its version live.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from artctl.backend.base import MAX_MANIFEST_BYTES, Backend
from artctl.base.hashing import hash_bytes
from artctl.errors import ArtctlError
from artctl.format.layout import DRAFTS, MANIFESTS, REGISTRY, manifest_key, parse_key
from artctl.format.manifest import Manifest
from artctl.format.names import parse_name
from artctl.format.records import VersionRecord
from artctl.format.snapshots import fold, parse_edit_snapshot, parse_purge_marker, parse_tombstone
from artctl.ops.remote.protocol import parse_version

#: A digest is 64 lowercase hex characters standing alone (as in artctl.ops.reachability).
_HEX64 = re.compile(rb"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")
#: The markers of a distributed version: ``finished.json`` ends it (its version record is the
#: root then), ``sealed`` names no blob.
_FINISHED, _SEALED = "finished.json", "sealed"


@dataclass
class RemoteLive:
    """What remote gc must keep, and the versions whose data it may drop."""

    manifests: set[str] = field(default_factory=set)
    blobs: set[str] = field(default_factory=set)
    #: Deleted or expired versions without a purge marker (their manifest may go).
    dead: list[VersionRecord] = field(default_factory=list)
    #: Of ``dead``: those past their TTL (not deleted).
    expired: list[VersionRecord] = field(default_factory=list)
    #: Every version record key read (a second read finds the ones created since).
    version_keys: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    #: Something live could not be read: delete no blob and no manifest.
    blocked: bool = False


def mark(backend: Backend, now: datetime) -> RemoteLive:
    """Read the remote's registry and distributed area; return what is live at ``now``."""
    out = RemoteLive()
    for record in read_versions(backend, out):
        if record.live(now):
            out.manifests.add(record.manifest)
        elif not record.purged_at:
            out.dead.append(record)
            if not record.deleted:
                out.expired.append(record)
    _mark_drafts(backend, out)
    _mark_manifest_blobs(backend, out)
    return out


def read_versions(backend: Backend, out: RemoteLive, skip: set[str] | None = None) -> list[VersionRecord]:
    """Every version record of the registry (those not in ``skip``), folded; records that cannot
    be read are described in ``out.problems`` and block the sweep."""
    groups: dict[tuple[str, int], dict[str, str]] = {}
    edits: dict[tuple[str, int], tuple[int, str]] = {}
    for rel in backend.find(REGISTRY):
        found = parse_key(rel)
        if found is None or found.index is None:
            continue
        key = (found.ident, found.index)
        if found.kind in ("version", "tombstone", "purge-marker"):
            groups.setdefault(key, {})[found.kind] = rel
        elif found.kind == "edit-snapshot" and found.seq is not None:
            if found.seq > edits.get(key, (-1, ""))[0]:
                edits[key] = (found.seq, rel)
    wanted = {key: files for key, files in groups.items() if "version" in files}
    if skip is not None:
        wanted = {key: files for key, files in wanted.items() if files["version"] not in skip}
    rels = [rel for files in wanted.values() for rel in files.values()]
    rels += [edits[key][1] for key in wanted if key in edits]
    data = backend.read_many(rels)
    records = []
    for key, files in sorted(wanted.items()):
        out.version_keys.add(files["version"])
        record = _folded(backend, key, files, edits.get(key), data, out)
        if record is not None:
            records.append(record)
    return records


def _folded(
    backend: Backend,
    key: tuple[str, int],
    files: dict[str, str],
    edit: tuple[int, str] | None,
    data: dict[str, bytes | None],
    out: RemoteLive,
) -> VersionRecord | None:
    """One version as readers see it; None (and the sweep blocked) when its record is unreadable."""
    directory, index = key
    where = f"{backend.url}/{files['version']}"
    raw = data.get(files["version"])
    if raw is None:  # listed, then gone: only gc deletes registry files, and it never does
        return None
    try:
        name = parse_name(directory[len(REGISTRY) + 1 :])
        record = parse_version(raw, name, index, where)
    except ArtctlError as exc:
        out.problems.append(f"{exc.message}: its data is unknown, so gc deleted no blob and no manifest")
        out.blocked = True
        return None
    try:
        edits = []
        if edit is not None and (edit_data := data.get(edit[1])) is not None:
            edits.append(parse_edit_snapshot(edit_data, record, edit[0], f"{backend.url}/{edit[1]}"))
        tomb = files.get("tombstone")
        tombstone = None
        if tomb is not None and (tomb_data := data.get(tomb)) is not None:
            tombstone = parse_tombstone(tomb_data, record, f"{backend.url}/{tomb}")
    except ArtctlError as exc:
        out.problems.append(f"{exc.message}: {record.name}:{record.version} is kept")
        out.manifests.add(record.manifest)
        return None
    purge = None
    marker = files.get("purge-marker")
    if marker is not None and (marker_data := data.get(marker)) is not None:
        try:
            purge = parse_purge_marker(marker_data, record, f"{backend.url}/{marker}")
        except ArtctlError as exc:  # a damaged marker only means "not known to be purged"
            out.problems.append(exc.message)
    return fold(record, edits, tombstone, purge)


def _mark_drafts(backend: Backend, out: RemoteLive) -> None:
    """Digests named by the parts of every distributed version that is not finished."""
    files = backend.find(DRAFTS)
    finished = {rel.rsplit("/", 1)[0] for rel in files if rel.rsplit("/", 1)[-1] == _FINISHED}
    wanted = [
        rel
        for rel in files
        if rel.rsplit("/", 1)[-1] not in (_FINISHED, _SEALED)
        and not any(rel.startswith(area + "/") for area in finished)
    ]
    for data in backend.read_many(wanted, MAX_MANIFEST_BYTES).values():
        if data is None:  # finished meanwhile: its parts are deleted after its version exists
            continue
        for match in _HEX64.finditer(data):
            digest = match.group().decode()
            out.blobs.add(digest)
            out.manifests.add(digest)  # kept if a manifest has that name (its blobs too, below)


def _mark_manifest_blobs(backend: Backend, out: RemoteLive) -> None:
    """Every blob named by a live manifest; a live manifest that cannot be read blocks the sweep."""
    present = {f.ident for f in map(parse_key, backend.find(MANIFESTS)) if f and f.kind == "manifest"}
    dead_ok = {d for d in out.manifests if d not in present and d in out.blobs}  # draft digests
    keys = {manifest_key(d): d for d in sorted(out.manifests - dead_ok)}
    for rel, data in backend.read_many(keys, MAX_MANIFEST_BYTES).items():
        digest = keys[rel]
        try:
            if data is None:
                raise ArtctlError(f"live manifest {digest[:12]} is missing from remote {backend.url}")
            if hash_bytes(data) != digest:
                raise ArtctlError(f"live manifest {digest[:12]} on remote {backend.url} is corrupt")
            entries = Manifest.parse(data, f"remote {rel}").entries.values()
        except ArtctlError as exc:
            out.problems.append(
                f"{exc.message}: its blobs are unknown, so gc deleted no blob and no manifest "
                "(run `artctl verify --remote`)"
            )
            out.blocked = True
            continue
        out.blobs.update(e.digest for e in entries if e.digest is not None)
