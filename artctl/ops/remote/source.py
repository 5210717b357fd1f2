"""Fetching a missing blob from a remote when ``get`` needs it (a source in ``artctl.ops.sources``).

A packed blob of a small pack (<= 8 MiB) comes with its whole pack — one request for many
small files, adopted after every blob is verified; a blob of a bigger pack is one ranged read
(the location comes from the cached ``.idx``); a loose object is read whole. Bytes are verified
against the digest before anything is stored, so the next ``get`` is local and a tampered
remote object is an error with nothing written. The default remote is tried first, then the
others.

With the user cache on (``cache.dir``, :mod:`artctl.repository.user_cache`), what is
downloaded lands there first and is linked into the local store; what the user cache already
holds is linked without any transfer, whichever repository of the user downloaded it. How one
blob or pack reaches the store is :mod:`artctl.ops.remote.download`'s; this module picks the
remote, and the packs worth prefetching whole.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from artctl.base.hashing import hash_bytes
from artctl.errors import IntegrityError
from artctl.format.layout import object_key, pack_key
from artctl.format.manifest import Entry
from artctl.ops.remote.download import (
    WHOLE_PACK_BYTES,
    FromRemote,
    download_pack,
    fetch_loose_to_store,
    fetch_range_to_store,
)
from artctl.repository.packs import read_slice
from artctl.repository.state import RemoteCopy

if TYPE_CHECKING:
    from artctl.backend.base import Backend
    from artctl.repository.repo import Repository


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
