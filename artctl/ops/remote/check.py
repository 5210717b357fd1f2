"""Is the copy of a blob that a remote is supposed to hold really there? (``verify --remote``)

A packed blob is read back with one ranged request and hashed (BLAKE3: packed blobs are small,
so this is cheap and proves the bytes); a loose object — large by construction — is checked for
existence and exact length with a two-byte ranged read at its end, without downloading it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from artctl.base.hashing import hash_bytes
from artctl.format.layout import object_key, pack_key
from artctl.ops.remote import inventory as inventory_mod
from artctl.ops.remote.config import RemoteSpec

if TYPE_CHECKING:
    from artctl.backend.base import Backend
    from artctl.repository.repo import Repository


@dataclass(frozen=True)
class RemoteCopy:
    """The outcome of checking one blob on one remote: ``problem`` is None when it is intact."""

    remote: str
    problem: str | None
    hashed: bool = False


def check_copies(repository: Repository, spec: RemoteSpec, sizes: dict[str, int]) -> dict[str, RemoteCopy]:
    """Check the copy on ``spec`` of every blob in ``sizes`` (digest -> length); one result each."""
    from artctl.ops.remote.config import backend_for

    if not sizes:
        return {}
    backend = backend_for(repository, spec)
    inv = inventory_mod.refresh(repository, spec.name, backend, list_loose=False)

    def one(digest: str) -> tuple[str, RemoteCopy]:
        return digest, _check_one(backend, spec.name, inv, digest, sizes[digest])

    with ThreadPoolExecutor(max_workers=max(1, min(backend.jobs, len(sizes)))) as pool:
        return dict(pool.map(one, sorted(sizes)))


def _check_one(
    backend: Backend, remote: str, inv: inventory_mod.Inventory, digest: str, size: int
) -> RemoteCopy:
    loc = inv.packed.get(digest)
    try:
        if loc is not None:
            data = backend.read_range(pack_key(loc.pack), loc.offset, loc.offset + loc.length)
            if len(data) != loc.length:
                return RemoteCopy(remote, f"pack {loc.pack[:12]} on remote {remote} is truncated")
            if hash_bytes(data) != digest:
                return RemoteCopy(
                    remote, f"the copy in pack {loc.pack[:12]} on remote {remote} is corrupt", hashed=True
                )
            return RemoteCopy(remote, None, hashed=True)
        tail = backend.read_range(object_key(digest), max(0, size - 1), size + 1)
    except FileNotFoundError:
        where = f"pack {loc.pack[:12]}" if loc is not None else "the object"
        return RemoteCopy(remote, f"{where} is not on remote {remote}")
    if len(tail) != min(size, 1):
        return RemoteCopy(remote, f"the object on remote {remote} does not have its length ({size} bytes)")
    return RemoteCopy(remote, None)
