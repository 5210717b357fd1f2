"""Pack files: many small blobs in one file, so small data costs bytes, not files.

Format (see docs/format.md):

* ``packs/<id>.pack`` — ``ARTPACK1`` followed by the blobs' raw bytes back to back. ``<id>`` is
  the BLAKE3 of the pack's index (which lists every blob's digest, offset and length), so a
  pack's name is fixed by its content without hashing its bytes a second time; a pack is
  verified blob by blob.
* ``packs/<id>.idx`` — ``ARTIDX01``, a little-endian ``u32`` count, then ``count`` records of
  (32-byte digest, ``u64`` offset, ``u64`` length) sorted by digest, then the 32-byte BLAKE3
  of everything before it. Written after the pack is durable: an ``.idx`` is the proof that its
  pack is complete.
"""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from blake3 import blake3

from artctl.base.crashpoints import crash_point, declare
from artctl.base.fsutil import atomic_write_bytes, fsync_dir, mkstemp_in, sync_file
from artctl.errors import IntegrityError
from artctl.format.layout import index_file_name, pack_file_name

#: Blobs smaller than this go into packs; larger ones stay loose (and can be reflinked).
PACK_THRESHOLD = 1024 * 1024


class PackLocation(NamedTuple):
    """Where one blob lives inside a pack file (a tuple: cheap to build by the million)."""

    pack: str
    offset: int
    length: int


PACK_BEFORE_RENAME = declare(
    "store.pack-before-rename",
    "a complete, fsynced pack under tmp/ only: nothing names it; the next writer removes it",
)
PACK_BEFORE_INDEX = declare(
    "store.pack-before-index",
    "a .pack without its .idx: ignored by readers, removed by gc after its grace period; a re-put "
    "rewrites the same pack",
)
PACK_BEFORE_ROWS = declare(
    "store.pack-before-rows",
    "a complete pack (.pack + .idx) that state.db does not list yet: the next reader adds it",
)

PACK_MAGIC = b"ARTPACK1"
IDX_MAGIC = b"ARTIDX01"
_RECORD = struct.Struct("<32sQQ")
#: A pack is closed once it holds this many bytes; big enough to make files cheap, small
#: enough that a partial download or a repack never moves much more than it needs.
PACK_TARGET_SIZE = 64 * 1024 * 1024


def encode_index(blobs: list[tuple[str, int, int]]) -> bytes:
    """The ``.idx`` bytes for ``(digest, offset, length)`` records."""
    body = bytearray(IDX_MAGIC)
    body += struct.pack("<I", len(blobs))
    for digest, offset, length in sorted(blobs):
        body += _RECORD.pack(bytes.fromhex(digest), offset, length)
    body += blake3(bytes(body)).digest()
    return bytes(body)


def decode_index(data: bytes, name: str = "index") -> list[tuple[str, int, int]]:
    """Parse and check an ``.idx`` file; raises IntegrityError when it is damaged."""
    if len(data) < 8 + 4 + 32 or data[:8] != IDX_MAGIC:
        raise IntegrityError(f"pack index {name} is not an artctl pack index")
    body, checksum = data[:-32], data[-32:]
    if blake3(body).digest() != checksum:
        raise IntegrityError(f"pack index {name} is corrupt (checksum mismatch)")
    (count,) = struct.unpack_from("<I", body, 8)
    if len(body) != 12 + count * _RECORD.size:
        raise IntegrityError(f"pack index {name} has a wrong length")
    return [(d.hex(), off, ln) for d, off, ln in _RECORD.iter_unpack(body[12:])]


def pack_id_for(blobs: list[tuple[str, int, int]]) -> str:
    """A pack's name: the BLAKE3 of its index bytes (content-defined, no second pass)."""
    return blake3(encode_index(blobs)).hexdigest()


#: Bytes gathered in memory before one ``write``: few syscalls for many small blobs.
WRITE_BUFFER = 8 * 1024 * 1024


@dataclass
class PackWriter:
    """Appends blobs to a temporary pack and publishes it when full or closed.

    Not thread-safe by itself: the store serializes calls with a lock.
    """

    packs_dir: Path
    tmp_dir: Path
    on_publish: Callable[[str, list[tuple[str, int, int]], int], None]
    target_size: int = PACK_TARGET_SIZE
    #: The repository's ``core.fsync``: whether the pack and its index are flushed to disk.
    fsync: bool = True
    _fd: int | None = None
    _tmp: Path | None = None
    _offset: int = 0
    _buffer: bytearray = field(default_factory=bytearray)
    _blobs: list[tuple[str, int, int]] = field(default_factory=list)
    _pending: set[str] = field(default_factory=set)
    published: list[str] = field(default_factory=list)
    #: Crash points of :meth:`flush` (before rename, before index, before rows): gc's repack
    #: passes its own names, so a kill is aimed at one operation's pack write.
    points: tuple[str, str, str] = (PACK_BEFORE_RENAME, PACK_BEFORE_INDEX, PACK_BEFORE_ROWS)

    def contains(self, digest: str) -> bool:
        return digest in self._pending

    def add(self, digest: str, data: bytes | memoryview) -> None:
        if digest in self._pending:
            return
        if self._fd is None:
            self._open()
        self._buffer += data
        self._blobs.append((digest, self._offset, len(data)))
        self._pending.add(digest)
        self._offset += len(data)
        if len(self._buffer) >= WRITE_BUFFER:
            self._drain()
        if self._offset >= self.target_size:
            self.flush()

    def _drain(self) -> None:
        assert self._fd is not None
        _write_all(self._fd, self._buffer)
        self._buffer = bytearray()

    def _open(self) -> None:
        self._fd, self._tmp = mkstemp_in(self.tmp_dir)
        self._buffer = bytearray(PACK_MAGIC)
        self._offset = len(PACK_MAGIC)
        self._blobs = []

    def flush(self) -> str | None:
        """Publish the current pack (fsync, rename, write index); return its id."""
        if self._fd is None:
            return None
        assert self._tmp is not None
        self._drain()
        fd, tmp, blobs = self._fd, self._tmp, self._blobs
        self._fd = None
        try:
            sync_file(fd, self.fsync)
        finally:
            os.close(fd)
        index = encode_index(blobs)
        pack_id = blake3(index).hexdigest()
        self.packs_dir.mkdir(parents=True, exist_ok=True)
        final = self.packs_dir / pack_file_name(pack_id)
        os.chmod(tmp, 0o444)
        crash_point(self.points[0])
        os.replace(tmp, final)
        fsync_dir(self.packs_dir, self.fsync)
        crash_point(self.points[1])
        try:
            atomic_write_bytes(
                self.packs_dir / index_file_name(pack_id),
                index,
                tmp_dir=self.tmp_dir,
                mode=0o444,
                fsync=self.fsync,
            )
        except BaseException:  # e.g. ENOSPC: a pack without its index is useless, never left behind
            with contextlib.suppress(OSError):
                os.unlink(final)
            raise
        crash_point(self.points[2])
        self.on_publish(pack_id, blobs, self._offset)
        self.published.append(pack_id)
        self._pending.clear()
        self._blobs = []
        self._tmp = None
        return pack_id

    def abort(self) -> None:
        """Drop an unpublished pack (e.g. after an error): nothing was referenced yet."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            self._tmp = None
        self._pending.clear()
        self._blobs = []
        self._buffer = bytearray()


def read_slice(pack_path: Path, offset: int, length: int) -> bytes:
    """Read one blob's bytes out of a pack."""
    fd = os.open(pack_path, os.O_RDONLY)
    try:
        data = os.pread(fd, length, offset)
    finally:
        os.close(fd)
    if len(data) != length:
        raise IntegrityError(f"pack {pack_path.name} is truncated")
    return data


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """``os.write`` may write less than asked; loop until everything is out."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
