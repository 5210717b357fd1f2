"""The object store's read path: every blob read is verified against its digest.

A mismatch is an :class:`IntegrityError` (and a half-written destination is removed), never
silent; packed blobs are read pack by pack with one descriptor each.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from artctl.base.filecopy import place_file
from artctl.base.hashing import hash_bytes, hash_file
from artctl.base.overlap import side_by_side
from artctl.errors import IntegrityError, ObjectNotFound
from artctl.repository.packs import read_slice
from artctl.repository.state import PackLocation
from artctl.repository.store_base import Placement, StoreBase


class StoreReads(StoreBase):
    """Reading and materializing blobs (see :class:`artctl.repository.objects.Store`)."""

    # -- reading ----------------------------------------------------------------------------
    def read_bytes(self, digest: str) -> bytes:
        """The blob's bytes, verified against its digest."""
        path = self.object_path(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            loc = self._locate(digest)
            if loc is None or not self.pack_path(loc.pack).exists():
                raise ObjectNotFound(f"object {digest[:12]} is not in the store") from None
            data = read_slice(self.pack_path(loc.pack), loc.offset, loc.length)
        if hash_bytes(data) != digest:
            raise IntegrityError(
                f"object {digest[:12]} is corrupt (digest mismatch)",
                hint="run `artctl artifact verify` to list all damaged objects",
            )
        return data

    def materialize(self, digest: str, dst: Path, mode: str = "auto") -> str:
        """Write the blob to ``dst`` (which must not exist); return the link mode used.

        The bytes placed are verified; on mismatch ``dst`` is removed and IntegrityError raised.
        """
        path = self.object_path(digest)
        if path.exists():
            # The object is hashed while it is copied out (the copy comes from the same bytes):
            # a verified get of a large file costs about one copy.
            used, actual = side_by_side(lambda: place_file(path, dst, mode), lambda: hash_file(path))
            if actual != digest:
                with contextlib.suppress(OSError):
                    os.unlink(dst)
                raise IntegrityError(
                    f"object {digest[:12]} is corrupt (digest mismatch)",
                    hint="run `artctl artifact verify` to list all damaged objects",
                )
            return used
        data = self.read_bytes(digest)
        with open(dst, "xb") as fh:
            fh.write(data)
        return "copy"

    def materialize_many(
        self,
        items: Sequence[tuple[str, str | Path]],
        mode: str = "auto",
        on_done: Callable[[int], None] | None = None,
        where: Placement | None = None,
    ) -> dict[str, int]:
        """Write many blobs to new files; packed ones are read pack by pack with one descriptor.

        Returns how many files each link mode placed. Every blob is verified; a mismatch raises
        IntegrityError after removing the file it was written to. ``where`` is the blobs'
        placement if the caller already asked for it.
        """
        modes: dict[str, int] = {}
        if where is None or (where.packs and not where.locations):
            where = self.placement((d for d, _ in items), locations=True)
        located = where.locations
        by_pack: dict[str, list[tuple[PackLocation, str, str | Path]]] = {}
        loose = []
        for digest, dst in items:
            loc = located.get(digest)
            if loc is not None:
                by_pack.setdefault(loc.pack, []).append((loc, digest, dst))
            else:
                loose.append((digest, dst))
        for pack_id, wanted in by_pack.items():
            wanted.sort(key=lambda item: item[0].offset)
            fd = os.open(self.pack_path(pack_id), os.O_RDONLY)
            try:
                for loc, digest, dst in wanted:
                    data = os.pread(fd, loc.length, loc.offset)
                    if len(data) != loc.length or hash_bytes(data) != digest:
                        raise IntegrityError(
                            f"object {digest[:12]} is corrupt (digest mismatch)",
                            hint="run `artctl artifact verify` to list all damaged objects",
                        )
                    _write_new(dst, data)
                    if on_done:
                        on_done(loc.length)
            finally:
                os.close(fd)
            modes["copy"] = modes.get("copy", 0) + len(wanted)
        for digest, dst in loose:
            dst = Path(dst)
            used = self.materialize(digest, dst, mode)
            modes[used] = modes.get(used, 0) + 1
            if on_done:
                on_done(self.object_path(digest).stat().st_size if used != "copy" else dst.stat().st_size)
        return modes

    def verify(self, digest: str) -> bool:
        """Re-hash one blob; False if missing or corrupt."""
        try:
            path = self.object_path(digest)
            if path.exists():
                return hash_file(path) == digest
            self.read_bytes(digest)
            return True
        except (IntegrityError, ObjectNotFound):
            return False


def _write_new(dst: str | Path, data: bytes) -> None:
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
