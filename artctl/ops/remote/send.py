"""Sending blobs to a remote: whole local packs, then their indexes, and loose objects; and the
content side of a push kept fresh for a concurrent remote gc (:class:`PushContent`)."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from artctl.backend.base import Backend
from artctl.base.hashing import hash_bytes, hash_file
from artctl.base.progress import announce_total
from artctl.errors import IntegrityError, ObjectNotFound, RemoteError
from artctl.format.layout import MANIFESTS, index_key, manifest_key, object_key, pack_key, parse_key
from artctl.ops.remote import inventory as inventory_mod
from artctl.ops.remote.config import RemoteSpec
from artctl.ops.remote.transfer import Progress, parallel, record_copies
from artctl.repository.state import RemoteCopy

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

#: Test hook: seconds to sleep before each blob upload, so a test can kill a push mid-way.
_DELAY_ENV = "ARTCTL_TEST_TRANSFER_DELAY"
#: Listing passes a push makes before giving up on creating its versions while the files it
#: relies on are young enough (each pass only sends what the previous one could not cover).
MAX_PASSES = 5


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
    since: float | None = None,
) -> _Sent:
    """Upload the blobs of ``needed`` the remote lacks: whole local packs, then their ``.idx``
    (an index on the remote is the proof that its pack is complete), and loose objects.

    "Lacks" is judged by ``inv``, which lists only packs present at their full length and loose
    objects of the right size, and — with ``since`` (store clock) — only files modified since
    then: an older copy may be going away under a concurrent remote gc. Such a blob is sent again
    under a name the listing did not show (:func:`artctl.ops.remote.fresh_pack.send_fresh_pack`),
    never by overwriting a listed file that gc may be deleting. What is uploaded is recorded as
    a verified remote copy; what is skipped is not (this machine never checked those bytes),
    so it stays pinned in the cache.
    """
    from artctl.ops.remote.fresh_pack import send_fresh_pack

    store = repository.store
    missing = {d for d in needed if not inv.has_since(d, needed[d], since)}
    store.refresh()
    where = store.placement(missing)
    # a listed name is never uploaded again: what it would carry goes into a new pack
    again = {d for p in where.packs if p in inv.listed_packs for d in where.packs[p]}
    again |= {d for d in where.loose if d in inv.loose}
    again |= {d for d in where.absent if inv.has(d, needed[d])}  # only on the remote, old
    packs = {p: ds for p, ds in where.packs.items() if p not in inv.listed_packs}
    loose = {d for d in where.loose if d not in inv.loose}
    lacking = sorted(where.absent - again)
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
    if again:
        fresh = send_fresh_pack(repository, spec, backend, {d: needed[d] for d in again}, inv)
        result.bytes += fresh
        result.files += 1
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


class PushContent:
    """The blobs and manifests of one push, sent so that a remote gc running at the same time
    can never delete what the push's version records will name (docs/remotes.md, "Garbage
    collection on a remote"):

    * a file already on the remote is relied on only when the store says it is younger than
      half of ``gc.remote_grace`` (``grace``) when it is listed; an older one is sent again —
      blobs in a new pack (:mod:`artctl.ops.remote.fresh_pack`), manifests rewritten and
      checked again after the versions are created (:meth:`confirm`);
    * a version record is created only while that listing is younger than a quarter of the
      grace (:meth:`ensure_fresh` lists and sends again otherwise), so every file a new version
      needs is younger than the grace when the record appears, less the clock-skew margin.
    """

    def __init__(
        self,
        repository: Repository,
        spec: RemoteSpec,
        backend: Backend,
        needed: dict[str, int],
        manifests: dict[str, bytes],
        progress: Progress | None = None,
    ) -> None:
        self.repository, self.spec, self.backend = repository, spec, backend
        self.needed, self.manifests, self.progress = needed, manifests, progress
        self.grace = repository.settings.remote_grace_seconds
        self.sent = _Sent()
        self.manifests_sent = 0
        self._listed_at = 0.0  # time.monotonic() when the blobs were last listed
        self._since = 0.0  # store-clock time from which a listed file counts as young
        self._rewritten: set[str] = set()

    def send_blobs(self) -> None:
        """List the remote's blobs and send those it lacks or holds only in old files."""
        self._listed_at = time.monotonic()
        self._since = time.time() - self.grace / 2
        inv = inventory_mod.refresh(self.repository, self.spec.key, self.backend)
        sent = send_blobs(
            self.repository, self.spec, self.backend, self.needed, inv, self.progress, self._since
        )
        for name in ("objects", "blob_bytes", "bytes", "files"):
            setattr(self.sent, name, getattr(self.sent, name) + getattr(sent, name))

    def send_manifests(self) -> None:
        """Write the manifests the remote lacks, and again those it holds only in old files."""
        listed: dict[str, float] = {}
        for rel, stat in self.backend.list_stats(MANIFESTS).items():
            found = parse_key(rel)
            if found is not None and found.kind == "manifest":
                listed[found.ident] = stat.mtime
        todo = [d for d in self.manifests if listed.get(d, -1.0) < self._since]
        self._rewritten |= {d for d in todo if d in listed}
        parallel(self.backend, lambda d: self.backend.write(manifest_key(d), self.manifests[d]), todo)
        self.manifests_sent += len(todo)

    def ensure_fresh(self) -> None:
        """Before a version record is created: list and send again when the last listing is
        older than a quarter of the grace."""
        for _attempt in range(MAX_PASSES):
            if time.monotonic() - self._listed_at <= self.grace / 4:
                return
            self.send_blobs()
            self.send_manifests()
        raise RemoteError(
            f"push to {self.spec.name}: listing and sending took longer than a quarter of "
            f"gc.remote_grace ({self.grace} s) {MAX_PASSES} times, so no version was created",
            hint="set gc.remote_grace (and `gc --remote --grace`) to a longer period",
        )

    def confirm(self) -> None:
        """After the version records: write again any rewritten manifest that a gc which had
        listed its old file deleted meanwhile (that gc also restores it: docs/remotes.md)."""
        if not self._rewritten:
            return
        keys = {manifest_key(d): d for d in sorted(self._rewritten)}
        gone = [keys[k] for k, size in self.backend.sizes(keys).items() if size is None]
        parallel(self.backend, lambda d: self.backend.write(manifest_key(d), self.manifests[d]), gone)
