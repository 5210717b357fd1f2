"""Reading byte ranges of blobs where they are: the local store, else a remote (issue 18).

The ``artctl://`` filesystem reads through a :class:`BlobReader`:

* a blob in the local store is read in place — ``pread`` inside its pack or its loose object
  file, nothing copied;
* a blob only on a remote is read with ranged requests into the remote's pack (the location
  comes from the pack index, as ``get`` finds it) or loose object: only the bytes asked for.

Verification: a blob read entirely is hashed before any byte is returned, and a mismatch is an
IntegrityError that also marks the blob bad for this reader, so no later range read returns
bytes of it. A blob smaller than :data:`WHOLE_BLOB_BYTES` is always read entirely (one request
either way), hence always verified. A range of a bigger blob cannot be checked by itself: it
is served as stored, and a sequential reader verifies it when it reaches the end
(``api/filesystem/file.py``).

Cache: a blob fetched entirely and verified is put in the local store (when there is one and
``cache`` is on) and its remote copy recorded, so ``cache cleanup`` may evict it again and the
next read is local.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from artctl.base.hashing import hash_bytes
from artctl.errors import IntegrityError, ObjectNotFound
from artctl.format.layout import object_key, pack_key
from artctl.repository.packs import PACK_THRESHOLD, PackLocation

if TYPE_CHECKING:
    from artctl.backend import Backend
    from artctl.repository.repo import Repository

#: A blob up to this size is read (and verified) whole even when a range is asked for: it is
#: one request either way, and its bytes can then be trusted. Packs hold blobs below it.
WHOLE_BLOB_BYTES = PACK_THRESHOLD


class Locator(Protocol):
    """Where a remote's packs hold a blob (``LazyInventory`` or ``MemoryInventory``)."""

    def locate(self, digest: str) -> PackLocation | None: ...

    def pack_end(self, pack_id: str) -> int: ...


@dataclass
class RemoteBlobs:
    """One remote a reader may fetch from. ``configured`` remotes get their verified copies
    recorded in state.db (what ``cache cleanup`` trusts); a bare URL has no name to record."""

    name: str
    backend: Backend
    inventory: Locator
    configured: bool = True


@dataclass
class ReadStats:
    """What a reader moved, for tests and the curious: requests and bytes per source."""

    local_reads: int = 0
    remote_requests: int = 0
    remote_bytes: int = 0


@dataclass
class BlobReader:
    """Byte ranges of blobs by digest, local store first, then ``remotes`` in order."""

    cache_repo: Repository | None
    remotes: list[RemoteBlobs]
    cache: bool = True
    stats: ReadStats = field(default_factory=ReadStats)
    _bad: set[str] = field(default_factory=set)
    _local: dict[str, tuple[Path, int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self, digest: str, size: int, start: int, end: int, label: str) -> bytes:
        """Bytes ``[start, end)`` of the blob ``digest`` of ``size`` bytes (``label`` names it in
        errors). Raises IntegrityError for a blob that failed verification, now or before."""
        start, end = max(0, min(start, size)), max(0, min(end, size))
        if end <= start:
            return b""
        self.check_not_bad(digest, label)
        whole = size <= WHOLE_BLOB_BYTES or (start == 0 and end == size)
        lo, hi = (0, size) if whole else (start, end)
        data = self._read_local(digest, size, lo, hi, label)
        if data is None:
            data = self._read_remote(digest, size, lo, hi, whole, label)
        elif whole:
            self.check(digest, data, label, "in the local store")
        return data[start - lo : end - lo] if whole else data

    def check_not_bad(self, digest: str, label: str) -> None:
        """Refuse any byte of a blob that failed verification in this reader."""
        if digest in self._bad:
            raise IntegrityError(
                f"{label}: object {digest[:12]} failed verification; none of its bytes are returned",
                hint="run `artctl artifact verify` (local) or push the data again (remote)",
            )

    def check(self, digest: str, data: bytes, label: str, where: str) -> None:
        """Verify a whole blob; on mismatch mark it bad and raise."""
        if hash_bytes(data) != digest:
            self.mark_bad(digest)
            raise IntegrityError(
                f"{label}: object {digest[:12]} {where} is corrupt (digest mismatch); "
                "no bytes of it were returned",
                hint="run `artctl artifact verify` (local) or push the data again (remote)",
            )

    def mark_bad(self, digest: str) -> None:
        with self._lock:
            self._bad.add(digest)

    # -- the local store ----------------------------------------------------------------------
    def locate_all(self, digests: Iterable[str]) -> None:
        """Ask the local store once where all of ``digests`` are (a version's blobs), so each
        read after that costs no database query; a blob absent now is looked for again."""
        if self.cache_repo is None:
            return
        store = self.cache_repo.store
        where = store.placement(set(digests), locations=True)
        packs = {pack: store.pack_path(pack) for pack in where.packs}  # one Path per pack
        found = {d: (packs[loc.pack], loc.offset) for d, loc in where.locations.items()}
        found.update((d, (store.object_path(d), 0)) for d in where.loose)
        with self._lock:
            self._local.update(found)

    def local_location(self, digest: str) -> tuple[Path, int] | None:
        """``(file, offset of the blob in it)`` when the local store holds the blob."""
        if self.cache_repo is None:
            return None
        with self._lock:
            found = self._local.get(digest)
        if found is not None:
            return found
        self.locate_all([digest])
        with self._lock:
            return self._local.get(digest)

    def _read_local(self, digest: str, size: int, start: int, end: int, label: str) -> bytes | None:
        found = self.local_location(digest)
        if found is None:
            return None
        path, base = found
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:  # evicted or repacked since: look again, else fetch
            with self._lock:
                self._local.pop(digest, None)
            return None
        try:
            data = os.pread(fd, end - start, base + start)
        finally:
            os.close(fd)
        if len(data) != end - start:
            self.mark_bad(digest)
            raise IntegrityError(f"{label}: object {digest[:12]} in the local store is truncated")
        self.stats.local_reads += 1
        return data

    # -- remotes ------------------------------------------------------------------------------
    def _read_remote(self, digest: str, size: int, start: int, end: int, whole: bool, label: str) -> bytes:
        for remote in self.remotes:
            try:
                data, rel, file_size = self._ranged(remote, digest, size, start, end)
            except FileNotFoundError:
                continue
            with self._lock:
                self.stats.remote_requests += 1
                self.stats.remote_bytes += len(data)
            if len(data) != end - start:
                self.mark_bad(digest)
                raise IntegrityError(
                    f"{label}: object {digest[:12]} on remote {remote.name} is truncated; "
                    "no bytes of it were returned"
                )
            if whole:
                self.check(digest, data, label, f"on remote {remote.name}")
                self._keep(remote, digest, data, rel, file_size)
            return data
        names = ", ".join(r.name for r in self.remotes) or "no remote configured"
        raise ObjectNotFound(
            f"{label}: object {digest[:12]} is neither in the local store nor on a remote ({names})",
            hint="push it from a clone that has it",
        )

    @staticmethod
    def _ranged(remote: RemoteBlobs, digest: str, size: int, start: int, end: int) -> tuple[bytes, str, int]:
        """One ranged request into the remote file holding the blob: ``(bytes, file, its size)``.

        A blob of :data:`PACK_THRESHOLD` bytes or more is stored loose, so it is asked for
        directly (no pack listing); a smaller one is looked up in the pack indexes first.
        Raises FileNotFoundError when the remote has neither.
        """
        places = ["pack", "loose"] if size < PACK_THRESHOLD else ["loose", "pack"]
        for place in places:
            if place == "loose":
                rel, base, file_size = object_key(digest), 0, size
            else:
                loc = remote.inventory.locate(digest)
                if loc is None or loc.length != size:
                    continue
                rel, base, file_size = pack_key(loc.pack), loc.offset, remote.inventory.pack_end(loc.pack)
            try:
                return remote.backend.read_range(rel, base + start, base + end), rel, file_size
            except FileNotFoundError:
                continue
        raise FileNotFoundError(digest)

    def _keep(self, remote: RemoteBlobs, digest: str, data: bytes, rel: str, file_size: int) -> None:
        """Put a verified fetched blob in the local store (the cache), recording its remote copy
        (``rel``, a file of ``file_size`` bytes on the remote)."""
        if not self.cache or self.cache_repo is None:
            return
        from artctl.repository.state import RemoteCopy  # the state database: only with a cache

        self.cache_repo.store.put_bytes(data, digest)
        if remote.configured:
            self.cache_repo.state.record_remote_copies(remote.name, [RemoteCopy(digest, rel, file_size)])
        with self._lock:
            self._local.pop(digest, None)
