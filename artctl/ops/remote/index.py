"""A remote's compacted registry index: every registry file, small manifest and small pack
index in one object.

A remote registry grows by one file per change (docs/format.md), so reading a whole remote
costs one GET per version record, tombstone, snapshot and manifest — 20,000 requests for
10,000 versions — plus one per pack index (``artctl put`` of a small file makes one pack, so a
remote filled by many small puts has a pack per version). In repository format 2 every file
under ``registry/`` is immutable once created, and manifests and pack indexes are immutable and
named after their content, so an index of their bytes (like git's packed-refs) is only a
*cache*: nothing depends on it for correctness.

``index/<seq>-<written>-<digest>.jsonl.gz`` (:func:`~artctl.format.layout.registry_index_key`)
is gzip'd JSON lines: a header ``{"format": 1, "kind": "artctl-registry-index", "seq",
"written", "entries"}`` then one ``{"key", "data"}`` per file (``data`` is the file's UTF-8
text; binary files, pack indexes, have ``b64`` instead). Its name carries the BLAKE3 of its
bytes and the header its entry count, so a damaged or truncated index is detected and ignored,
never trusted. Readers (:class:`~artctl.ops.remote.indexed.IndexedBackend`) take the newest
valid one and still treat the listings of ``registry/`` and ``packs/`` as the truth of which
files exist.

Writers keep it current: ``push`` calls :func:`~artctl.ops.remote.indexed.maybe_compact`
(a new index once more than :data:`THRESHOLD` files are not in the newest one) and the remote
gc calls :func:`compact` at its end; ``artctl remote compact`` does it by hand. Two writers
compacting at once both write valid indexes; readers take the one with the highest sequence.
An older index is deleted only once a newer one has existed for :data:`GRACE_SECONDS` (by its
writer's clock, in its name): a reader still reading the old one loses nothing but falls back
to plain GETs.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from artctl.backend.base import MAX_MANIFEST_BYTES, MAX_RECORD_BYTES, Backend
from artctl.base.hashing import hash_bytes
from artctl.errors import ArtctlError, RemoteError
from artctl.format.layout import (
    FORMAT_FILE,
    MANIFESTS,
    PACKS,
    REGISTRY,
    REGISTRY_INDEX,
    Located,
    parse_key,
    registry_index_key,
)

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

#: Files not in the newest index after which ``push`` writes a new one. A clone reads each of
#: them with one GET, so right after any push a clone makes at most this many reads beyond its
#: listings and the index (the listing of 10,000 versions is ~11 requests on S3, so ~230 in all).
THRESHOLD = 200
#: Manifests and pack indexes up to this size are indexed (a manifest line is ~150 bytes, a
#: pack index 48 bytes per blob); bigger ones are few and are read directly.
MAX_INDEXED_FILE = 64 * 1024
#: How long an index stays after a newer one appeared (readers may be reading it).
GRACE_SECONDS = 3600
#: The largest index read (compressed) and the most it may expand to.
MAX_INDEX_FILE = MAX_MANIFEST_BYTES
MAX_INDEX_EXPANDED = 4 * MAX_MANIFEST_BYTES
#: Indexes tried, newest first, before reading the remote without one.
CANDIDATES = 3
KIND = "artctl-registry-index"
#: The remote folders whose files an index holds.
PREFIXES = (REGISTRY, MANIFESTS, PACKS)


@dataclass(frozen=True)
class Index:
    """One valid index as read: its key, sequence and the files it holds (key → bytes)."""

    key: str
    seq: int
    entries: dict[str, bytes]


@dataclass
class CompactReport:
    """What :func:`compact` did."""

    url: str
    written: str | None = None  # the new index's key (None: the newest one was current)
    entries: int = 0
    read: int = 0  # files read directly (not in the previous index)
    deleted: list[str] = field(default_factory=list)  # old indexes removed after the grace
    kept_for_grace: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "remote": self.url,
            "written": self.written,
            "entries": self.entries,
            "read": self.read,
            "deleted": self.deleted,
            "kept_for_grace": self.kept_for_grace,
        }


# -- which files an index holds -----------------------------------------------------------------
def indexable(key: str, size: int) -> bool:
    """Whether a listed file belongs in an index: any registry file that is not a write in
    progress, and manifests and pack indexes up to :data:`MAX_INDEXED_FILE`."""
    if key.startswith(REGISTRY + "/"):
        return size <= MAX_RECORD_BYTES and not key.rsplit("/", 1)[-1].startswith(".")
    found = parse_key(key)
    return found is not None and found.kind in ("manifest", "index") and size <= MAX_INDEXED_FILE


def valid_entry(key: str, data: bytes, listed_size: int | None) -> bool:
    """Whether indexed bytes may stand for the file at ``key``: a registry file or pack index
    must be listed now at that size (a pack index also carries its own checksum, checked by its
    reader), a manifest must hash to its name (BLAKE3 = name)."""
    found = parse_key(key)
    if key.startswith(REGISTRY + "/") or (found is not None and found.kind == "index"):
        return listed_size == len(data)
    return found is not None and found.kind == "manifest" and hash_bytes(data) == found.ident


# -- encoding -----------------------------------------------------------------------------------
def encode(seq: int, written: int, entries: dict[str, bytes]) -> bytes:
    """The index file's bytes (deterministic: sorted keys, gzip without a timestamp)."""
    head = {"format": 1, "kind": KIND, "seq": seq, "written": written, "entries": len(entries)}
    lines = [_line(head)]
    lines.extend(_line(_entry(k, entries[k])) for k in sorted(entries))
    return gzip.compress(b"".join(lines), compresslevel=6, mtime=0)


def _entry(key: str, data: bytes) -> dict[str, object]:
    try:
        return {"key": key, "data": data.decode()}
    except UnicodeDecodeError:
        return {"key": key, "b64": base64.b64encode(data).decode()}


def _line(obj: dict[str, object]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def decode(data: bytes, digest: str) -> dict[str, bytes] | None:
    """The entries of an index file, or None when it is damaged in any way (wrong digest, cut,
    not gzip, expands past :data:`MAX_INDEX_EXPANDED`, a bad line, a wrong count)."""
    if hash_bytes(data) != digest:
        return None
    try:
        inflater = zlib.decompressobj(wbits=31)
        text = inflater.decompress(data, MAX_INDEX_EXPANDED + 1)
        if len(text) > MAX_INDEX_EXPANDED or not inflater.eof:
            return None
        lines = text.splitlines()
        head = json.loads(lines[0]) if lines else None
        if not isinstance(head, dict) or head.get("kind") != KIND or head.get("format") != 1:
            return None
        entries: dict[str, bytes] = {}
        for raw in lines[1:]:
            obj = json.loads(raw)
            key, text, b64 = obj.get("key"), obj.get("data"), obj.get("b64")
            if not isinstance(key, str) or not isinstance(text if b64 is None else b64, str):
                return None
            entries[key] = text.encode() if b64 is None else base64.b64decode(b64, validate=True)
    except (zlib.error, ValueError, UnicodeError, AttributeError, binascii.Error):
        return None
    return entries if head.get("entries") == len(entries) else None


# -- reading ------------------------------------------------------------------------------------
def list_indexes(backend: Backend) -> list[tuple[str, Located]]:
    """Every index file on the remote, newest first (highest sequence, then time, then name)."""
    found = [
        (f"{REGISTRY_INDEX}/{n}", parse_key(f"{REGISTRY_INDEX}/{n}")) for n in backend.listdir(REGISTRY_INDEX)
    ]
    valid = [(k, f) for k, f in found if f is not None and f.kind == "registry-index"]
    return sorted(valid, key=lambda kf: (kf[1].seq or 0, kf[1].index or 0, kf[0]), reverse=True)


def newest(backend: Backend, listed: list[tuple[str, Located]] | None = None) -> Index | None:
    """The newest index that reads back whole, trying at most :data:`CANDIDATES`; None when
    there is none (the remote is then read file by file, as before indexes existed)."""
    for key, found in (listed if listed is not None else list_indexes(backend))[:CANDIDATES]:
        try:
            data = backend.read_or_none(key, MAX_INDEX_FILE)
        except (ArtctlError, OSError):  # a cache that cannot be read is skipped, never fatal
            continue
        entries = decode(data, found.ident) if data is not None else None
        if entries is not None:
            return Index(key, found.seq or 0, entries)
    return None


# -- writing ------------------------------------------------------------------------------------
def listing(backend: Backend) -> dict[str, int]:
    """Every indexable file on the remote now → its size (one listing per prefix)."""
    found = {k: s for top in PREFIXES for k, s in backend.list_sizes(top).items()}
    return {k: s for k, s in found.items() if indexable(k, s)}


def unindexed(files: dict[str, int], index: Index | None) -> list[str]:
    """The listed files a reader would have to GET one by one."""
    have = index.entries if index is not None else {}
    return [k for k, size in files.items() if k not in have or len(have[k]) != size]


def compact(
    backend: Backend,
    *,
    grace: float = GRACE_SECONDS,
    now: float | None = None,
    known: dict[str, bytes] | None = None,
) -> CompactReport:
    """Write a new index of every registry file, small manifest and pack index on the remote
    (unless the newest one already holds exactly those), then delete indexes superseded for
    ``grace`` seconds. ``known`` are bytes the caller has just written or read (a push), checked
    like the previous index's. Safe beside pushes and other compactions: files created
    meanwhile are simply not in it (readers GET them), files deleted meanwhile are ignored by
    readers."""
    now = time.time() if now is None else now
    report = CompactReport(backend.url)
    files = listing(backend)
    indexes = list_indexes(backend)
    previous = newest(backend, indexes)
    candidates = {**(previous.entries if previous else {}), **(known or {})}
    entries = {k: d for k, d in candidates.items() if k in files and valid_entry(k, d, files[k])}
    missing = [k for k in files if k not in entries]
    report.read = len(missing)
    entries.update(_read_files(backend, missing, files))
    report.entries = len(entries)
    # a damaged index newer than the one read would shadow it (and get it deleted): replace it
    current = previous is not None and previous.key == indexes[0][0] and set(entries) == set(previous.entries)
    if not current:
        seq = max((f.seq or 0 for _, f in indexes), default=0) + 1
        data = encode(seq, int(now), entries)
        key = registry_index_key(seq, int(now), hash_bytes(data))
        backend.write(key, data)
        report.written = key
        found = parse_key(key)
        assert found is not None, key  # made by registry_index_key
        indexes.insert(0, (key, found))
    _prune(backend, indexes, grace, now, report)
    return report


def _read_files(backend: Backend, keys: Iterable[str], sizes: dict[str, int]) -> dict[str, bytes]:
    """The files not in the previous index, checked as a reader would check them; files gone
    meanwhile or not matching their listing or name are left out."""
    keys = list(keys)
    records = [k for k in keys if k.startswith(REGISTRY + "/")]
    small = [k for k in keys if not k.startswith(REGISTRY + "/")]
    found = {**backend.read_many(records), **backend.read_many(small, MAX_INDEXED_FILE)}
    return {k: d for k, d in found.items() if d is not None and valid_entry(k, d, sizes[k])}


def _prune(
    backend: Backend, indexes: list[tuple[str, Located]], grace: float, now: float, report: CompactReport
) -> None:
    """Delete each index that a newer one has superseded for at least ``grace`` seconds."""
    oldest_newer: float | None = None  # the earliest time an index newer than this one appeared
    for key, found in indexes:  # newest first
        written = float(found.index or 0)
        if oldest_newer is not None and oldest_newer <= now - grace:
            backend.delete(key)
            report.deleted.append(key)
        elif oldest_newer is not None:
            report.kept_for_grace += 1
        oldest_newer = written if oldest_newer is None else min(oldest_newer, written)


def compact_remote(
    repository: Repository, remote: str | None = None, *, grace: float | None = None
) -> CompactReport:
    """``artctl remote compact [NAME]``: :func:`compact` on a configured remote (or URL), which
    must already be an artctl remote (an index is never written into a foreign location)."""
    from artctl.ops.remote.config import backend_for, get_remote
    from artctl.ops.remote.protocol import open_remote

    backend = backend_for(repository, get_remote(repository, remote))
    if backend.read_or_none(FORMAT_FILE) is None:
        raise RemoteError(
            f"remote {backend.url} is not an artctl remote (it has no FORMAT): there is nothing to compact",
            hint="check the URL; `artctl push` initializes a remote",
        )
    open_remote(backend, create=False)  # its FORMAT is one this artctl reads
    return compact(backend, grace=GRACE_SECONDS if grace is None else grace)
