"""What blobs a remote holds: its pack indexes (cached locally) and its loose objects.

Pack indexes are small and immutable, so they are cached under
``.artifacts/remotes/<name>/packs/<id>.idx`` (local state, never pushed). They let ``get``
fetch one packed blob with a ranged read, and let ``push`` skip blobs another clone already
packed.

An index is not proof that its pack exists: it can be planted, or the pack lost or cut short.
A listing (``refresh``) therefore lists the packs with their sizes and keeps an index only when
its pack is there and at least as long as the index says (:func:`pack_end`); others are dropped
from the cache, so ``push`` uploads those blobs again. Loose objects count only with the size
the caller expects. The inventory is never a record that the remote holds a *verified* copy:
that is ``remote_files`` in state.db, written only for bytes this machine sent or checked.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from artctl.backend.base import MAX_INDEX_BYTES, Backend
from artctl.base.fsutil import atomic_write_bytes
from artctl.format.layout import OBJECTS, PACKS, index_file_name, index_key, parse_key
from artctl.repository.packs import PACK_MAGIC, PackLocation, decode_index

if TYPE_CHECKING:
    from artctl.repository.repo import Repository


def cache_dir(repository: Repository, remote: str) -> Path:
    return repository.layout.remote_indexes(remote)


def pack_end(blobs: list[tuple[str, int, int]]) -> int:
    """The length of the pack file an index describes (magic, then the blobs back to back)."""
    return max((offset + length for _d, offset, length in blobs), default=len(PACK_MAGIC))


@dataclass
class Inventory:
    """Blobs on one remote: ``packed`` digest → location, ``loose`` digest → file size."""

    packed: dict[str, PackLocation] = field(default_factory=dict)
    packs: dict[str, int] = field(default_factory=dict)  # pack id -> size of its blobs
    ends: dict[str, int] = field(default_factory=dict)  # pack id -> length of its pack file
    loose: dict[str, int] = field(default_factory=dict)
    loose_listed: bool = False

    def has(self, digest: str, size: int | None = None) -> bool:
        """The remote lists the blob (of ``size`` bytes, when given) in a pack or as an object."""
        loc = self.packed.get(digest)
        if loc is not None and (size is None or loc.length == size):
            return True
        return digest in self.loose and (size is None or self.loose[digest] == size)


def load_cached(repository: Repository, remote: str) -> Inventory:
    """The inventory from the local idx cache only (no network)."""
    inv = Inventory()
    directory = cache_dir(repository, remote)
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(directory):
            found = parse_key(f"{PACKS}/{name}")  # the cache mirrors the remote's packs/
            if found is not None and found.kind == "index":
                _add_index(inv, found.ident, (directory / name).read_bytes())
    return inv


def _add_index(inv: Inventory, pack_id: str, data: bytes) -> None:
    blobs = decode_index(data, f"{pack_id}.idx")
    for digest, offset, length in blobs:
        inv.packed.setdefault(digest, PackLocation(pack_id, offset, length))
    inv.packs[pack_id] = sum(b[2] for b in blobs)
    inv.ends[pack_id] = pack_end(blobs)


def refresh(repository: Repository, remote: str, backend: Backend, *, list_loose: bool = True) -> Inventory:
    """List the remote's packs (fetching new indexes into the cache) and loose objects.

    Indexes are validated (magic + BLAKE3 checksum) before they are cached; an index whose pack
    is missing or shorter than the index says is dropped (module docstring).
    """
    directory = cache_dir(repository, remote)
    pack_sizes, remote_ids = list_packs(backend)
    cached = set()
    with contextlib.suppress(FileNotFoundError):
        found = (parse_key(f"{PACKS}/{n}") for n in os.listdir(directory))
        cached = {f.ident for f in found if f is not None and f.kind == "index"}
    for stale in cached - remote_ids:
        _drop(directory, stale)
    validated = fetch_indexes(backend, remote_ids - cached)
    for pack_id, data in validated.items():
        atomic_write_bytes(
            directory / index_file_name(pack_id), data, tmp_dir=repository.tmp_dir, fsync=False
        )
    inv = load_cached(repository, remote)
    for pack_id, end in list(inv.ends.items()):
        if pack_sizes.get(pack_id, -1) < end:
            _drop(directory, pack_id)
    inv = load_cached(repository, remote)
    if list_loose:
        objects = ((parse_key(rel), size) for rel, size in backend.list_sizes(OBJECTS).items())
        inv.loose = {f.ident: size for f, size in objects if f is not None and f.kind == "object"}
        inv.loose_listed = True
        # Only a hint for `verify` ("listed on R, not fetched here"); eviction and push never
        # rely on it (remote_files, written for verified bytes, is what they trust).
        repository.state.record_listed(remote, [*inv.packed, *inv.loose])
    return inv


def list_packs(backend: Backend) -> tuple[dict[str, int], set[str]]:
    """One listing of ``packs/``: the size of each ``.pack`` file and the ids that have an ``.idx``."""
    listed = {rel: (parse_key(rel), size) for rel, size in backend.list_sizes(PACKS).items()}
    pack_sizes = {found.ident: size for found, size in listed.values() if found and found.kind == "pack"}
    ids = {found.ident for found, _ in listed.values() if found and found.kind == "index"}
    return pack_sizes, ids


def fetch_indexes(backend: Backend, pack_ids: set[str]) -> dict[str, bytes]:
    """The ``.idx`` bytes of ``pack_ids`` (batched reads), each validated; vanished ones left out."""
    fetched = backend.read_many((index_key(p) for p in sorted(pack_ids)), MAX_INDEX_BYTES)
    validated: dict[str, bytes] = {}
    for rel, data in fetched.items():
        if data is None:
            continue
        found = parse_key(rel)
        assert found is not None and found.kind == "index", rel  # asked for by index_key
        decode_index(data, f"remote {rel}")
        validated[found.ident] = data
    return validated


def _drop(directory: Path, pack_id: str) -> None:
    """Forget a cached index (its pack is gone or short on the remote)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(directory / index_file_name(pack_id))


class LazyInventory:
    """A thread-safe inventory for ``get``: cache first, one remote listing on a miss."""

    def __init__(self, repository: Repository, remote: str, backend: Backend) -> None:
        self.repository = repository
        self.remote = remote
        self.backend = backend
        self._lock = threading.Lock()
        self._inv: Inventory | None = None
        self._refreshed = False

    def locate(self, digest: str) -> PackLocation | None:
        with self._lock:
            if self._inv is None:
                self._inv = load_cached(self.repository, self.remote)
            loc = self._inv.packed.get(digest)
            if loc is None and not self._refreshed:
                self._refreshed = True
                self._inv = refresh(self.repository, self.remote, self.backend, list_loose=False)
                loc = self._inv.packed.get(digest)
            return loc

    def pack_size(self, pack_id: str) -> int:
        """Bytes of the blobs in a remote pack (0 when unknown)."""
        with self._lock:
            return self._inv.packs.get(pack_id, 0) if self._inv is not None else 0

    def pack_end(self, pack_id: str) -> int:
        """The length the pack file must have, by its index (0 when unknown)."""
        with self._lock:
            return self._inv.ends.get(pack_id, 0) if self._inv is not None else 0


class MemoryInventory:
    """A :class:`LazyInventory` for a remote read with no local repository to cache indexes in
    (``artctl://`` with ``repo=URL`` and no clone): the first lookup lists the packs and reads
    every index once, kept in memory; an index whose pack is missing or short is ignored."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._lock = threading.Lock()
        self._inv: Inventory | None = None

    def prefetch(self) -> None:
        """Start loading in the background (a reader that is about to resolve a version then
        finds the indexes ready: two round trips fewer on its path); errors are left for
        :meth:`locate` to raise."""

        def load() -> None:
            with self._lock, contextlib.suppress(Exception):
                self._load()

        threading.Thread(target=load, name="artctl-pack-indexes", daemon=True).start()

    def _load(self) -> Inventory:
        if self._inv is None:
            pack_sizes, ids = list_packs(self.backend)
            inv = Inventory()
            for pack_id, data in fetch_indexes(self.backend, ids).items():
                blobs = decode_index(data, f"{pack_id}.idx")
                if pack_sizes.get(pack_id, -1) >= pack_end(blobs):
                    _add_index(inv, pack_id, data)
            self._inv = inv
        return self._inv

    def locate(self, digest: str) -> PackLocation | None:
        with self._lock:
            return self._load().packed.get(digest)

    def pack_size(self, pack_id: str) -> int:
        with self._lock:
            return self._load().packs.get(pack_id, 0)

    def pack_end(self, pack_id: str) -> int:
        with self._lock:
            return self._load().ends.get(pack_id, 0)
