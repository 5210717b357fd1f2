"""Sending blobs again under a new name: the fresh pack of a push running beside a remote gc.

A push may rely on a blob the remote already holds only when that file is younger than half of
the remote's gc grace (docs/remotes.md, "Garbage collection on a remote"). An older copy may be
in the middle of being deleted by a gc that listed it, so writing the same name again proves
nothing: the gc's delete can land after our write. The blobs are therefore sent in one *new*
pack whose name no listed file has — a random 16-byte blob is added to it, so its id (the
BLAKE3 of its index) is new even when the same blobs were packed before — pack first, then its
``.idx``, both with a fresh modification time that no running gc will delete.

The bytes come from the local store, or, for a blob only the remote has, from the remote copy
itself (re-hashed before it is packed).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import IO, TYPE_CHECKING

from artctl.backend.base import Backend
from artctl.base.fsutil import copy_target_in
from artctl.base.hashing import hash_bytes, hash_file
from artctl.errors import IntegrityError
from artctl.format.layout import index_key, object_key, pack_key
from artctl.ops.remote.config import RemoteSpec
from artctl.ops.remote.inventory import Inventory
from artctl.ops.remote.transfer import record_copies
from artctl.repository.packs import PACK_MAGIC, encode_index, pack_id_for, read_slice
from artctl.repository.state import RemoteCopy

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

#: Bytes of the random blob that makes a fresh pack's name new.
NONCE_BYTES = 16
_CHUNK = 8 * 1024 * 1024


def send_fresh_pack(
    repository: Repository, spec: RemoteSpec, backend: Backend, blobs: dict[str, int], inv: Inventory
) -> int:
    """Upload ``blobs`` (digest → size) in one new pack, then its index; return its size."""
    tmp = copy_target_in(repository.tmp_dir)
    entries: list[tuple[str, int, int]] = []
    try:
        with open(tmp, "wb") as out:
            out.write(PACK_MAGIC)
            for digest in sorted(blobs):
                offset = out.tell()
                _append_blob(repository, backend, inv, digest, blobs[digest], out)
                entries.append((digest, offset, out.tell() - offset))
            nonce = os.urandom(NONCE_BYTES)
            entries.append((hash_bytes(nonce), out.tell(), NONCE_BYTES))
            out.write(nonce)
            out.flush()
            os.fsync(out.fileno())
        pack_id = pack_id_for(entries)
        size = tmp.stat().st_size
        if not backend.upload(pack_key(pack_id), tmp, lambda: _intact(tmp, entries)):
            raise IntegrityError(f"a pack built for remote {spec.name} changed on disk; nothing was pushed")
        backend.write(index_key(pack_id), encode_index(entries))
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    record_copies(repository, spec, [RemoteCopy(d, pack_key(pack_id), size) for d in blobs])
    return size


def _append_blob(
    repository: Repository, backend: Backend, inv: Inventory, digest: str, size: int, out: IO[bytes]
) -> None:
    """Append one blob's verified bytes to the open pack ``out``: from the local store, else
    from the remote's (old) copy."""
    store = repository.store
    part = copy_target_in(repository.tmp_dir)
    try:
        if store.has(digest):
            store.materialize(digest, part, "copy")  # verified by the store
        else:
            _fetch_remote_copy(backend, inv, digest, size, part)
        with open(part, "rb") as src:
            shutil.copyfileobj(src, out, _CHUNK)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part)


def _fetch_remote_copy(backend: Backend, inv: Inventory, digest: str, size: int, dst: Path) -> None:
    """The remote's own copy of a blob this machine does not hold, re-hashed."""
    loc = inv.packed.get(digest)
    if loc is not None and loc.length == size:
        dst.write_bytes(backend.read_range(pack_key(loc.pack), loc.offset, loc.offset + loc.length))
    else:
        backend.download(object_key(digest), dst, size)
    if hash_file(dst, size) != digest:
        raise IntegrityError(
            f"object {digest[:12]} on remote {backend.url} is corrupt (digest mismatch); not pushed again",
            hint="push it from a clone that holds the file (`artctl pull --all` there first)",
        )


def _intact(pack: Path, entries: list[tuple[str, int, int]]) -> bool:
    """Every blob of the pack about to be uploaded still hashes to its name."""
    return all(hash_bytes(read_slice(pack, o, n)) == d for d, o, n in entries)
