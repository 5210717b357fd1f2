"""The user cache: bytes fetched from remotes and references, kept once for every repository.

``cache.dir`` (default ``$XDG_CACHE_HOME/artctl``, ``ARTCTL_CACHE_DIR``; ``none`` turns it off)
holds what this user's repositories downloaded, laid out like a remote: ``objects/ab/cdef…``
(one verified blob each, named by its BLAKE3) and ``packs/<id>.pack`` + ``packs/<id>.idx`` (a
remote pack fetched whole, every blob checked against its index). A repository needing those
bytes links them into its own store (reflink, else hard link, else copy:
:func:`artctl.base.filecopy.clone_file`), so a second repository getting the same version from a
remote transfers nothing. Beside them, ``cache.db`` (SQLite,
:mod:`artctl.repository.user_cache_db`) records where each file came from
(``origins``: remote URL, remote file, size — what eviction re-confirms), which reference
states were fetched (``refs``: :func:`artctl.references.state_key` → digest), and which
repositories use the cache (``repos``: eviction asks them whether they hold a copy).

Filling is download into ``tmp/`` → verify → fsync → read-only → rename, under the cache's
shared lock (:func:`artctl.base.locks.user_cache_shared`): a killed fill leaves only a temp
file named after its dead process, removed by the next fill or cleanup, never a partial object.
Several processes filling the same file write identical bytes; the last rename wins. Last use
is the file's mtime, set on every fill and every link into a repository (no write per read
elsewhere). Eviction (``cache cleanup``) is :mod:`artctl.ops.user_cache`. Design:
``docs/cache.md``.
"""

from __future__ import annotations

import contextlib
import os
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from artctl.base.crashpoints import crash_point, declare
from artctl.base.fsutil import (
    fsync_dir,
    make_read_only,
    remove_dead_temps,
    sync_file,
    temp_path_in,
)
from artctl.base.hashing import hash_file, is_digest
from artctl.base.locks import user_cache_exclusive, user_cache_shared
from artctl.errors import IntegrityError
from artctl.format.local_layout import Layout
from artctl.repository.user_cache_db import CacheBook

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

FILL_BEFORE_RENAME = declare(
    "usercache.fill-before-rename",
    "a complete, verified download under the user cache's tmp/ only: nothing names it; the next "
    "fill or cleanup removes it, the re-run downloads it again",
)


@dataclass(frozen=True)
class CachedFile:
    """One file of the cache as eviction sees it: a loose blob or a pack (with its blobs)."""

    id: str
    pack: bool
    size: int
    last_used: float
    blobs: tuple[str, ...]


class UserCache(CacheBook):
    """One user cache directory (see the module docstring)."""

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root
        self.fsync = fsync
        #: Objects and packs are laid out as in a repository (``format/layout.py``).
        self.layout = Layout(root)
        self.objects_dir = self.layout.objects
        self.packs_dir = self.layout.packs
        self.tmp_dir = root / "tmp"
        self._init_book()

    # -- locks -------------------------------------------------------------------------------
    def shared(self, timeout: float | None = None) -> contextlib.AbstractContextManager[None]:
        """Hold while filling or linking from the cache (no eviction meanwhile)."""
        self._prepare()
        return user_cache_shared(self.root) if timeout is None else user_cache_shared(self.root, timeout)

    def exclusive(self, timeout: float) -> contextlib.AbstractContextManager[None]:
        """Hold while evicting: no process fills or links meanwhile."""
        self._prepare()
        return user_cache_exclusive(self.root, timeout)

    def _prepare(self) -> None:
        if not self.tmp_dir.is_dir():
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(self.root, 0o700)  # what a user downloaded is theirs alone
            tag = self.root / "CACHEDIR.TAG"
            if not tag.exists():  # backup tools skip a directory holding this (bford.info/cachedir)
                tag.write_text(
                    "Signature: 8a477f597d28d172789f06886806bc55\n# artctl's user cache (cache.dir)\n"
                )

    # -- paths -------------------------------------------------------------------------------
    def object_path(self, digest: str) -> Path:
        return self.layout.object(digest)

    def pack_path(self, pack_id: str) -> Path:
        return self.layout.pack(pack_id)

    def idx_path(self, pack_id: str) -> Path:
        return self.layout.index(pack_id)

    # -- reading (under :meth:`shared`) ------------------------------------------------------
    def lookup_object(self, digest: str) -> Path | None:
        """The cached blob ``digest``, verified (a corrupt one is dropped and None returned),
        marked as just used; None when absent."""
        path = self.object_path(digest)
        try:
            actual = hash_file(path)
        except (FileNotFoundError, IntegrityError):
            return None
        if actual != digest:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            return None
        _touch(path)
        return path

    def lookup_pack(self, pack_id: str) -> tuple[Path, bytes] | None:
        """The cached pack and its index bytes, marked as just used; None when absent. Its blobs
        are verified by the store that adopts it (:meth:`Store.add_pack_file`)."""
        try:
            idx = self.idx_path(pack_id).read_bytes()
        except FileNotFoundError:
            return None
        path = self.pack_path(pack_id)
        if not path.exists():
            return None
        _touch(path)
        return path, idx

    # -- filling (under :meth:`shared`) ------------------------------------------------------
    def fill_object(self, digest: str, write: Callable[[Path], object], where: str = "on the remote") -> Path:
        """Run ``write(tmp)`` (a download to the new file ``tmp``), check that ``tmp`` is the
        blob ``digest``, publish it; return its path. IntegrityError (nothing kept) otherwise."""
        tmp = self.new_temp()
        try:
            write(tmp)
            if hash_file(tmp) != digest:
                raise IntegrityError(
                    f"object {digest[:12]} {where} is corrupt (digest mismatch); nothing was stored"
                )
            return self.publish_object(tmp, digest)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def publish_object(self, tmp: Path, digest: str) -> Path:
        """Make ``tmp`` (from :meth:`new_temp`, already verified by the caller to be the blob
        ``digest``) the cached object; return its path."""
        return self._publish(tmp, self.object_path(digest))

    def fill_pack(self, pack_id: str, idx: bytes, write: Callable[[Path], object]) -> Path:
        """Run ``write(tmp)`` (a pack download), check every blob against ``idx`` and that the
        index names ``pack_id``, publish the pack, then its index; return the pack's path."""
        from artctl.base.hashing import hash_bytes
        from artctl.repository.packs import decode_index, pack_id_for, read_slice

        blobs = decode_index(idx, f"{pack_id}.idx")
        if pack_id_for(blobs) != pack_id:
            raise IntegrityError(f"pack index {pack_id[:12]} does not match its name; nothing was stored")
        tmp = self.new_temp()
        try:
            write(tmp)
            for digest, offset, length in blobs:
                if hash_bytes(read_slice(tmp, offset, length)) != digest:
                    raise IntegrityError(
                        f"pack {pack_id[:12]} holds a blob that does not match {digest[:12]}; "
                        "nothing was stored"
                    )
            final = self._publish(tmp, self.pack_path(pack_id))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        idx_tmp = self.new_temp()
        try:
            with open(idx_tmp, "wb") as fh:
                fh.write(idx)
            self._publish(idx_tmp, self.idx_path(pack_id))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(idx_tmp)
        return final

    def new_temp(self) -> Path:
        """A new temp name in the cache's ``tmp/`` for a download (same file system: renamed
        into place once verified)."""
        self._prepare()
        remove_dead_temps(self.tmp_dir)  # what killed fills left: their processes are gone
        return temp_path_in(self.tmp_dir)

    def _publish(self, tmp: Path, final: Path) -> Path:
        with open(tmp, "rb") as fh:
            sync_file(fh.fileno(), self.fsync)
        make_read_only(tmp)
        final.parent.mkdir(parents=True, exist_ok=True)
        crash_point(FILL_BEFORE_RENAME)
        os.replace(tmp, final)
        fsync_dir(final.parent, self.fsync)
        return final

    # -- listing and eviction (eviction under :meth:`exclusive`) -----------------------------
    def files(self) -> Iterator[CachedFile]:
        """Every complete cached file: loose blobs, and packs with their index."""
        from artctl.repository.packs import decode_index

        if self.objects_dir.is_dir():
            for fan in sorted(os.listdir(self.objects_dir)):
                fan_dir = self.objects_dir / fan
                if len(fan) != 2 or not fan_dir.is_dir():
                    continue
                for rest in sorted(os.listdir(fan_dir)):
                    if is_digest(fan + rest):
                        with contextlib.suppress(FileNotFoundError):
                            st = (fan_dir / rest).stat()
                            yield CachedFile(fan + rest, False, st.st_size, st.st_mtime, (fan + rest,))
        if self.packs_dir.is_dir():
            for name in sorted(os.listdir(self.packs_dir)):
                found = self.layout.what(self.packs_dir / name)
                if found is None or found.kind != "index":
                    continue
                pack_id = found.ident
                try:
                    blobs = decode_index(self.idx_path(pack_id).read_bytes(), name)
                    st = self.pack_path(pack_id).stat()
                except (FileNotFoundError, IntegrityError):
                    continue
                yield CachedFile(pack_id, True, st.st_size, st.st_mtime, tuple(d for d, _o, _n in blobs))

    def debris(self) -> list[Path]:
        """Files no reader can use: temp files and a pack without its index or the reverse.
        Only safe to delete under :meth:`exclusive` (no fill is running then)."""
        out: list[Path] = []
        if self.tmp_dir.is_dir():
            out.extend(self.tmp_dir / n for n in os.listdir(self.tmp_dir))
        if self.packs_dir.is_dir():
            names = set(os.listdir(self.packs_dir))
            for name in names:
                stem, _, ext = name.rpartition(".")
                other = f"{stem}.idx" if ext == "pack" else f"{stem}.pack"
                if ext in ("pack", "idx") and other not in names:
                    out.append(self.packs_dir / name)
        return out

    def evict(self, item: CachedFile) -> None:
        """Delete one cached file (a pack: its index first, so no reader finds half of it)."""
        if item.pack:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.idx_path(item.id))
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.pack_path(item.id))
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.object_path(item.id))
        self._forget(item.id, item.blobs)


def _touch(path: Path) -> None:
    """Mark a cached file as just used (its mtime is its last use for LRU eviction)."""
    with contextlib.suppress(OSError):
        os.utime(path)


def open_user_cache(cache_dir: Path | None, *, fsync: bool = True) -> UserCache | None:
    """The user cache at ``cache_dir`` (a repository's ``settings.cache_dir``), None when off."""
    return None if cache_dir is None else UserCache(cache_dir, fsync=fsync)


_OPENED: weakref.WeakKeyDictionary[Repository, UserCache] = weakref.WeakKeyDictionary()


def user_cache_for(repository: Repository) -> UserCache | None:
    """The user cache ``repository`` fills and reads (its ``cache.dir``), None when turned off
    or when its directory cannot be created (a read-only home: downloads then go straight into
    the repository, as without a cache); one object per repository object while its settings
    say the same (one database connection for a whole ``get``). Its writes are as durable as
    the repository's (``core.fsync``)."""
    settings = repository.settings
    cache = _OPENED.get(repository)
    if cache is None or cache.root != settings.cache_dir or cache.fsync != settings.fsync:
        cache = open_user_cache(settings.cache_dir, fsync=settings.fsync)
        try:
            if cache is not None:
                cache._prepare()
        except OSError:  # e.g. a read-only home: downloads go straight into the repository
            cache = None
        if cache is None:
            _OPENED.pop(repository, None)
            return None
        _OPENED[repository] = cache
    return cache
