"""The content-addressed object store: blobs named by the BLAKE3 of their bytes.

Callers see one small interface (``has``/``put``/``open``/``read``/``iter``/``delete`` and batch
forms); underneath, large blobs are loose files under ``objects/ab/cdef…`` and small ones live
in pack files (``packs/``) so that 20,000 small files cost a handful of files. Every read is
verified against the digest: a mismatch is an :class:`IntegrityError`, never silent.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from artctl.base.crashpoints import crash_point, declare
from artctl.base.fsutil import (
    copy_durably,
    copy_target_in,
    fsync_dir,
    make_read_only,
    mkstemp_in,
    place_file,
    sync_file,
)
from artctl.base.hashing import hash_bytes, hash_file, is_digest
from artctl.base.overlap import side_by_side
from artctl.errors import IntegrityError, ObjectNotFound, SourceChanged
from artctl.repository.packs import PackWriter, decode_index, pack_id_for, read_slice
from artctl.repository.state import PackLocation, StateDB

LOOSE_BEFORE_RENAME = declare(
    "store.loose-before-rename",
    "a complete, fsynced loose object under tmp/ only: nothing names it; the next writer removes it",
)
LOOSE_OBJECT = declare(
    "store.loose-object",
    "a loose object under objects/ that no version names yet: gc removes it after its grace period",
)

#: Blobs smaller than this go into packs; larger ones stay loose (and can be reflinked).
PACK_THRESHOLD = 1024 * 1024


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


class Store:
    """The object store of one repository (``.artifacts/``)."""

    def __init__(self, root: Path, state: StateDB, *, fsync: bool = True) -> None:
        self.root = root
        #: This repository's ``core.fsync``: passed to every write of the store and its packs.
        self.fsync = fsync
        self.objects_dir = root / "objects"
        self.packs_dir = root / "packs"
        self.tmp_dir = root / "tmp"
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
        return self.objects_dir / digest[:2] / digest[2:]

    def pack_path(self, pack_id: str) -> Path:
        return self.packs_dir / f"{pack_id}.pack"

    # -- index maintenance ------------------------------------------------------------------
    def refresh(self) -> None:
        """Record packs written by other processes (or before a crash) in the local index."""
        if not self.packs_dir.is_dir():
            self._refreshed = True
            return
        known = self.state.known_packs()
        for name in os.listdir(self.packs_dir):
            if not name.endswith(".idx"):
                continue
            pack_id = name[:-4]
            if pack_id in known:
                continue
            try:
                blobs = decode_index((self.packs_dir / name).read_bytes(), name)
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
        objects = os.fspath(self.objects_dir)
        exists = os.path.exists
        loose = {d for d in rest if exists(f"{objects}/{d[:2]}/{d[2:]}")}
        return Placement(packed, loose, rest - loose, where)

    def all_exist(self, packs: Iterable[str], loose: Iterable[str]) -> bool:
        """True when every named pack (and its index) and loose object is present."""
        exists = os.path.exists
        return all(exists(self.pack_path(p)) and exists(self.packs_dir / f"{p}.idx") for p in packs) and all(
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

    # -- writing ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self) -> Iterator[Store]:
        """Group the blobs of one operation into packs; publish them on success."""
        with self._lock:
            outer = self._writer is not None
            if not outer:
                self._writer = PackWriter(
                    self.packs_dir, self.tmp_dir, self._pack_published, fsync=self.fsync
                )
        try:
            yield self
            if not outer:
                with self._lock:
                    assert self._writer is not None
                    self._writer.flush()
        except BaseException:
            if not outer:
                with self._lock:
                    if self._writer is not None:
                        self._writer.abort()
            raise
        finally:
            if not outer:
                self._writer = None

    def _pack_published(self, pack_id: str, blobs: list[tuple[str, int, int]], size: int) -> None:
        self.note_created_pack(pack_id)
        self.state.add_pack(pack_id, blobs, size)

    def note_created_pack(self, pack_id: str) -> None:
        """Count a pack as created by the current write (also one an ingest helper published
        for it), if :meth:`recording_created` is active."""
        if self._created is not None:
            self._created.append(("pack", pack_id))

    @contextlib.contextmanager
    def recording_created(self) -> Iterator[Callable[[], tuple[set[str], set[str]]]]:
        """Within this block, note the files this process creates; yields a function that
        returns ``(loose digests, pack ids)`` created so far in the block.

        Created means: the file was absent when this process renamed its own copy into place.
        Another process may still have written or used the same bytes meanwhile, so whoever
        deletes these must first check, under gc's exclusive guard, that nothing references
        them (:func:`artctl.ops.gc.discard_on_failure`). Only recorded while asked: a long-lived
        process does not accumulate a list of every object it ever wrote.
        """
        outer = self._created is not None
        if not outer:
            self._created = []
        log = self._created
        assert log is not None
        mark = len(log)

        def created() -> tuple[set[str], set[str]]:
            entries = log[mark:]
            return (
                {i for kind, i in entries if kind == "loose"},
                {i for kind, i in entries if kind == "pack"},
            )

        try:
            yield created
        finally:
            if not outer:
                self._created = None

    def put_bytes(self, data: bytes, digest: str | None = None) -> str:
        """Store ``data``; return its digest. Packs small blobs when inside ``writing()``."""
        digest = digest or hash_bytes(data)
        if len(data) < PACK_THRESHOLD and self._writer is not None:
            with self._lock:
                if not self._writer.contains(digest) and not self.has(digest):
                    self._writer.add(digest, data)
            return digest
        if self.has(digest):
            return digest
        fd, tmp = mkstemp_in(self.tmp_dir)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                sync_file(fh.fileno(), self.fsync)
            self._publish_loose(tmp, digest)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return digest

    def put_small_batch(self, blobs: list[tuple[str, bytes]]) -> None:
        """Pack many small ``(digest, data)`` blobs at once (inside ``writing()``).

        One index query for the whole batch instead of one per blob: this is the hot path of
        ingesting many small files.
        """
        assert self._writer is not None, "put_small_batch needs store.writing()"
        self._ensure_refreshed()
        located = self.state.locate_many(d for d, _ in blobs)
        packs_present: dict[str, bool] = {}
        with self._lock:
            writer = self._writer
            for digest, data in blobs:
                loc = located.get(digest)
                if loc is not None:
                    if loc.pack not in packs_present:
                        packs_present[loc.pack] = self.pack_path(loc.pack).exists()
                    if packs_present[loc.pack]:
                        continue
                writer.add(digest, data)

    def put_file(self, path: Path, size: int | None = None, digest: str | None = None) -> tuple[str, int]:
        """Store a file's bytes in one pass over the data; return ``(digest, size)``.

        Small files are read once into memory and hashed; large ones are hashed with all cores
        while the kernel copies them. The source's stat is
        checked before and after, so a file changing under us is an error, not a wrong object.
        """
        before = os.stat(path)
        size = before.st_size if size is None else size
        if size < PACK_THRESHOLD:
            with open(path, "rb") as fh:
                data = fh.read()
            _check_unchanged(path, before)
            return self.put_bytes(data, digest), len(data)
        if digest is not None and self.has(digest):
            _check_unchanged(path, before)
            return digest, size
        tmp = copy_target_in(self.tmp_dir)
        try:
            if digest is None:
                # The copy (and its fsync) runs while the file is hashed: a large put costs the
                # longer of the two, not their sum. Content the store already holds is copied
                # for nothing; that is rare next to new content, which the stat cache leaves.
                digest = _copy_and_hash(path, tmp, size, self.fsync)
            else:
                copy_durably(path, tmp, self.fsync)
            _check_unchanged(path, before)
            if not self.has(digest):
                self._publish_loose(tmp, digest)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return digest, size

    def adopt_loose(self, tmp: Path, digest: str) -> None:
        """Make the complete file ``tmp`` (in ``tmp_dir``) the loose object ``digest``.

        The caller has checked that ``tmp`` hashes to ``digest`` (a remote download, a copy of
        a file it hashed); the file is fsynced, made read-only and renamed into place, so a
        crash leaves either no object or the whole one.
        """
        with open(tmp, "rb+") as fh:
            sync_file(fh.fileno(), self.fsync)
        self._publish_loose(tmp, digest)

    def link_in(self, src: Path, digest: str) -> str:
        """Make the verified read-only file ``src`` (the user cache's copy) the loose object
        ``digest``: reflinked, else hard-linked, else copied into ``tmp_dir``, then renamed into
        place. Returns how (``clone_file``'s answer; "present" when the store had it)."""
        from artctl.base.fsutil import clone_file

        if self.has(digest):
            return "present"
        tmp = copy_target_in(self.tmp_dir)
        try:
            how = clone_file(src, tmp)
            if how == "copy":
                with open(tmp, "rb+") as fh:
                    sync_file(fh.fileno(), self.fsync)
            self._publish_loose(tmp, digest)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return how

    def link_pack_in(self, src: Path, idx_bytes: bytes) -> str:
        """Adopt a copy of the pack ``src`` (the user cache's) with its index: linked like
        :meth:`link_in`, every blob checked by :meth:`add_pack_file`. Returns the pack id."""
        from artctl.base.fsutil import clone_file

        tmp = copy_target_in(self.tmp_dir)
        try:
            clone_file(src, tmp)
            return self.add_pack_file(tmp, idx_bytes)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def _publish_loose(self, tmp: Path, digest: str) -> None:
        final = self.object_path(digest)
        final.parent.mkdir(parents=True, exist_ok=True)
        make_read_only(tmp)
        created = not final.exists()
        crash_point(LOOSE_BEFORE_RENAME)
        os.replace(tmp, final)
        if created and self._created is not None:
            self._created.append(("loose", digest))
        fsync_dir(final.parent, self.fsync)
        crash_point(LOOSE_OBJECT)

    def add_pack_file(self, pack_path: Path, idx_bytes: bytes) -> str:
        """Adopt a complete pack (from a remote) after checking it against its index."""
        from artctl.repository.packs import encode_index  # local: only transfer code needs this

        blobs = decode_index(idx_bytes, pack_path.name)
        pack_id = pack_id_for(blobs)
        for digest, offset, length in blobs:
            if hash_bytes(read_slice(pack_path, offset, length)) != digest:
                raise IntegrityError(f"pack {pack_id[:12]} holds a blob that does not match {digest[:12]}")
        self.packs_dir.mkdir(parents=True, exist_ok=True)
        final = self.pack_path(pack_id)
        os.chmod(pack_path, 0o444)
        os.replace(pack_path, final)
        from artctl.base.fsutil import atomic_write_bytes

        atomic_write_bytes(
            self.packs_dir / f"{pack_id}.idx",
            encode_index(blobs),
            tmp_dir=self.tmp_dir,
            mode=0o444,
            fsync=self.fsync,
        )
        self.state.add_pack(pack_id, blobs, sum(b[2] for b in blobs))
        return pack_id

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
        items: list[tuple[str, Path]],
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
        by_pack: dict[str, list[tuple[PackLocation, str, Path]]] = {}
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

    # -- enumeration and deletion ----------------------------------------------------------
    def iter_blobs(self) -> Iterator[BlobInfo]:
        """Every blob stored locally, loose and packed."""
        if self.objects_dir.is_dir():
            for fan in sorted(os.listdir(self.objects_dir)):
                fan_dir = self.objects_dir / fan
                if len(fan) != 2 or not fan_dir.is_dir():
                    continue
                for rest in os.listdir(fan_dir):
                    digest = fan + rest
                    if is_digest(digest):
                        with contextlib.suppress(FileNotFoundError):
                            yield BlobInfo(digest, (fan_dir / rest).stat().st_size, None)
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
            if name.endswith(".idx") and (self.packs_dir / f"{name[:-4]}.pack").exists():
                yield name[:-4]

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
            os.unlink(self.packs_dir / f"{pack_id}.idx")
        if point is not None:
            crash_point(point)
        self.state.forget_pack(pack_id)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.pack_path(pack_id))
        return size


def _write_new(dst: str | Path, data: bytes) -> None:
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _copy_and_hash(path: Path, tmp: Path, size: int, fsync: bool) -> str:
    """Copy ``path`` to ``tmp`` (flushed when ``fsync``) while hashing its first ``size`` bytes;
    return the digest."""
    try:
        _, digest = side_by_side(lambda: copy_durably(path, tmp, fsync), lambda: hash_file(path, size))
    except SourceChanged:  # truncated while it was read: the same error as any change
        raise _changed(path) from None
    return digest


def _check_unchanged(path: Path, before: os.stat_result) -> None:
    after = os.stat(path)
    if (after.st_size, after.st_mtime_ns, after.st_ino) != (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    ):
        raise _changed(path)


def _changed(path: Path) -> IntegrityError:
    """The one error for a source file that changed while a put read it."""
    return SourceChanged(
        f"{path} changed while it was being stored; nothing was recorded for it",
        hint="retry once the file is no longer being written",
    )
