"""The object store's write path: packing small blobs, publishing loose ones, adopting packs.

Every write is temp file + fsync + rename under ``tmp/``, so a crash leaves either no object
or the whole one (crash points below); a source file changing while it is read is an error,
never a wrong object.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from artctl.base.crashpoints import crash_point, declare
from artctl.base.filecopy import clone_file, copy_durably
from artctl.base.fsutil import (
    atomic_write_bytes,
    copy_target_in,
    fsync_dir,
    local_disk_full,
    make_read_only,
    mkstemp_in,
    sync_file,
)
from artctl.base.hashing import hash_bytes, hash_file
from artctl.base.overlap import side_by_side
from artctl.errors import IntegrityError, SourceChanged
from artctl.repository.packs import (
    PACK_THRESHOLD,
    PackWriter,
    decode_index,
    encode_index,
    pack_id_for,
    read_slice,
)
from artctl.repository.store_base import StoreBase

LOOSE_BEFORE_RENAME = declare(
    "store.loose-before-rename",
    "a complete, fsynced loose object under tmp/ only: nothing names it; the next writer removes it",
)
LOOSE_OBJECT = declare(
    "store.loose-object",
    "a loose object under objects/ that no version names yet: gc removes it after its grace period",
)


class StoreWrites(StoreBase):
    """Putting blobs into the store (see :class:`artctl.repository.objects.Store`)."""

    # -- writing ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self) -> Iterator[StoreWrites]:
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

    def link_in(self, src: Path, digest: str) -> str:
        """Make the verified read-only file ``src`` (the user cache's copy) the loose object
        ``digest``: reflinked, else hard-linked, else copied into ``tmp_dir``, then renamed into
        place. Returns how (``clone_file``'s answer; "present" when the store had it)."""
        if self.has(digest):
            return "present"
        tmp = copy_target_in(self.tmp_dir)
        try:
            how = clone_file(src, tmp)
            if how == "copy":
                with open(tmp, "rb+") as fh:
                    sync_file(fh.fileno(), self.fsync)
            self._publish_loose(tmp, digest)
        except OSError as exc:
            full = local_disk_full(exc, self.root, f"linking object {digest[:12]} from the user cache")
            if full is None:
                raise
            raise full from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return how

    def link_pack_in(self, src: Path, idx_bytes: bytes) -> str:
        """Adopt a copy of the pack ``src`` (the user cache's) with its index: linked like
        :meth:`link_in`, every blob checked by :meth:`add_pack_file`. Returns the pack id."""
        tmp = copy_target_in(self.tmp_dir)
        try:
            clone_file(src, tmp)
            return self.add_pack_file(tmp, idx_bytes)
        except OSError as exc:
            full = local_disk_full(exc, self.root, f"linking pack {src.stem[:12]} from the user cache")
            if full is None:
                raise
            raise full from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def add_pack_file(self, pack_path: Path, idx_bytes: bytes) -> str:
        """Adopt a complete pack (from a remote) after checking it against its index."""
        blobs = decode_index(idx_bytes, pack_path.name)
        pack_id = pack_id_for(blobs)
        for digest, offset, length in blobs:
            if hash_bytes(read_slice(pack_path, offset, length)) != digest:
                raise IntegrityError(f"pack {pack_id[:12]} holds a blob that does not match {digest[:12]}")
        self.packs_dir.mkdir(parents=True, exist_ok=True)
        final = self.pack_path(pack_id)
        os.chmod(pack_path, 0o444)
        os.replace(pack_path, final)
        atomic_write_bytes(
            self.index_path(pack_id),
            encode_index(blobs),
            tmp_dir=self.tmp_dir,
            mode=0o444,
            fsync=self.fsync,
        )
        self.state.add_pack(pack_id, blobs, sum(b[2] for b in blobs))
        return pack_id


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
