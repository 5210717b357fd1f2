"""Bringing one blob or pack of a remote into the local store, verified, through the user cache.

A loose object is read whole, a blob of a big pack with one ranged read, a small pack whole
(every blob checked against its index before the pack is adopted). Bytes are verified against
their digest before anything is stored, so a tampered remote file is an error with nothing
written. With the user cache on, a download lands there first and is linked into the store;
what it already holds is linked without any transfer. ``get``'s source
(:mod:`artctl.ops.remote.source`) and ``pull``/``fetch`` (:mod:`artctl.ops.remote.fetch`) both
fetch through here.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from artctl.base.fsutil import copy_target_in
from artctl.base.hashing import hash_bytes, hash_file
from artctl.errors import IntegrityError
from artctl.format.layout import index_file_name, object_key, pack_key
from artctl.ops.remote.inventory import pack_end
from artctl.repository.objects import PACK_THRESHOLD
from artctl.repository.state import RemoteCopy
from artctl.repository.user_cache import UserCache, user_cache_for
from artctl.repository.user_cache_db import Origin

#: A packed blob whose whole pack is at most this big is fetched with its pack: one request
#: instead of one per small file, and the neighbours a `get` usually needs next come along.
WHOLE_PACK_BYTES = 8 * 1024 * 1024

if TYPE_CHECKING:
    from artctl.backend.base import Backend
    from artctl.repository.objects import Store
    from artctl.repository.repo import Repository


@dataclass(frozen=True)
class FromRemote:
    """How a blob or pack of a remote reached the local store."""

    #: Bytes that crossed the network (0: the user cache had them).
    downloaded: int
    #: This machine verified these bytes against that remote file (now or on an earlier
    #: download into the user cache): a copy ``cache cleanup`` may count (``remote_files``).
    verified: bool
    #: The user cache had them: nothing was transferred.
    cached: bool = False


def fetch_loose_to_store(repository: Repository, backend: Backend, digest: str, size: int) -> FromRemote:
    """Bring ``objects/<digest>`` of the remote into the local store, verified: from the user
    cache when it has the blob, else downloaded into the user cache first (when it is on).

    Raises FileNotFoundError when the remote does not have it, IntegrityError when it holds
    other bytes or more than ``size`` (the download stops there).
    """
    cache = user_cache_for(repository)
    if cache is None:
        return FromRemote(_download_loose(repository.store, backend, digest, size), True)
    download = _Download(backend, object_key(digest), size)
    with cache.shared():
        path = cache.lookup_object(digest)
        if path is None:
            path = cache.fill_object(digest, download)
            cache.add_origin(digest, download.origin())
        repository.store.link_in(path, digest)
        cache.register(repository.root)
        return download.result(cache, digest)


def fetch_range_to_store(
    repository: Repository, backend: Backend, digest: str, rel: str, span: tuple[int, int, int], what: str
) -> FromRemote:
    """Bring one blob of a big remote pack (``span`` = offset, length, pack length) into the local
    store with one ranged read, verified: from the user cache when it holds the blob, else read
    into it first. ``what`` names the blob in errors (its path and remote)."""
    offset, length, end = span
    cache = user_cache_for(repository)
    data: bytes | None = None

    def read(tmp: Path | None = None) -> None:
        nonlocal data
        data = backend.read_range(rel, offset, offset + length)
        if tmp is not None:
            tmp.write_bytes(data)

    where = f"({what}) in {rel}"
    if cache is None:
        read()
        assert data is not None
        if hash_bytes(data) != digest:
            raise IntegrityError(
                f"object {digest[:12]} {where} is corrupt (digest mismatch); nothing was stored"
            )
        repository.store.put_bytes(data, digest)
        return FromRemote(len(data), True)
    with cache.shared():
        path = cache.lookup_object(digest)
        if path is None:
            path = cache.fill_object(digest, read, where)
            cache.add_origin(digest, Origin(backend.url, rel, end))
        repository.store.link_in(path, digest)
        cache.register(repository.root)
        verified = data is not None or _verified_by_cache(cache, digest, backend.url, rel)
    return FromRemote(len(data or b""), verified, data is None)


class _Download:
    """Downloads the remote file ``rel`` into a user-cache temporary file when the cache asks
    (it lacks the file), remembering how many bytes crossed the network."""

    def __init__(self, backend: Backend, rel: str, limit: int) -> None:
        self.backend = backend
        self.rel = rel
        self.limit = limit
        self.got: int | None = None  # None: never called, the user cache had the file

    def __call__(self, tmp: Path) -> None:
        self.got = self.backend.download(self.rel, tmp, self.limit)

    def origin(self) -> Origin:
        """The remote file the cache's new copy came from, for eviction to re-confirm."""
        return Origin(self.backend.url, self.rel, self.got or 0)

    def result(self, cache: UserCache, unit: str) -> FromRemote:
        """Downloaded now (verified now), or linked from the cache (verified against this
        remote file only if the cache's copy was downloaded from it)."""
        verified = self.got is not None or _verified_by_cache(cache, unit, self.backend.url, self.rel)
        return FromRemote(self.got or 0, verified, self.got is None)


def _verified_by_cache(cache: UserCache, unit: str, url: str, rel: str) -> bool:
    """The user cache's bytes were downloaded from ``rel`` at ``url`` and verified then."""
    return any(o.url == url and o.file == rel for o in cache.origins([unit]).get(unit, []))


def _download_loose(store: Store, backend: Backend, digest: str, size: int) -> int:
    """Without a user cache: download straight into the local store (verified first)."""
    if size < PACK_THRESHOLD:
        data = backend.read(object_key(digest), size)
        if hash_bytes(data) != digest:
            raise IntegrityError(
                f"object {digest[:12]} on the remote is corrupt (digest mismatch); nothing was stored"
            )
        store.put_bytes(data, digest)
        return len(data)
    tmp = copy_target_in(store.tmp_dir)
    try:
        got = backend.download(object_key(digest), tmp, size)
        if hash_file(tmp, got) != digest:
            raise IntegrityError(
                f"object {digest[:12]} on the remote is corrupt (digest mismatch); nothing was stored"
            )
        store.adopt_loose(tmp, digest)
        return got
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def fetch_pack_to_store(
    repository: Repository, remote: str, backend: Backend, pack_id: str, idx: bytes, end: int
) -> FromRemote:
    """Bring the remote pack ``pack_id`` (``idx`` is its index, ``end`` its length) into the
    local store, every blob verified: from the user cache, else downloaded into it first.
    Shared by ``get``'s on-demand fetch and ``pull --all``."""
    store = repository.store
    cache = user_cache_for(repository)
    rel = pack_key(pack_id)
    if cache is None:
        tmp = copy_target_in(store.tmp_dir)
        try:
            size = backend.download(rel, tmp, end)
            adopt_remote_pack(store, remote, pack_id, tmp, idx)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return FromRemote(size, True)
    download = _Download(backend, rel, end)
    with cache.shared():
        found = cache.lookup_pack(pack_id)
        if found is None:
            try:
                cache.fill_pack(pack_id, idx, download)
            except IntegrityError as exc:
                raise IntegrityError(
                    f"pack {pack_id[:12]} on remote {remote} is corrupt: {exc.message}"
                ) from None
            cache.add_origin(pack_id, download.origin())
            found = (cache.pack_path(pack_id), idx)
        path, cached_idx = found
        if not store.pack_path(pack_id).exists():
            adopted = store.link_pack_in(path, cached_idx)
            if adopted != pack_id:  # the cache's index names another pack: refuse, keep nothing
                store.delete_pack(adopted)
                raise IntegrityError(f"pack {pack_id[:12]} in the user cache does not match its name")
        cache.register(repository.root)
        return download.result(cache, pack_id)


def download_pack(repository: Repository, remote: str, backend: Backend, pack_id: str) -> None:
    """Bring a whole remote pack into the local store (its index from the inventory cache)."""
    from artctl.ops.remote.inventory import cache_dir
    from artctl.repository.packs import decode_index

    store = repository.store
    if store.pack_path(pack_id).exists():
        return
    idx = (cache_dir(repository, remote) / index_file_name(pack_id)).read_bytes()
    fetched = fetch_pack_to_store(repository, remote, backend, pack_id, idx, pack_end(decode_index(idx)))
    if fetched.verified:
        record_pack_copy(repository, remote, pack_id, idx)


def record_pack_copy(repository: Repository, remote: str, pack_id: str, idx: bytes) -> None:
    """Every blob of a pack downloaded whole and verified has a copy in that remote pack."""
    from artctl.repository.packs import decode_index

    blobs = decode_index(idx)
    end = pack_end(blobs)
    repository.state.record_remote_copies(
        remote, [RemoteCopy(d, pack_key(pack_id), end) for d, _o, _n in blobs]
    )


def adopt_remote_pack(store: Store, remote: str, pack_id: str, tmp: Path, idx: bytes) -> None:
    """Adopt the downloaded pack ``tmp`` once every blob matches ``idx`` and its id is ``pack_id``.

    Shared by ``get``'s on-demand fetch and ``pull``, so a corrupt or misnamed remote pack is
    refused the same way by both, with nothing stored.
    """
    try:
        adopted = store.add_pack_file(tmp, idx)  # verifies every blob before adopting
    except IntegrityError as exc:
        raise IntegrityError(
            f"pack {pack_id[:12]} on remote {remote} is corrupt: {exc}; nothing was stored"
        ) from None
    if adopted != pack_id:
        store.delete_pack(adopted)
        raise IntegrityError(f"pack {pack_id[:12]} on remote {remote} does not match its name")
