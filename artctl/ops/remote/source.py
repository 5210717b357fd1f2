"""Fetching a missing blob from a remote when ``get`` needs it (a source in ``artctl.ops.sources``).

A packed blob of a small pack (<= 8 MiB) comes with its whole pack — one request for many
small files, adopted after every blob is verified; a blob of a bigger pack is one ranged read
(the location comes from the cached ``.idx``); a loose object is read whole. Bytes are verified
against the digest before anything is stored, then put in the local store, so the next ``get``
is local and a tampered remote object is an error with nothing written. The default remote is
tried first, then the others.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
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

#: A packed blob whose whole pack is at most this big is fetched with its pack: one request
#: instead of one per small file, and the neighbours a `get` usually needs next come along.
WHOLE_PACK_BYTES = 8 * 1024 * 1024

if TYPE_CHECKING:
    from artctl.backend.base import Backend
    from artctl.repository.objects import Store
    from artctl.repository.repo import Repository


def fetch_loose_to_store(repository: Repository, backend: Backend, digest: str, size: int) -> int:
    """Download ``objects/<digest>``, verify it, publish it in the local store; return its size.

    Raises FileNotFoundError when the remote does not have it, IntegrityError when it holds
    other bytes or more than ``size`` (the download stops there).
    """
    store = repository.store
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


def download_pack(repository: Repository, remote: str, backend: Backend, pack_id: str) -> None:
    """Download a whole remote pack, verify every blob against its index and adopt it."""
    from artctl.ops.remote.inventory import cache_dir
    from artctl.repository.packs import decode_index

    store = repository.store
    if store.pack_path(pack_id).exists():
        return
    idx = (cache_dir(repository, remote) / index_file_name(pack_id)).read_bytes()
    tmp = copy_target_in(store.tmp_dir)
    try:
        backend.download(pack_key(pack_id), tmp, pack_end(decode_index(idx)))
        adopt_remote_pack(store, remote, pack_id, tmp, idx)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
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


def remote_prefetch(repo: Repository, entries: list[Entry]) -> None:
    """Before a `get`: download, in parallel, every remote pack that holds much of what it needs.

    Thousands of small files then cost a few pack downloads instead of one request each; the
    blobs left (loose objects, a few blobs of a big pack) are fetched one by one by the source.
    """
    from concurrent.futures import ThreadPoolExecutor

    from artctl.ops.remote.config import backend_for, default_remote_name, list_remotes
    from artctl.ops.remote.inventory import LazyInventory

    repository = repo
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
            list(pool.map(lambda job: download_pack(repository, *job), jobs))


def remote_source(repo: Repository) -> Callable[[Entry, Path], bool] | None:
    """The SOURCES entry: None when no remote is configured (no import of fsspec then)."""
    from artctl.ops.remote.config import default_remote_name, list_remotes

    repository = repo
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
            data: bytes | None = None
            copy: RemoteCopy | None = None  # the verified remote copy (a whole pack records its own)
            try:
                if loc is not None and inv.pack_size(loc.pack) <= WHOLE_PACK_BYTES:
                    whole_pack(spec, backend, loc.pack)
                    # read where the pack's own index says (same pack id = same index), not
                    # through the store's lookup table, which another thread may be updating
                    data = read_slice(repository.store.pack_path(loc.pack), loc.offset, loc.length)
                elif loc is not None:
                    data = backend.read_range(pack_key(loc.pack), loc.offset, loc.offset + loc.length)
                    if hash_bytes(data) == digest:
                        repository.store.put_bytes(data, digest)
                        copy = RemoteCopy(digest, pack_key(loc.pack), inv.pack_end(loc.pack))
                else:
                    size = fetch_loose_to_store(repository, backend, digest, entry.size)
                    copy = RemoteCopy(digest, object_key(digest), size)
            except FileNotFoundError:
                continue
            if data is not None:
                assert loc is not None  # bytes are only ever read from a pack
                if hash_bytes(data) != digest:
                    raise IntegrityError(
                        f"object {digest[:12]} ({entry.path}) in pack {loc.pack[:12]} "
                        f"on remote {spec.name} is corrupt (digest mismatch); "
                        "nothing was stored"
                    )
                with open(dst, "xb") as fh:
                    fh.write(data)
            else:
                repository.store.materialize(digest, dst, "copy")
            if copy is not None:
                repository.state.record_remote_copies(spec.name, [copy])
            return True
        return False

    return fetch
