"""Garbage collection on a remote, beside concurrent pushers, with no lock anywhere.

The protocol and the argument for it are in docs/remotes.md, "Garbage collection on a remote".
In short, :func:`collect`:

1. writes a marker under ``gc/`` and reads back its modification time: ``t_m``, the start of
   this gc by the *store's* clock (:func:`store_clock`);
2. only then reads the registry and the distributed area (:mod:`~artctl.ops.remote.gc_mark`):
   a version that is deleted or past its TTL is not live;
3. lists the files with their modification times and plans (:mod:`~artctl.ops.remote.gc_sweep`):
   a file goes only when nothing live needs it and it is older than ``t_m - grace``;
4. executes, in an order that never leaves a live version short of a byte: a tombstone for
   each version past its TTL (as local gc soft-deletes them first) → packs rewritten
   (new ``.pack``, new ``.idx``, old ``.idx``, old ``.pack``) and dead packs deleted (``.idx``
   first: an index is the proof its pack is complete) → loose objects → manifests → a
   :class:`~artctl.format.snapshots.PurgeMarker` for each dead version whose manifest is gone;
5. reads the registry again and writes back any manifest it deleted that a version created
   meanwhile names (a push that rewrote an old manifest checks too: ``send.PushContent``).

Only one gc runs on a remote at a time: a non-dry run takes the lease of
:mod:`~artctl.ops.remote.gc_lease` right after its marker and checks it still holds it before
each destructive step.

A killed gc leaves only fewer files than it planned to delete — never a live version short of a
file — and the re-run finishes (crash points ``remote-gc.*``). ``dry_run`` writes nothing, not
even the marker: ``t_m`` is then this machine's clock.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artctl.backend.base import MAX_MANIFEST_BYTES, Backend
from artctl.base.crashpoints import crash_point, declare
from artctl.base.hashing import hash_bytes
from artctl.errors import RemoteError
from artctl.format.layout import (
    FORMAT_FILE,
    index_key,
    manifest_key,
    pack_key,
    purge_marker_key,
    tombstone_key,
)
from artctl.format.names import parse_name
from artctl.format.records import dumps, utcnow
from artctl.format.snapshots import PurgeMarker, Tombstone
from artctl.ops.remote.config import backend_for, get_remote
from artctl.ops.remote.gc_lease import LEASE_DIR, Lease
from artctl.ops.remote.gc_mark import RemoteLive, mark, read_versions
from artctl.ops.remote.gc_sweep import Doomed, Repack, SweepPlan, plan
from artctl.ops.remote.protocol import open_remote
from artctl.repository.packs import PACK_MAGIC, encode_index, pack_id_for, read_slice

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

#: S3 and Azure keep modification times in whole seconds: a file may look up to this much older
#: than it is, so gc keeps that much more than the grace — and with a grace of 0 ("everything
#: unreferenced, now"), it takes files up to that much younger than its start marker.
MTIME_RESOLUTION = 1.0
#: Where gc's start markers live on the remote.
GC_DIR = "gc"

MARKED = declare("remote-gc.marked", "the plan made, nothing deleted: the re-run plans again")
EXPIRED_DELETED = declare(
    "remote-gc.expired-deleted",
    "versions past their TTL got a tombstone (they were already invisible), no byte deleted: the "
    "re-run purges them as deleted versions",
)
REPACK_WRITTEN = declare(
    "remote-gc.repack-written",
    "a rewritten pack and its .idx on the remote beside the old one: live blobs in two packs; "
    "the re-run deletes the old one",
)
OLD_INDEX_DELETED = declare(
    "remote-gc.old-index-deleted",
    "an old pack's .idx deleted, its .pack not yet: readers ignore a pack without an index; the "
    "re-run deletes it as an interrupted pack",
)
PACKS_SWEPT = declare("remote-gc.packs-swept", "dead packs deleted, loose objects and manifests not yet")
OBJECTS_SWEPT = declare("remote-gc.objects-swept", "dead loose objects deleted, manifests not yet")
MANIFESTS_SWEPT = declare(
    "remote-gc.manifests-swept",
    "dead manifests deleted, no purge marker yet: the versions read as deleted or expired as "
    "before; the re-run writes the markers",
)
PURGE_MARKED = declare(
    "remote-gc.purge-marked", "purge markers written (@N: after the N-th); the re-run writes the rest"
)


@dataclass(frozen=True)
class RemoteGcReport:
    """What one remote gc did (or, with ``dry_run``, would do): the ``--json`` summary."""

    url: str
    dry_run: bool
    grace_seconds: int
    expired: list[str] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)
    files: list[Doomed] = field(default_factory=list)
    packs_repacked: int = 0
    bytes_freed: int = 0
    young_kept: int = 0
    young_bytes: int = 0
    dead_bytes_kept: int = 0
    restored: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def count(self, why: str) -> int:
        return sum(1 for f in self.files if f.why == why)

    def to_json(self) -> dict[str, Any]:
        return {
            "remote": self.url,
            "dry_run": self.dry_run,
            "grace_seconds": self.grace_seconds,
            "expired": self.expired,
            "purged": self.purged,
            "manifests": self.count("manifest"),
            "objects": self.count("object"),
            "packs_deleted": len({f.rel.rsplit(".", 1)[0] for f in self.files if f.why == "pack"}),
            "packs_repacked": self.packs_repacked,
            "interrupted_packs": self.count("interrupted pack"),
            "files": [{"path": f.rel, "bytes": f.size, "kind": f.why} for f in self.files],
            "bytes_freed": self.bytes_freed,
            "young_kept": self.young_kept,
            "young_bytes": self.young_bytes,
            "dead_bytes_kept": self.dead_bytes_kept,
            "restored": self.restored,
            "problems": self.problems,
        }


def collect(
    backend: Backend, *, grace: int, dry_run: bool, now: datetime | None = None, force: bool = False
) -> RemoteGcReport:
    """Garbage-collect the remote at ``backend`` (module docstring). ``grace`` in seconds;
    ``now`` decides which versions are past their TTL (default: this machine's clock);
    ``force`` takes the gc lease even from a gc that looks alive."""
    if backend.read_or_none(FORMAT_FILE) is None and backend.check_location() and not backend.listdir(""):
        raise RemoteError(f"remote {backend.url} is empty: there is nothing to collect")
    open_remote(backend, create=False)  # an unknown FORMAT, or somebody else's files, is refused
    now = now or datetime.now(timezone.utc)
    marker = (
        None if dry_run else f"{GC_DIR}/{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:12]}.json"
    )
    started = time.time() if marker is None else store_clock(backend, marker)
    if marker is None:
        return _collect(backend, grace, started, now, None, None)
    try:
        lease = Lease.acquire(backend, started, force=force)
    except BaseException:
        backend.delete(marker)
        raise
    try:
        return _collect(backend, grace, started, now, marker, lease)
    finally:
        lease.release()


def _collect(
    backend: Backend, grace: int, started: float, now: datetime, marker: str | None, lease: Lease | None
) -> RemoteGcReport:
    """Mark, plan and (with a ``lease``, not a dry run) sweep: steps 2 to 5 of the module docstring."""
    live = mark(backend, now)
    sweep = plan(backend, live, started - grace - MTIME_RESOLUTION if grace else started + MTIME_RESOLUTION)
    crash_point(MARKED)
    gone_manifests = {f.rel for f in sweep.manifests}
    dead = [r for r in live.dead if r.manifest not in live.manifests]
    purge = [
        r
        for r in dead
        if manifest_key(r.manifest) in gone_manifests or r.manifest not in sweep.present_manifests
    ]
    report: dict[str, Any] = {
        "expired": [f"{r.name}:{r.version}" for r in live.expired],
        "purged": [f"{r.name}:{r.version}" for r in purge],
        "young_kept": sweep.young_kept,
        "young_bytes": sweep.young_bytes,
        "dead_bytes_kept": sweep.dead_bytes_kept,
        "problems": live.problems + sweep.problems,
    }
    if lease is None:
        freed = sum(f.size for f in sweep.files()) + sum(r.dead_bytes for r in sweep.repacks)
        return RemoteGcReport(
            backend.url,
            True,
            grace,
            files=sweep.files(),
            packs_repacked=len(sweep.repacks),
            bytes_freed=freed,
            **report,
        )
    assert marker is not None
    hold = lease.hold
    for record in live.expired:  # as local gc: a version past its TTL is deleted first
        hold()
        stone = Tombstone.of(record.evolve(deleted_at=utcnow()))
        backend.create(tombstone_key(parse_name(record.name), record.index), dumps(stone.to_json()))
    crash_point(EXPIRED_DELETED)
    freed, repacked, saved = _execute(backend, sweep, report["problems"], hold)
    for record in purge:
        hold()
        name = parse_name(record.name)
        doc = PurgeMarker(record.name, record.index, utcnow()).to_json()
        backend.create(purge_marker_key(name, record.index), dumps(doc))
        crash_point(PURGE_MARKED)
    hold()
    restored = _restore(backend, live, saved)
    hold()
    _forget_markers(backend, marker, started - max(grace, 3600))
    hold()
    _compact_index(backend, report["problems"])
    files = [
        f for f in sweep.files() if f.why != "repacked" or f.rel.rsplit("/", 1)[-1].split(".")[0] in repacked
    ]
    return RemoteGcReport(
        backend.url,
        False,
        grace,
        files=files,
        packs_repacked=len(repacked),
        bytes_freed=freed,
        restored=restored,
        **report,
    )


def store_clock(backend: Backend, marker: str) -> float:
    """Write ``marker`` and return its modification time: now, by the store's own clock."""
    backend.write(marker, dumps({"format": 1, "kind": "artctl-gc-start", "at": utcnow()}))
    stat = backend.list_stats(GC_DIR).get(marker)
    if stat is None:
        raise RemoteError(
            f"remote {backend.url} does not list the file gc just wrote ({marker})", hint="retry"
        )
    return stat.mtime


def _execute(
    backend: Backend, sweep: SweepPlan, problems: list[str], hold: Callable[[], None]
) -> tuple[int, set[str], dict[str, bytes]]:
    """Delete and rewrite what ``sweep`` says, in the safe order; return the bytes freed, the
    packs rewritten and the bytes of the manifests deleted (for :func:`_restore`). ``hold`` runs
    before each destructive step: it raises once the gc lease is lost."""
    freed = 0
    repacked: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="artctl-remote-gc-") as scratch:
        for item in sweep.repacks:
            got = _repack(backend, item, Path(scratch), problems, hold)
            if got is not None:
                freed += got
                repacked.add(item.pack_id)
    for doomed in sweep.packs:  # an .idx is listed before its .pack
        hold()
        backend.delete(doomed.rel)
        freed += doomed.size
    crash_point(PACKS_SWEPT)
    for doomed in sweep.objects:
        hold()
        backend.delete(doomed.rel)
        freed += doomed.size
    crash_point(OBJECTS_SWEPT)
    keys = [d.rel for d in sweep.manifests]
    saved = {
        rel: data for rel, data in backend.read_many(keys, MAX_MANIFEST_BYTES).items() if data is not None
    }
    for doomed in sweep.manifests:
        hold()
        backend.delete(doomed.rel)
        freed += doomed.size
    crash_point(MANIFESTS_SWEPT)
    return freed, repacked, saved


def _repack(
    backend: Backend, item: Repack, scratch: Path, problems: list[str], hold: Callable[[], None]
) -> int | None:
    """Rewrite one pack with its live blobs; the bytes freed, or None when it was left alone."""
    old = scratch / f"{item.pack_id}.pack"
    end = max(o + n for _d, o, n in item.blobs)
    try:
        backend.download(pack_key(item.pack_id), old, end)
    except FileNotFoundError:  # another gc took it: nothing to do here
        return None
    new = scratch / "new.pack"
    entries = []
    with open(new, "wb") as out:
        out.write(PACK_MAGIC)
        for digest, offset, length in sorted(item.blobs, key=lambda b: b[1]):
            if digest not in item.keep:
                continue
            data = read_slice(old, offset, length)
            if hash_bytes(data) != digest:
                problems.append(
                    f"pack {item.pack_id[:12]} on the remote holds a corrupt blob {digest[:12]}: left alone"
                )
                return None
            entries.append((digest, out.tell(), length))
            out.write(data)
    new_id = pack_id_for(entries)
    backend.upload(pack_key(new_id), new)
    idx = encode_index(entries)
    backend.write(index_key(new_id), idx)
    crash_point(REPACK_WRITTEN)
    hold()
    backend.delete(index_key(item.pack_id))
    crash_point(OLD_INDEX_DELETED)
    hold()
    backend.delete(pack_key(item.pack_id))
    with contextlib.suppress(FileNotFoundError):
        old.unlink()
    return max(0, item.size - new.stat().st_size - len(idx))


def _compact_index(backend: Backend, problems: list[str]) -> None:
    """Rewrite the compacted registry index once gc changed the registry (tombstones, purge
    markers, deleted manifests), so readers of a big remote keep reading it in a few requests.
    The index is a cache: failing to write it is a problem line, never a failed gc."""
    from artctl.ops.remote.index import compact

    try:
        compact(backend)
    except RemoteError as exc:
        problems.append(f"the registry index was not rewritten: {exc.message}")


def _restore(backend: Backend, live: RemoteLive, saved: dict[str, bytes]) -> list[str]:
    """Write back every deleted manifest that a version created since the mark names."""
    if not saved:
        return []
    scratch = RemoteLive()
    restored = []
    for record in read_versions(backend, scratch, skip=live.version_keys):
        rel = manifest_key(record.manifest)
        if rel in saved:
            backend.write(rel, saved[rel])
            restored.append(f"{record.name}:{record.version}")
    return restored


def _forget_markers(backend: Backend, marker: str, before: float) -> None:
    """Delete this gc's marker and those of gc runs that died long ago."""
    for rel, stat in backend.list_stats(GC_DIR).items():
        if rel.startswith(LEASE_DIR + "/"):  # the lease is released by its holder, not swept
            continue
        if rel == marker or stat.mtime < before:
            backend.delete(rel)


def collect_remote(
    repository: Repository,
    remote: str | None,
    *,
    grace: int | None = None,
    dry_run: bool = False,
    force: bool = False,
) -> RemoteGcReport:
    """:func:`collect` on a configured remote (a name or a URL) of ``repository``; ``grace``
    defaults to its ``gc.remote_grace``."""
    spec = get_remote(repository, remote)
    seconds = repository.settings.remote_grace_seconds if grace is None else grace
    return collect(backend_for(repository, spec), grace=seconds, dry_run=dry_run, force=force)
