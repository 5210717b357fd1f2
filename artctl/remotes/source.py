"""Fetching a missing blob from a remote when ``get`` needs it (a source in ``artctl.sources``).

A packed blob is one ranged read of its pack (the location comes from the cached ``.idx``); a
loose object is read whole. Bytes are verified against the digest before anything is stored,
then put in the local store, so the next ``get`` is local and a tampered remote object is an
error with nothing written. The default remote is tried first, then the others.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import IntegrityError
from ..fsutil import mkstemp_in
from ..hashing import hash_bytes, hash_file
from ..manifest import Entry
from ..store import PACK_THRESHOLD
from .protocol import object_rel, pack_rel

if TYPE_CHECKING:
    from ..repo import Repository
    from ..repository_ops import Repo
    from .fs import Backend


def fetch_loose_to_store(repository: "Repository", backend: "Backend", digest: str, size: int) -> int:
    """Download ``objects/<digest>``, verify it, publish it in the local store; return its size.

    Raises FileNotFoundError when the remote does not have it.
    """
    store = repository.store
    if size < PACK_THRESHOLD:
        data = backend.read(object_rel(digest))
        if hash_bytes(data) != digest:
            raise IntegrityError(f"object {digest[:12]} on the remote is corrupt (digest mismatch); "
                                 "nothing was stored")
        store.put_bytes(data, digest)
        return len(data)
    fd, tmp = mkstemp_in(store.tmp_dir)
    os.close(fd)
    try:
        backend.download(object_rel(digest), tmp)
        got = tmp.stat().st_size
        if hash_file(tmp, got) != digest:
            raise IntegrityError(f"object {digest[:12]} on the remote is corrupt (digest mismatch); "
                                 "nothing was stored")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        store._publish_loose(tmp, digest)
        return got
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def remote_source(repo: "Repo") -> Callable[[Entry, Path], bool] | None:
    """The SOURCES entry: None when no remote is configured (no import of fsspec then)."""
    from .config import default_remote_name, list_remotes

    repository = repo.repository
    specs = list_remotes(repository)
    if not specs:
        return None
    default = default_remote_name(repository)
    specs.sort(key=lambda s: s.name != default)
    from .inventory import LazyInventory
    from .transfer import backend_for

    remotes = []
    for spec in specs:
        backend = backend_for(repository, spec)
        remotes.append((spec, backend, LazyInventory(repository, spec.name, backend)))

    def fetch(entry: Entry, dst: Path) -> bool:
        if entry.digest is None or entry.ref is not None:
            return False
        digest = entry.digest
        for spec, backend, inv in remotes:
            loc = inv.locate(digest)
            try:
                if loc is not None:
                    data = backend.read_range(pack_rel(loc.pack), loc.offset, loc.offset + loc.length)
                    if hash_bytes(data) != digest:
                        raise IntegrityError(f"object {digest[:12]} ({entry.path}) in pack {loc.pack[:12]} "
                                             f"on remote {spec.name} is corrupt (digest mismatch); "
                                             "nothing was stored")
                    repository.store.put_bytes(data, digest)
                else:
                    fetch_loose_to_store(repository, backend, digest, entry.size)
            except FileNotFoundError:
                continue
            repository.state.record_remote_copies(spec.name, [digest])
            repository.store.materialize(digest, dst, "copy")
            return True
        return False

    return fetch
