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
    """Blobs on one remote: ``packed`` digest → location, ``loose`` digest → file size.

    A listing (:func:`refresh`) also keeps the store's modification time of each pack (the
    newer of its ``.pack`` and ``.idx``) and loose object, and every pack id it saw a file of:
    a push relies only on files younger than half the remote's gc grace (docs/remotes.md,
    "Garbage collection on a remote") and never re-sends a file under a name already listed.
    """

    packed: dict[str, PackLocation] = field(default_factory=dict)
    packs: dict[str, int] = field(default_factory=dict)  # pack id -> size of its blobs
    ends: dict[str, int] = field(default_factory=dict)  # pack id -> length of its pack file
    loose: dict[str, int] = field(default_factory=dict)
    loose_listed: bool = False
    #: digest -> every complete remote pack holding it (``packed`` keeps the first)
    holders: dict[str, list[str]] = field(default_factory=dict)
    pack_mtimes: dict[str, float] = field(default_factory=dict)  # pack id -> newest of .pack/.idx
    loose_mtimes: dict[str, float] = field(default_factory=dict)
    listed_packs: set[str] = field(default_factory=set)  # ids with a .pack or an .idx, complete or not

    def has(self, digest: str, size: int | None = None) -> bool:
        """The remote lists the blob (of ``size`` bytes, when given) in a pack or as an object."""
        loc = self.packed.get(digest)
        if loc is not None and (size is None or loc.length == size):
            return True
        return digest in self.loose and (size is None or self.loose[digest] == size)

    def has_since(self, digest: str, size: int, since: float | None) -> bool:
        """:meth:`has`, counting only files modified at or after ``since`` (store clock, POSIX
        seconds; None: any file). What a push may rely on without sending it again."""
        if since is None:
            return self.has(digest, size)
        if self.loose.get(digest) == size and self.loose_mtimes.get(digest, 0.0) >= since:
            return True
        loc = self.packed.get(digest)
        if loc is None or loc.length != size:
            return False
        return any(self.pack_mtimes.get(p, 0.0) >= since for p in self.holders.get(digest, [loc.pack]))


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
        inv.holders.setdefault(digest, []).append(pack_id)
    inv.packs[pack_id] = sum(b[2] for b in blobs)
    inv.ends[pack_id] = pack_end(blobs)


def refresh(repository: Repository, remote: str, backend: Backend, *, list_loose: bool = True) -> Inventory:
    """List the remote's packs (fetching new indexes into the cache) and loose objects.

    Indexes are validated (magic + BLAKE3 checksum) before they are cached; an index whose pack
    is missing or shorter than the index says is dropped (module docstring).
    """
    directory = cache_dir(repository, remote)
    listing = list_packs(backend)
    pack_sizes, remote_ids = listing.sizes, listing.indexed
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
    inv.pack_mtimes, inv.listed_packs = listing.mtimes, listing.listed
    if list_loose:
        objects = ((parse_key(rel), st) for rel, st in backend.list_stats(OBJECTS).items())
        loose = [(f.ident, st) for f, st in objects if f is not None and f.kind == "object"]
        inv.loose = {digest: st.size for digest, st in loose}
        inv.loose_mtimes = {digest: st.mtime for digest, st in loose}
        inv.loose_listed = True
        # Only a hint for `verify` ("listed on R, not fetched here"); eviction and push never
        # rely on it (remote_files, written for verified bytes, is what they trust).
        repository.state.record_listed(remote, [*inv.packed, *inv.loose])
    return inv


@dataclass
class PackListing:
    """One listing of ``packs/``."""

    sizes: dict[str, int]  # pack id -> size of its .pack file
    indexed: set[str]  # ids that have an .idx
    mtimes: dict[str, float]  # pack id -> the newer modification time of its .pack and .idx
    listed: set[str]  # ids with any file


def list_packs(backend: Backend) -> PackListing:
    """One listing of ``packs/`` with sizes and the store's modification times."""
    out = PackListing({}, set(), {}, set())
    for rel, stat in backend.list_stats(PACKS).items():
        found = parse_key(rel)
        if found is None or found.kind not in ("pack", "index"):
            continue
        if found.kind == "pack":
            out.sizes[found.ident] = stat.size
        else:
            out.indexed.add(found.ident)
        out.listed.add(found.ident)
        out.mtimes[found.ident] = max(out.mtimes.get(found.ident, 0.0), stat.mtime)
    return out


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

    def relocate(self, digest: str, gone: str) -> PackLocation | None:
        """Where ``digest`` is now that pack ``gone`` could not be read: a remote gc rewrote or
        deleted it after its index was cached. Lists the remote again (unless another thread
        already did since) and answers from the fresh listing; None: not in any pack now."""
        with self._lock:
            if self._inv is None or gone in self._inv.packs:
                self._inv = refresh(self.repository, self.remote, self.backend, list_loose=False)
            return self._inv.packed.get(digest)

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
            listing = list_packs(self.backend)
            pack_sizes = listing.sizes
            inv = Inventory()
            for pack_id, data in fetch_indexes(self.backend, listing.indexed).items():
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
