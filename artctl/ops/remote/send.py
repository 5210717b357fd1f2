"""Sending blobs to a remote: whole local packs, then their indexes, and loose objects."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from artctl.backend.base import Backend
from artctl.base.hashing import hash_bytes, hash_file
from artctl.base.progress import announce_total
from artctl.errors import IntegrityError, ObjectNotFound
from artctl.format.layout import index_key, object_key, pack_key
from artctl.ops.remote import inventory as inventory_mod
from artctl.ops.remote.config import RemoteSpec
from artctl.ops.remote.transfer import Progress, parallel, record_copies
from artctl.repository.state import RemoteCopy

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

#: Test hook: seconds to sleep before each blob upload, so a test can kill a push mid-way.
_DELAY_ENV = "ARTCTL_TEST_TRANSFER_DELAY"


@dataclass
class _Sent:
    objects: int = 0
    blob_bytes: int = 0
    bytes: int = 0
    files: int = 0


def send_blobs(
    repository: Repository,
    spec: RemoteSpec,
    backend: Backend,
    needed: dict[str, int],
    inv: inventory_mod.Inventory,
    progress: Progress | None = None,
) -> _Sent:
    """Upload the blobs of ``needed`` the remote lacks: whole local packs, then their ``.idx``
    (an index on the remote is the proof that its pack is complete), and loose objects.

    "Lacks" is judged by ``inv``, which lists only packs present at their full length and loose
    objects of the right size. What is uploaded is recorded as a verified remote copy; what is
    skipped is not (this machine never checked those bytes), so it stays pinned in the cache.
    """
    store = repository.store
    missing = {d for d in needed if not inv.has(d, needed[d])}
    store.refresh()
    where = store.placement(missing)
    packs, loose = where.packs, where.loose
    lacking = sorted(where.absent)
    if lacking:
        raise ObjectNotFound(
            f"{len(lacking)} object(s) (e.g. {lacking[0][:12]}) are neither in the "
            f"local store nor on remote {spec.name}",
            hint="fetch them first (`artctl pull --all`), or re-put the files",
        )
    delay = float(os.environ.get(_DELAY_ENV, "0") or 0)
    result = _Sent()
    counter_lock = threading.Lock()
    uploaded: dict[str, int] = {}  # pack id or digest -> size of the file sent

    def send(item: tuple[str, str]) -> None:
        kind, ident = item
        if delay:
            time.sleep(delay)
        path = store.pack_path(ident) if kind == "pack" else store.object_path(ident)
        size = path.stat().st_size

        def intact() -> bool:
            return _pack_ok(store, ident) if kind == "pack" else hash_file(path, size) == ident

        if not backend.upload(pack_key(ident) if kind == "pack" else object_key(ident), path, intact):
            raise IntegrityError(
                f"local {kind} {ident[:12]} is corrupt (digest mismatch); not pushed",
                hint="run `artctl artifact verify`",
            )
        with counter_lock:
            result.bytes += size
            result.files += 1
            uploaded[ident] = size
        if progress:
            progress(1, size)

    items = [("pack", p) for p in sorted(packs)] + [("loose", d) for d in sorted(loose)]
    announce_total(
        progress,
        len(items),
        sum((store.pack_path(i) if k == "pack" else store.object_path(i)).stat().st_size for k, i in items),
    )
    parallel(backend, send, items)
    parallel(
        backend,
        lambda p: backend.write(index_key(p), store.index_path(p).read_bytes()),
        sorted(packs),
    )
    copies = [RemoteCopy(d, object_key(d), uploaded[d]) for d in loose]
    copies += [
        RemoteCopy(d, pack_key(p), uploaded[p])
        for p in packs
        for d, _o, _n in repository.state.blobs_of_pack(p)
    ]
    record_copies(repository, spec, copies)
    result.objects = len(missing)
    result.blob_bytes = sum(needed[d] for d in missing)
    return result


def _pack_ok(store, pack_id: str) -> bool:
    """A local pack is intact: its index names it and every blob matches its digest."""
    from artctl.repository.packs import decode_index, pack_id_for

    try:
        blobs = decode_index(store.index_path(pack_id).read_bytes(), pack_id)
        if pack_id_for(blobs) != pack_id:
            return False
        data = store.pack_path(pack_id).read_bytes()
    except (IntegrityError, FileNotFoundError):
        return False
    return all(len(data) >= o + n and hash_bytes(data[o : o + n]) == d for d, o, n in blobs)
