"""Fetching a missing blob from a remote when ``get`` needs it (a source in ``artctl.ops.sources``).

A packed blob of a small pack (<= 8 MiB) comes with its whole pack — one request for many
small files, adopted after every blob is verified; a blob of a bigger pack is one ranged read
(the location comes from the cached ``.idx``); a loose object is read whole. Bytes are verified
against the digest before anything is stored, so the next ``get`` is local and a tampered
remote object is an error with nothing written. The default remote is tried first, then the
others.

With the user cache on (``cache.dir``, :mod:`artctl.repository.user_cache`), what is
downloaded lands there first and is linked into the local store; what the user cache already
holds is linked without any transfer, whichever repository of the user downloaded it.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from artctl.base.fsutil import copy_target_in
from artctl.base.hashing import hash_bytes, hash_file
from artctl.errors import IntegrityError
from artctl.format.layout import index_file_name, object_key, pack_key
from artctl.format.manifest import Entry
from artctl.ops.remote.inventory import pack_end
from artctl.repository.objects import PACK_THRESHOLD
from artctl.repository.packs import read_slice
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
    rel = object_key(digest)
    with cache.shared():
        path = cache.lookup_object(digest)
        got: int | None = None
        if path is None:

            def write(tmp: Path) -> None:
                nonlocal got
                got = backend.download(rel, tmp, size)

            path = cache.fill_object(digest, write)
            cache.add_origin(digest, Origin(backend.url, rel, got or 0))
        repository.store.link_in(path, digest)
        cache.register(repository.root)
        verified = got is not None or _verified_by_cache(cache, digest, backend.url, rel)
    return FromRemote(got or 0, verified, got is None)


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
    with cache.shared():
        found = cache.lookup_pack(pack_id)
        got: int | None = None
        if found is None:

            def write(tmp: Path) -> None:
                nonlocal got
                got = backend.download(rel, tmp, end)

            try:
                cache.fill_pack(pack_id, idx, write)
            except IntegrityError as exc:
                raise IntegrityError(
                    f"pack {pack_id[:12]} on remote {remote} is corrupt: {exc.message}"
                ) from None
            cache.add_origin(pack_id, Origin(backend.url, rel, got or 0))
            found = (cache.pack_path(pack_id), idx)
        path, cached_idx = found
        if not store.pack_path(pack_id).exists():
            adopted = store.link_pack_in(path, cached_idx)
            if adopted != pack_id:  # the cache's index names another pack: refuse, keep nothing
                store.delete_pack(adopted)
                raise IntegrityError(f"pack {pack_id[:12]} in the user cache does not match its name")
        cache.register(repository.root)
        verified = got is not None or _verified_by_cache(cache, pack_id, backend.url, rel)
    return FromRemote(got or 0, verified, got is None)


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


#: A pack of which a `get` needs at least this share of the bytes is downloaded whole (one
#: request) instead of blob by blob (one ranged request each).
WHOLE_PACK_SHARE = 0.25


def remote_prefetch(repository: Repository, entries: list[Entry]) -> None:
    """Before a `get`: download, in parallel, every remote pack that holds much of what it needs.

    Thousands of small files then cost a few pack downloads instead of one request each; the
    blobs left (loose objects, a few blobs of a big pack) are fetched one by one by the source.
    """
    from concurrent.futures import ThreadPoolExecutor

    from artctl.ops.remote.config import backend_for, default_remote_name, list_remotes
    from artctl.ops.remote.inventory import LazyInventory

    specs = list_remotes(repository)
    wanted = {e.digest for e in entries if e.digest is not None and e.ref is None}
    if not specs or not wanted:
        return
    default = default_remote_name(repository)
    specs.sort(key=lambda s: s.name != default)
    jobs: list[tuple[str, Backend, str]] = []
    for spec in specs:
        backend = backend_for(repository, spec)
        inv = LazyInventory(repository, spec.name, backend)
        needed: dict[str, int] = {}
        for digest in sorted(wanted):
            loc = inv.locate(digest)
            if loc is not None:
                needed[loc.pack] = needed.get(loc.pack, 0) + loc.length
                wanted.discard(digest)
        for pack_id, size in needed.items():
            total = inv.pack_size(pack_id)
            if total <= WHOLE_PACK_BYTES or size >= WHOLE_PACK_SHARE * total:
                jobs.append((spec.name, backend, pack_id))
        if not wanted:
            break
    if jobs:
        with ThreadPoolExecutor(max_workers=min(8, len(jobs))) as pool:
            list(pool.map(lambda job: _prefetch_pack(repository, *job), jobs))


def _prefetch_pack(repository: Repository, remote: str, backend: Backend, pack_id: str) -> None:
    """A prefetch is only a shortcut: a pack gone since its index was cached (a remote gc rewrote
    it) is left to the source, which lists the remote again for those blobs."""
    with contextlib.suppress(FileNotFoundError):
        download_pack(repository, remote, backend, pack_id)


def remote_source(repository: Repository) -> Callable[[Entry, Path], bool] | None:
    """The SOURCES entry: None when no remote is configured (no import of fsspec then)."""
    from artctl.ops.remote.config import default_remote_name, list_remotes

    specs = list_remotes(repository)
    if not specs:
        return None
    default = default_remote_name(repository)
    specs.sort(key=lambda s: s.name != default)
    from artctl.ops.remote.config import backend_for
    from artctl.ops.remote.inventory import LazyInventory

    remotes = []
    for spec in specs:
        backend = backend_for(repository, spec)
        remotes.append((spec, backend, LazyInventory(repository, spec.name, backend)))

    pack_locks: dict[str, threading.Lock] = {}
    guard = threading.Lock()

    def whole_pack(spec, backend, pack_id: str) -> None:
        """Download a pack once (other workers wait for it) and adopt it, verified."""
        with guard:
            lock = pack_locks.setdefault(pack_id, threading.Lock())
        with lock:
            download_pack(repository, spec.name, backend, pack_id)

    def fetch(entry: Entry, dst: Path) -> bool:
        if entry.digest is None or entry.ref is not None:
            return False
        digest = entry.digest
        if repository.store.has(digest):  # a whole pack fetched for another entry brought it
            repository.store.materialize(digest, dst, "copy")
            return True
        for spec, backend, inv in remotes:
            loc = inv.locate(digest)
            try:
                got, copy = from_remote(entry, dst, spec, backend, inv, loc)
            except FileNotFoundError:
                if loc is None:
                    continue
                # the cached index named a pack a remote gc has rewritten or deleted since: list
                # the remote again and read the blob where it is now (another pack, or loose)
                try:
                    got, copy = from_remote(entry, dst, spec, backend, inv, inv.relocate(digest, loc.pack))
                except FileNotFoundError:
                    continue
            if got is None:
                return True
            repository.store.materialize(digest, dst, "copy")
            if got.verified:
                repository.state.record_remote_copies(spec.name, [copy])
            return True
        return False

    def from_remote(entry: Entry, dst: Path, spec, backend, inv, loc) -> tuple[FromRemote | None, RemoteCopy]:
        """Fetch ``entry``'s blob from one remote at ``loc`` (None: a loose object). A blob of
        a small pack is written to ``dst`` here (got None); else it lands in the local store.
        FileNotFoundError when the remote file is not there."""
        digest = entry.digest
        assert digest is not None
        if loc is not None and inv.pack_size(loc.pack) <= WHOLE_PACK_BYTES:
            whole_pack(spec, backend, loc.pack)
            # read where the pack's own index says (same pack id = same index), not
            # through the store's lookup table, which another thread may be updating
            data = read_slice(repository.store.pack_path(loc.pack), loc.offset, loc.length)
            if hash_bytes(data) != digest:
                raise IntegrityError(
                    f"object {digest[:12]} ({entry.path}) in pack {loc.pack[:12]} "
                    f"on remote {spec.name} is corrupt (digest mismatch); nothing was stored"
                )
            with open(dst, "xb") as fh:
                fh.write(data)
            return None, RemoteCopy(digest, pack_key(loc.pack), 0)
        if loc is not None:
            rel = pack_key(loc.pack)
            got = fetch_range_to_store(
                repository,
                backend,
                digest,
                rel,
                (loc.offset, loc.length, inv.pack_end(loc.pack)),
                f"{entry.path}, remote {spec.name}",
            )
            copy = RemoteCopy(digest, rel, inv.pack_end(loc.pack))
        else:
            got = fetch_loose_to_store(repository, backend, digest, entry.size)
            copy = RemoteCopy(digest, object_key(digest), entry.size)
        return got, copy

    return fetch
