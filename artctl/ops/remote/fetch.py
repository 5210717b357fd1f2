"""Fetching from a remote into the local repository: manifests, run records and blobs.

Everything fetched is checked before it is written: manifests by digest and parse (every path
validated), run records by parse, blobs by digest (:mod:`artctl.ops.remote.source`).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from artctl.backend.base import MAX_MANIFEST_BYTES, Backend
from artctl.base.crashpoints import crash_point, declare
from artctl.base.hashing import hash_bytes
from artctl.base.progress import announce_total
from artctl.errors import ArtctlError, IntegrityError, ObjectNotFound
from artctl.format.layout import (
    RUNS,
    index_file_name,
    manifest_key,
    object_key,
    parse_key,
    record_id_of_file,
    run_key,
)
from artctl.format.manifest import Manifest
from artctl.format.records import VersionRecord, loads
from artctl.ops.remote import inventory as inventory_mod
from artctl.ops.remote.config import RemoteSpec
from artctl.ops.remote.download import (
    FromRemote,
    fetch_loose_to_store,
    fetch_pack_to_store,
    record_pack_copy,
)
from artctl.ops.remote.transfer import Progress, TransferResult, parallel, record_copies
from artctl.repository.state import RemoteCopy

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

PULL_OBJECT_FETCHED = declare(
    "pull.object-fetched",
    "one more pack or loose object in the store, verified before it was published (pull --all)",
)


def read_manifests(
    repository: Repository, spec: RemoteSpec, backend: Backend, digests: set[str]
) -> dict[str, bytes]:
    """Manifests the local repository lacks, verified (digest) and parsed (every path checked)
    — nothing is written here, so a bad one stops the pull before any local change."""
    have = {d for d in digests if repository.manifest_path(d).exists()}
    fetched = backend.read_many((manifest_key(d) for d in sorted(digests - have)), MAX_MANIFEST_BYTES)
    out: dict[str, bytes] = {}
    for rel, data in fetched.items():
        found = parse_key(rel)
        assert found is not None and found.kind == "manifest", rel  # asked for by manifest_key
        digest = found.ident
        if data is None:
            raise ObjectNotFound(
                f"remote {spec.name} lacks manifest {digest[:12]} of a version it lists",
                hint="the remote is damaged or a push is in progress; retry later",
            )
        if hash_bytes(data) != digest:
            raise IntegrityError(f"manifest {digest[:12]} on remote {spec.name} is corrupt (digest mismatch)")
        Manifest.parse(data, f"remote manifest {digest[:12]}")  # validates every path
        out[digest] = data
    return out


def write_manifests(repository: Repository, remote: str, manifests: dict[str, bytes]) -> None:
    """Store manifests fetched from ``remote``, each marked as such first (``get`` trusts
    their references less than the user's own)."""
    from artctl.base.fsutil import atomic_write_bytes

    for digest, data in manifests.items():
        repository.mark_from_remote(digest, remote)
        atomic_write_bytes(
            repository.manifest_path(digest),
            data,
            tmp_dir=repository.tmp_dir,
            mode=0o444,
            fsync=repository.fsync,
        )


def remote_runs(repository: Repository, backend: Backend, skipped: list[str]) -> dict[str, bytes]:
    """Run records the local repository lacks (validated before anything is written; a damaged
    one is left out and described in ``skipped``)."""
    ids = [record_id_of_file(n) for n in backend.listdir(RUNS)]
    missing = []
    for run_id in filter(None, ids):
        try:
            path = repository.runs.path(run_id)
        except Exception:  # noqa: BLE001 - an invalid id on the remote is skipped, not trusted
            continue
        if not path.exists():
            missing.append(run_id)
    data = backend.read_many(run_key(r) for r in missing)
    out = {}
    from artctl.repository.runs import RunRecord

    for run_id in missing:
        raw = data.get(run_key(run_id))
        if raw is None:
            continue
        where = f"{backend.url}/{run_key(run_id)}"
        try:
            record = RunRecord.from_json(loads(raw, where), where)
        except ArtctlError as exc:
            skipped.append(f"{exc.message}: run {run_id} is skipped")
            continue
        if record.id != run_id:
            continue
        out[run_id] = raw
    return out


def fetch_objects(
    repository: Repository,
    spec: RemoteSpec,
    backend: Backend,
    inv: inventory_mod.Inventory,
    records: list[VersionRecord],
    result: TransferResult,
    progress: Progress | None,
) -> TransferResult:
    """Fetch every blob of ``records`` the local store lacks: whole packs, loose objects."""
    from dataclasses import replace

    store = repository.store
    needed: dict[str, int] = {}
    for record in records:
        for entry in repository.read_manifest(record.manifest):
            if entry.digest is not None and entry.ref is None:
                needed[entry.digest] = entry.size
    present = store.has_many(needed)
    missing = set(needed) - present
    packs = sorted({inv.packed[d].pack for d in missing if d in inv.packed})
    loose = sorted(d for d in missing if d not in inv.packed)
    absent = [d for d in loose if d not in inv.loose]
    if absent:
        raise ObjectNotFound(
            f"{len(absent)} object(s) (e.g. {absent[0][:12]}) are not on remote {spec.name}",
            hint="the remote is incomplete; push them from a clone that has them",
        )
    moved = {"bytes": 0, "files": 0}
    counter_lock = threading.Lock()

    announce_total(
        progress,
        len(packs) + len(loose),
        sum(inv.packs.get(p, 0) for p in packs) + sum(needed[d] for d in loose),
    )

    def count(fetched: FromRemote, blob_bytes: int) -> None:
        crash_point(PULL_OBJECT_FETCHED)
        with counter_lock:
            if not fetched.cached:  # bytes the user cache already had did not move
                moved["bytes"] += fetched.downloaded
                moved["files"] += 1
        if progress:  # counted as its blobs, as the announced total is
            progress(1, blob_bytes)

    def get_pack(pack_id: str) -> None:
        idx = (inventory_mod.cache_dir(repository, spec.key) / index_file_name(pack_id)).read_bytes()
        fetched = fetch_pack_to_store(repository, spec.name, backend, pack_id, idx, inv.ends[pack_id])
        if spec.configured and fetched.verified:
            record_pack_copy(repository, spec.name, pack_id, idx)
        count(fetched, inv.packs.get(pack_id, fetched.downloaded))

    def get_loose(digest: str) -> None:
        fetched = fetch_loose_to_store(repository, backend, digest, needed[digest])
        if fetched.verified:
            record_copies(repository, spec, [RemoteCopy(digest, object_key(digest), needed[digest])])
        count(fetched, needed[digest])

    parallel(backend, get_pack, packs)
    parallel(backend, get_loose, loose)
    return replace(
        result,
        objects=len(missing),
        bytes=moved["bytes"],
        files=moved["files"],
        objects_skipped=len(present),
        bytes_skipped=sum(needed[d] for d in present),
    )
