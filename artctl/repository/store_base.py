"""The object store's base: where blobs live, the local pack index, and "is it here?".

Large blobs are loose files (``objects/ab/cdef…``), small ones live in packs (``packs/``); every
path is :mod:`artctl.format.layout`'s. :class:`StoreBase` knows where a blob is (loose, in
which pack, nowhere) without reading it; reading is :mod:`artctl.repository.store_reads`,
writing :mod:`artctl.repository.store_writes`, and :class:`artctl.repository.objects.Store`
puts them together.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from artctl.errors import IntegrityError, ObjectNotFound
from artctl.format.layout import PACKS, object_key, parse_key
from artctl.format.local_layout import Layout
from artctl.repository.packs import PackWriter, decode_index
from artctl.repository.state import PackLocation, StateDB


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """One stored blob, as ``iter_blobs`` reports it."""

    digest: str
    size: int
    pack: str | None  # None for a loose object


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a set of blobs is stored locally (:meth:`Store.placement`)."""

    packs: dict[str, set[str]]  # pack id -> the wanted digests it holds (present packs only)
    loose: set[str]
    absent: set[str]
    locations: dict[str, PackLocation]  # offsets of the packed ones, when asked for

    def present(self) -> set[str]:
        return self.loose.union(*self.packs.values())

    def updated(self, newer: Placement) -> Placement:
        """This placement with ``newer`` (a placement of some of its absent blobs) applied."""
        packs = {pack: set(digests) for pack, digests in self.packs.items()}
        for pack, digests in newer.packs.items():
            packs.setdefault(pack, set()).update(digests)
        loose = self.loose | newer.loose
        absent = self.absent - loose - set().union(*newer.packs.values())
        return Placement(packs, loose, absent, {**self.locations, **newer.locations})


class StoreBase:
    """Naming, index maintenance and queries of one repository's object store."""

    def __init__(self, root: Path, state: StateDB, *, fsync: bool = True) -> None:
        self.root = root
        self.layout = Layout(root)
        #: This repository's ``core.fsync``: passed to every write of the store and its packs.
        self.fsync = fsync
        self.objects_dir = self.layout.objects
        self.packs_dir = self.layout.packs
        self.tmp_dir = self.layout.tmp
        self.state = state
        self._lock = threading.Lock()
        self._writer: PackWriter | None = None
        self._refreshed = False
        #: ``("loose" or "pack", id)`` of the files this process created, while
        #: :meth:`recording_created` is active (None otherwise).
        self._created: list[tuple[str, str]] | None = None

    # -- naming -----------------------------------------------------------------------------
    def object_path(self, digest: str) -> Path:
        """Where a loose blob lives: a 2-character fan-out keeps directories small."""
        return self.layout.object(digest)

    def pack_path(self, pack_id: str) -> Path:
        return self.layout.pack(pack_id)

    def index_path(self, pack_id: str) -> Path:
        return self.layout.index(pack_id)

    # -- index maintenance ------------------------------------------------------------------
    def refresh(self) -> None:
        """Record packs written by other processes (or before a crash) in the local index."""
        if not self.packs_dir.is_dir():
            self._refreshed = True
            return
        known = self.state.known_packs()
        for name in os.listdir(self.packs_dir):
            found = parse_key(f"{PACKS}/{name}")
            if found is None or found.kind != "index" or found.ident in known:
                continue
            pack_id = found.ident
            try:
                blobs = decode_index(self.index_path(pack_id).read_bytes(), name)
            except FileNotFoundError:
                continue
            except IntegrityError:
                # One damaged index makes that pack's blobs unavailable (gc leaves the pack alone,
                # verify reports it); it must not stop every read and write of the repository.
                continue
            size = sum(length for _, _, length in blobs)
            self.state.add_pack(pack_id, blobs, size)
        self._refreshed = True

    def _ensure_refreshed(self) -> None:
        if not self._refreshed:
            self.refresh()

    def _locate(self, digest: str) -> PackLocation | None:
        self._ensure_refreshed()
        loc = self.state.locate(digest)
        if loc is None:
            self.refresh()
            loc = self.state.locate(digest)
        return loc

    # -- queries ----------------------------------------------------------------------------
    def has(self, digest: str) -> bool:
        """True when the blob is stored locally (loose or in a local pack)."""
        if self.object_path(digest).exists():
            return True
        if self._writer is not None and self._writer.contains(digest):
            return True
        self._ensure_refreshed()
        loc = self.state.locate(digest)
        return loc is not None and self.pack_path(loc.pack).exists()

    def placement(self, digests: Iterable[str], *, locations: bool = False) -> Placement:
        """Where each of ``digests`` is stored locally: which pack, loose, or nowhere.

        Packs first (one indexed query per batch of digests, one ``stat`` per pack), then one
        ``stat`` per remaining digest: the way every bulk reader asks the store. ``locations``
        also returns each packed blob's offset and length (for reading them).
        """
        wanted = set(digests)
        self._ensure_refreshed()
        packed: dict[str, set[str]] = {}
        where: dict[str, PackLocation] = {}
        present: dict[str, bool] = {}
        rows = self.state.locate_many(wanted) if locations else self.state.packs_of(wanted)
        for digest, loc in rows.items():
            pack = loc if isinstance(loc, str) else loc.pack
            if pack not in present:
                present[pack] = os.path.exists(self.pack_path(pack))
            if present[pack]:
                packed.setdefault(pack, set()).add(digest)
                if locations:
                    where[digest] = loc  # type: ignore[assignment]
        rest = wanted.difference(*packed.values()) if packed else wanted
        root = os.fspath(self.root)
        exists = os.path.exists
        loose = {d for d in rest if exists(f"{root}/{object_key(d)}")}  # strings: the hot path
        return Placement(packed, loose, rest - loose, where)

    def all_exist(self, packs: Iterable[str], loose: Iterable[str]) -> bool:
        """True when every named pack (and its index) and loose object is present."""
        exists = os.path.exists
        return all(exists(self.pack_path(p)) and exists(self.index_path(p)) for p in packs) and all(
            exists(self.object_path(d)) for d in loose
        )

    def has_many(self, digests: Iterable[str]) -> set[str]:
        """The subset of ``digests`` stored locally (or pending in this process's open pack)."""
        where = self.placement(digests)
        present = where.present()
        if self._writer is not None:
            present |= {d for d in where.absent if self._writer.contains(d)}
        return present

    def size_of(self, digest: str) -> int:
        path = self.object_path(digest)
        with contextlib.suppress(FileNotFoundError):
            return path.stat().st_size
        loc = self._locate(digest)
        if loc is None:
            raise ObjectNotFound(f"object {digest[:12]} is not in the store")
        return loc.length
