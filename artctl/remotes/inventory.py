"""What blobs a remote holds: its pack indexes (cached locally) and its loose objects.

Pack indexes are small and immutable, so they are cached under
``.artifacts/remotes/<name>/packs/<id>.idx`` (local state, never pushed). They let ``get``
fetch one packed blob with a ranged read, and let ``push`` skip blobs another clone already
packed. A cached index whose pack disappeared from the remote is dropped on the next listing.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..fsutil import atomic_write_bytes
from ..store.index import PackLocation
from ..store.packs import PACK_MAGIC, decode_index
from .fs import MAX_INDEX_BYTES, Backend
from .protocol import idx_rel

if TYPE_CHECKING:
    from ..repo import Repository


def cache_dir(repository: "Repository", remote: str) -> Path:
    return repository.root / "remotes" / remote / "packs"


def pack_end(blobs: list[tuple[str, int, int]]) -> int:
    """The length of the pack file an index describes (magic, then the blobs back to back)."""
    return max((offset + length for _d, offset, length in blobs), default=len(PACK_MAGIC))


@dataclass
class Inventory:
    """Blobs on one remote: ``packed`` digest → location, ``loose`` digests."""

    packed: dict[str, PackLocation] = field(default_factory=dict)
    packs: dict[str, int] = field(default_factory=dict)  # pack id -> size of its blobs
    ends: dict[str, int] = field(default_factory=dict)  # pack id -> length of its pack file
    loose: set[str] = field(default_factory=set)
    loose_listed: bool = False

    def has(self, digest: str) -> bool:
        return digest in self.packed or digest in self.loose

    def all_digests(self) -> set[str]:
        return set(self.packed) | self.loose


def load_cached(repository: "Repository", remote: str) -> Inventory:
    """The inventory from the local idx cache only (no network)."""
    inv = Inventory()
    directory = cache_dir(repository, remote)
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(directory):
            if name.endswith(".idx"):
                _add_index(inv, name[:-4], (directory / name).read_bytes())
    return inv


def _add_index(inv: Inventory, pack_id: str, data: bytes) -> None:
    blobs = decode_index(data, f"{pack_id}.idx")
    for digest, offset, length in blobs:
        inv.packed.setdefault(digest, PackLocation(pack_id, offset, length))
    inv.packs[pack_id] = sum(b[2] for b in blobs)
    inv.ends[pack_id] = pack_end(blobs)


def refresh(repository: "Repository", remote: str, backend: Backend, *, list_loose: bool = True) -> Inventory:
    """List the remote's packs (fetching new indexes into the cache) and loose objects.

    Indexes are validated (magic + BLAKE3 checksum) before they are cached.
    """
    directory = cache_dir(repository, remote)
    names = backend.listdir("packs")
    remote_ids = {n[:-4] for n in names if n.endswith(".idx")}
    cached = set()
    with contextlib.suppress(FileNotFoundError):
        cached = {n[:-4] for n in os.listdir(directory) if n.endswith(".idx")}
    for stale in cached - remote_ids:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(directory / f"{stale}.idx")
    fetched = backend.read_many((idx_rel(p) for p in sorted(remote_ids - cached)), MAX_INDEX_BYTES)
    validated: dict[str, bytes] = {}
    for rel, data in fetched.items():
        if data is None:
            continue
        pack_id = rel[len("packs/"):-4]
        decode_index(data, f"remote {rel}")
        validated[pack_id] = data
    for pack_id, data in validated.items():
        atomic_write_bytes(directory / f"{pack_id}.idx", data, tmp_dir=repository.tmp_dir, fsync=False)
    inv = load_cached(repository, remote)
    if list_loose:
        inv.loose = {rel[8:10] + rel[11:] for rel in backend.find("objects")
                     if len(rel) == 8 + 2 + 1 + 62}
        inv.loose_listed = True
    return inv


class LazyInventory:
    """A thread-safe inventory for ``get``: cache first, one remote listing on a miss."""

    def __init__(self, repository: "Repository", remote: str, backend: Backend) -> None:
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
