"""The content-addressed object store: blobs named by the BLAKE3 of their bytes.

Callers see one small interface (``has``/``put``/``open``/``read``/``iter``/``delete`` and batch
forms); underneath, large blobs are loose files under ``objects/ab/cdef…`` and small ones live
in pack files (``packs/``) so that 20,000 small files cost a handful of files. Every read is
verified against the digest: a mismatch is an :class:`IntegrityError`, never silent.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from artctl.base.crashpoints import crash_point
from artctl.format.layout import OBJECTS, PACKS, parse_key
from artctl.repository.packs import PACK_THRESHOLD
from artctl.repository.store_base import BlobInfo, Placement
from artctl.repository.store_reads import StoreReads
from artctl.repository.store_writes import LOOSE_BEFORE_RENAME, LOOSE_OBJECT, StoreWrites

__all__ = ["LOOSE_BEFORE_RENAME", "LOOSE_OBJECT", "PACK_THRESHOLD", "BlobInfo", "Placement", "Store"]


class Store(StoreWrites, StoreReads):
    """The object store of one repository (``.artifacts/``): base (where things are), writes,
    reads, and here enumeration and deletion."""

    # -- enumeration and deletion ----------------------------------------------------------
    def iter_blobs(self) -> Iterator[BlobInfo]:
        """Every blob stored locally, loose and packed."""
        if self.objects_dir.is_dir():
            for fan in sorted(os.listdir(self.objects_dir)):
                fan_dir = self.objects_dir / fan
                if not fan_dir.is_dir():
                    continue
                for rest in os.listdir(fan_dir):
                    found = parse_key(f"{OBJECTS}/{fan}/{rest}")
                    if found is not None and found.kind == "object":
                        with contextlib.suppress(FileNotFoundError):
                            yield BlobInfo(found.ident, (fan_dir / rest).stat().st_size, None)
        self.refresh()
        present: dict[str, bool] = {}
        for digest, pack, _offset, length in self.state.iter_pack_blobs():
            if pack not in present:
                present[pack] = self.pack_path(pack).exists()
            if present[pack]:
                yield BlobInfo(digest, length, pack)

    def iter_packs(self) -> Iterator[str]:
        """Ids of the complete packs present locally."""
        if not self.packs_dir.is_dir():
            return
        for name in sorted(os.listdir(self.packs_dir)):
            found = parse_key(f"{PACKS}/{name}")
            if found is not None and found.kind == "index" and self.pack_path(found.ident).exists():
                yield found.ident

    def delete_loose(self, digest: str) -> int:
        """Remove a loose blob; return the bytes freed (0 if it was not there)."""
        path = self.object_path(digest)
        try:
            size = path.stat().st_size
            os.unlink(path)
            return size
        except FileNotFoundError:
            return 0

    def delete_pack(self, pack_id: str, *, point: str | None = None) -> int:
        """Remove a whole pack: index first, so no reader is sent to a vanished file.

        ``point`` names the caller's crash point between the two unlinks (a pack without index).
        """
        size = 0
        with contextlib.suppress(FileNotFoundError):
            size = self.pack_path(pack_id).stat().st_size
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.index_path(pack_id))
        if point is not None:
            crash_point(point)
        self.state.forget_pack(pack_id)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.pack_path(pack_id))
        return size
