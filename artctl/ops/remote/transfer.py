"""push, pull and clone: moving versions between a repository and a remote.

Write order on the remote is the local one (docs/remotes.md): blobs (whole packs, then their
``.idx``; loose objects) → manifests → version records (exclusive create) → alias snapshots →
run records. A push killed at any point leaves only unreferenced content on the remote, and
re-running it sends only what is missing, because "present" is decided by listing the remote.

Pull and clone fetch metadata (registry, runs, manifests, pack indexes); object bytes come
when ``get`` needs them (``artctl.ops.remote.source``), or all at once with ``fetch_all``. Every
manifest is verified and parsed (paths validated) before anything is written locally.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artctl.backend.fs import MAX_MANIFEST_BYTES, Backend, open_backend
from artctl.base.crashpoints import crash_point, declare
from artctl.base.hashing import hash_bytes, hash_file
from artctl.base.progress import announce_total
from artctl.errors import ArtctlError, ArtifactNotFound, IntegrityError, InvalidInput, ObjectNotFound
from artctl.format.manifest import Manifest
from artctl.format.names import ArtifactName, parse_name, parse_ref
from artctl.format.records import VersionRecord, dumps, loads
from artctl.ops.remote import inventory as inventory_mod
from artctl.ops.remote.config import RemoteSpec, add_remote, check_backend, get_remote
from artctl.ops.remote.protocol import (
    RemoteArtifact,
    ensure_artifact,
    idx_rel,
    manifest_rel,
    object_rel,
    open_remote,
    pack_rel,
    publish_deletion,
    publish_version,
    read_registry,
    run_rel,
    update_aliases,
)
from artctl.ops.remote.sync import Renumbered, match_versions, merge_artifact
from artctl.repository.state import RemoteCopy

if TYPE_CHECKING:
    from artctl.api.repo import Repo
    from artctl.repository.repo import Repository

Progress = Callable[[int, int], None]

# The write order of push and pull as crash points (docs/robustness.md); the merge of each
# artifact adds its own (``push.*``/``pull.*`` in artctl.ops.remote.sync).
PUSH_OBJECTS_SENT = declare(
    "push.objects-sent",
    "blobs and pack indexes on the remote, nothing names them "
    "yet; local state untouched; the re-run sends nothing again",
)
PUSH_MANIFESTS_SENT = declare("push.manifests-sent", "manifests on the remote too, still unreferenced")
PUSH_VERSION_CREATED = declare(
    "push.version-created",
    "one more version record on the remote, complete (its "
    "manifest and blobs were there first); the local registry untouched",
)
PUSH_DELETION_PUBLISHED = declare(
    "push.deletion-published",
    "one more tombstone on the remote; the remote version it marks is deleted for every reader",
)
PUSH_ALIASES_SENT = declare(
    "push.aliases-sent",
    "the artifact's aliases moved on the remote; the local "
    "registry still has its old numbers, the re-run maps them again",
)
PUSH_MANIFESTS_FETCHED = declare(
    "push.manifests-fetched", "the remote's manifests stored locally, unreferenced until the merge"
)
PUSH_RUNS_SENT = declare(
    "push.runs-sent",
    "everything pushed and merged, run records sent: the push is complete (the re-run sends nothing)",
)
PULL_MANIFESTS_WRITTEN = declare(
    "pull.manifests-written", "the remote's manifests stored locally, unreferenced; the registry as before"
)
PULL_RUNS_WRITTEN = declare("pull.runs-written", "registry merged, the remote's run records created")
PULL_OBJECT_FETCHED = declare(
    "pull.object-fetched",
    "one more pack or loose object in the store, verified before it was published (pull --all)",
)
#: Test hook: seconds to sleep before each blob upload, so a test can kill a push mid-way.
_DELAY_ENV = "ARTCTL_TEST_TRANSFER_DELAY"


@dataclass(frozen=True)
class TransferResult:
    """What a push, pull or clone did: the ``--json`` summary."""

    direction: str  # "push", "pull" or "clone"
    remote: str
    url: str
    objects: int = 0  # blobs sent / fetched
    bytes: int = 0  # bytes of files sent / fetched
    files: int = 0  # files moved (packs + loose objects)
    objects_skipped: int = 0  # blobs the other side already had
    bytes_skipped: int = 0
    manifests: int = 0
    versions: list[str] = field(default_factory=list)  # refs created on the other side
    renumbered: list[Renumbered] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # push: versions marked deleted on the remote
    initialized: bool = False
    root: str | None = None  # clone: the new working directory
    skipped_records: list[str] = field(default_factory=list)  # damaged remote records left out, and why

    def to_json(self) -> dict[str, Any]:
        verb = "sent" if self.direction == "push" else "fetched"
        out: dict[str, Any] = {
            "direction": self.direction,
            "remote": self.remote,
            "url": self.url,
            f"objects_{verb}": self.objects,
            f"bytes_{verb}": self.bytes,
            f"files_{verb}": self.files,
            "objects_skipped": self.objects_skipped,
            "bytes_skipped": self.bytes_skipped,
            f"manifests_{verb}": self.manifests,
            "versions": self.versions,
            "renumbered": [r.to_json() for r in self.renumbered],
        }
        if self.direction == "push":
            out["initialized"] = self.initialized
            out["deleted"] = self.deleted
        if self.root is not None:
            out["root"] = self.root
        out["skipped_records"] = self.skipped_records
        return out


def _record_copies(repository: Repository, spec: RemoteSpec, copies: Iterable[RemoteCopy]) -> None:
    """Remember the verified copies a configured remote holds (``cache cleanup`` may then evict
    them); a URL used once is no backup: ``get`` could not fetch from it."""
    if spec.configured:
        repository.state.record_remote_copies(spec.name, copies)


def backend_for(repository: Repository, spec: RemoteSpec) -> Backend:
    """The backend of a configured remote, with its ``remote.<NAME>.jobs`` from the settings."""
    return open_backend(spec.url, spec.options, jobs=repository.settings.jobs_for(spec.name))


def _parallel(backend: Backend, func: Callable[[Any], None], items: Sequence[Any]) -> None:
    if not items:
        return
    with ThreadPoolExecutor(max_workers=min(backend.jobs, len(items))) as pool:
        for _ in pool.map(func, items):
            pass


# -- selecting what to move ---------------------------------------------------------------------
def select_versions(repo: Repo, refs: Iterable[str]) -> dict[str, list[VersionRecord]]:
    """Live versions by artifact name: all of them, of the named artifacts, or the named refs."""
    registry = repo.registry
    out: dict[str, list[VersionRecord]] = {}
    refs = list(refs)
    if not refs:
        for artifact in registry.iter_artifacts():
            name = parse_name(artifact.name)
            out[str(name)] = registry.versions(name)
        return out
    for text in refs:
        ref = parse_ref(text)
        if ":" in text:
            record = registry.resolve(ref)
            out.setdefault(str(ref.name), [])
            if record not in out[str(ref.name)]:
                out[str(ref.name)].append(record)
        else:
            registry.require_artifact(ref.name)
            out[str(ref.name)] = registry.versions(ref.name)
    return out


# -- push ---------------------------------------------------------------------------------------
@contextlib.contextmanager
def writer_guard(repository: Repository):  # type: ignore[no-untyped-def]
    """gc's shared writer guard (docs/gc.md): no pack we send or adopt is deleted meanwhile."""
    try:
        from artctl.base.writeguard import writing
    except ImportError:  # pragma: no cover - a build without gc
        yield
        return
    with writing(repository.locks_dir):
        yield


def push(
    repo: Repo, remote: str | None = None, refs: Sequence[str] = (), progress: Progress | None = None
) -> TransferResult:
    """Send versions (default: every live version) and the blobs they need to a remote."""
    with writer_guard(repo.repository):
        return _push(repo, remote, refs, progress)


def _push(repo: Repo, remote: str | None, refs: Sequence[str], progress: Progress | None) -> TransferResult:
    repository = repo.repository
    spec = get_remote(repository, remote)
    backend = backend_for(repository, spec)
    initialized = open_remote(backend, create=True)
    selected = select_versions(repo, refs)
    records = [r for rs in selected.values() for r in rs]
    manifests = {r.manifest: _local_manifest(repository, r.manifest) for r in records}
    needed: dict[str, int] = {}
    for data in manifests.values():
        for entry in Manifest.parse(data):
            if entry.digest is not None and entry.ref is None:
                needed[entry.digest] = entry.size
    inv = inventory_mod.refresh(repository, spec.key, backend)
    sent = send_blobs(repository, spec, backend, needed, inv, progress)
    crash_point(PUSH_OBJECTS_SENT)
    remote_manifests = set(backend.find("manifests"))
    todo = [d for d in manifests if manifest_rel(d) not in remote_manifests]
    _parallel(backend, lambda d: backend.write(manifest_rel(d), manifests[d]), todo)
    crash_point(PUSH_MANIFESTS_SENT)
    created: list[str] = []
    deleted: list[str] = []
    renumbered: list[Renumbered] = []
    skipped: list[str] = []
    remote_registry = read_registry(backend, set(selected), skipped)
    for name_text, versions in sorted(selected.items()):
        name = parse_name(name_text)
        art = repository.registry.require_artifact(name)
        ensure_artifact(backend, art)
        remote_art = remote_registry.get(name_text) or RemoteArtifact(name, art)
        everything = repository.registry.versions(name, include_deleted=True)
        twins = match_versions(remote_art, everything)
        taken = remote_art.versions
        mapping: dict[str, str] = {}
        for record in sorted(versions, key=lambda r: r.index):
            twin = twins.get(record.index)
            if twin is None:
                twin = publish_version(backend, record, taken)
                if twin.manifest == record.manifest and twin.created_at == record.created_at:
                    created.append(f"{name}:{twin.version}")
                    crash_point(PUSH_VERSION_CREATED)
            if not twin.deleted:
                mapping[record.version] = twin.version
        for gone in everything:
            twin = twins.get(gone.index) if gone.deleted else None
            if twin is not None and not twin.deleted:
                publish_deletion(backend, twin.evolve(deleted_at=gone.deleted_at))
                deleted.append(f"{name}:{twin.version}")
                crash_point(PUSH_DELETION_PUBLISHED)
        local_aliases = repository.registry.aliases(name)
        changes = {a: mapping[v] for a, v in local_aliases.items() if v in mapping}
        if changes:
            update_aliases(backend, name, changes)
            crash_point(PUSH_ALIASES_SENT)
    after = read_registry(backend, set(selected), [])  # its problems were reported above
    fetched = _read_manifests(
        repository,
        spec,
        backend,
        {r.manifest for a in after.values() for r in a.versions.values() if r.live()},
    )
    if fetched:
        _write_manifests(repository, spec.name, fetched)
        crash_point(PUSH_MANIFESTS_FETCHED)
    for name_text in sorted(selected):
        if name_text in after:
            moved, _new = merge_artifact(repository, after[name_text], "push")
            renumbered.extend(moved)
    _push_runs(repository, backend)
    crash_point(PUSH_RUNS_SENT)
    return TransferResult(
        "push",
        spec.name,
        spec.url,
        objects=sent.objects,
        bytes=sent.bytes,
        files=sent.files,
        objects_skipped=len(needed) - sent.objects,
        bytes_skipped=sum(needed.values()) - sent.blob_bytes,
        manifests=len(todo),
        versions=created,
        renumbered=renumbered,
        deleted=deleted,
        initialized=initialized,
        skipped_records=skipped,
    )


def _local_manifest(repository: Repository, digest: str) -> bytes:
    try:
        data = repository.manifest_path(digest).read_bytes()
    except FileNotFoundError:
        raise ObjectNotFound(f"manifest {digest[:12]} is missing from the repository") from None
    if hash_bytes(data) != digest:
        raise IntegrityError(f"manifest {digest[:12]} is corrupt (digest mismatch)")
    return data


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

        if not backend.upload(pack_rel(ident) if kind == "pack" else object_rel(ident), path, intact):
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
    _parallel(backend, send, items)
    _parallel(
        backend,
        lambda p: backend.write(idx_rel(p), (store.packs_dir / f"{p}.idx").read_bytes()),
        sorted(packs),
    )
    copies = [RemoteCopy(d, object_rel(d), uploaded[d]) for d in loose]
    copies += [
        RemoteCopy(d, pack_rel(p), uploaded[p])
        for p in packs
        for d, _o, _n in repository.state.blobs_of_pack(p)
    ]
    _record_copies(repository, spec, copies)
    result.objects = len(missing)
    result.blob_bytes = sum(needed[d] for d in missing)
    return result


def _pack_ok(store, pack_id: str) -> bool:  # type: ignore[no-untyped-def]
    """A local pack is intact: its index names it and every blob matches its digest."""
    from artctl.repository.packs import decode_index, pack_id_for

    try:
        blobs = decode_index((store.packs_dir / f"{pack_id}.idx").read_bytes(), pack_id)
        if pack_id_for(blobs) != pack_id:
            return False
        data = store.pack_path(pack_id).read_bytes()
    except (IntegrityError, FileNotFoundError):
        return False
    return all(len(data) >= o + n and hash_bytes(data[o : o + n]) == d for d, o, n in blobs)


def _push_runs(repository: Repository, backend: Backend) -> None:
    """Run records are owned by the machine that ran them: send new or changed ones."""
    runs = repository.runs.list()
    if not runs:
        return
    remote = backend.read_many(run_rel(r.id) for r in runs)
    todo = []
    for run in runs:
        data = dumps(run.to_json())
        if remote.get(run_rel(run.id)) != data:
            todo.append((run_rel(run.id), data))
    _parallel(backend, lambda item: backend.write(*item), todo)


# -- pull ---------------------------------------------------------------------------------------
def pull(
    repo: Repo,
    remote: str | None = None,
    refs: Sequence[str] = (),
    *,
    fetch_all: bool = False,
    progress: Progress | None = None,
    direction: str = "pull",
) -> TransferResult:
    """Fetch metadata of every (or the named) artifact; with ``fetch_all`` their blobs too."""
    with writer_guard(repo.repository):
        return _pull(repo, remote, refs, fetch_all, progress, direction)


def _pull(
    repo: Repo,
    remote: str | None,
    refs: Sequence[str],
    fetch_all: bool,
    progress: Progress | None,
    direction: str,
) -> TransferResult:
    repository = repo.repository
    spec = get_remote(repository, remote)
    if not spec.configured:  # `pull URL`: later gets cannot fetch from it, so fetch the bytes now
        fetch_all = True
    backend = backend_for(repository, spec)
    open_remote(backend, create=False)
    wanted: dict[str, str | None] = {}
    for text in refs:
        ref = parse_ref(text)
        wanted[str(ref.name)] = ref.alias if ":" in text else None
    skipped: list[str] = []
    registry = read_registry(backend, set(wanted) if wanted else None, skipped)
    for name in wanted:
        if name not in registry:
            raise ArtifactNotFound(
                f"artifact {name} is not on remote {spec.name}", hint="; ".join(skipped) or None
            )
    # 1. read and check everything before writing anything
    live = {n: [r for r in a.versions.values() if r.live()] for n, a in registry.items()}
    new_manifests = _read_manifests(
        repository, spec, backend, {r.manifest for rs in live.values() for r in rs}
    )
    runs = _remote_runs(repository, backend, skipped)
    inv = inventory_mod.refresh(repository, spec.key, backend)
    # 2. write: manifests, then version records and aliases, then runs
    from artctl.base.fsutil import create_exclusive

    _write_manifests(repository, spec.name, new_manifests)
    crash_point(PULL_MANIFESTS_WRITTEN)
    created: list[str] = []
    renumbered: list[Renumbered] = []
    for name in sorted(registry):
        moved, new = merge_artifact(repository, registry[name], "pull")
        renumbered.extend(moved)
        created.extend(new)
    for run_id, data in runs.items():
        create_exclusive(
            repository.runs.path(run_id), data, tmp_dir=repository.tmp_dir, fsync=repository.fsync
        )
    crash_point(PULL_RUNS_WRITTEN)
    # Nothing is recorded as "on the remote" from the listing: only bytes fetched and verified
    # (below, or by `get`) or sent by `push` count as a copy that lets `cache cleanup` evict.
    result = TransferResult(
        direction,
        spec.name,
        spec.url,
        manifests=len(new_manifests),
        versions=created,
        renumbered=renumbered,
        skipped_records=skipped,
    )
    if fetch_all:
        records = []
        for name, versions in live.items():
            alias = wanted.get(name)
            if alias is None:
                records.extend(versions)
            else:
                records.append(repo.registry.resolve(parse_ref(f"{name}:{alias}")))
        result = _fetch_objects(repository, spec, backend, inv, records, result, progress)
    return result


def _read_manifests(
    repository: Repository, spec: RemoteSpec, backend: Backend, digests: set[str]
) -> dict[str, bytes]:
    """Manifests the local repository lacks, verified (digest) and parsed (every path checked)
    — nothing is written here, so a bad one stops the pull before any local change."""
    have = {d for d in digests if repository.manifest_path(d).exists()}
    fetched = backend.read_many((manifest_rel(d) for d in sorted(digests - have)), MAX_MANIFEST_BYTES)
    out: dict[str, bytes] = {}
    for rel, data in fetched.items():
        digest = rel[len("manifests/") :].replace("/", "")[: -len(".jsonl")]
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


def _write_manifests(repository: Repository, remote: str, manifests: dict[str, bytes]) -> None:
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


def _remote_runs(repository: Repository, backend: Backend, skipped: list[str]) -> dict[str, bytes]:
    """Run records the local repository lacks (validated before anything is written; a damaged
    one is left out and described in ``skipped``)."""
    names = [n for n in backend.listdir("runs") if n.endswith(".json")]
    missing = []
    for name in names:
        run_id = name[:-5]
        try:
            path = repository.runs.path(run_id)
        except Exception:  # noqa: BLE001 - an invalid id on the remote is skipped, not trusted
            continue
        if not path.exists():
            missing.append(run_id)
    data = backend.read_many(run_rel(r) for r in missing)
    out = {}
    from artctl.repository.runs import RunRecord

    for run_id in missing:
        raw = data.get(run_rel(run_id))
        if raw is None:
            continue
        where = f"{backend.url}/{run_rel(run_id)}"
        try:
            record = RunRecord.from_json(loads(raw, where), where)
        except ArtctlError as exc:
            skipped.append(f"{exc.message}: run {run_id} is skipped")
            continue
        if record.id != run_id:
            continue
        out[run_id] = raw
    return out


def _fetch_objects(
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
    from artctl.ops.remote.source import (
        FromRemote,
        fetch_loose_to_store,
        fetch_pack_to_store,
        record_pack_copy,
    )

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
        idx = (inventory_mod.cache_dir(repository, spec.key) / f"{pack_id}.idx").read_bytes()
        fetched = fetch_pack_to_store(repository, spec.name, backend, pack_id, idx, inv.ends[pack_id])
        if spec.configured and fetched.verified:
            record_pack_copy(repository, spec.name, pack_id, idx)
        count(fetched, inv.packs.get(pack_id, fetched.downloaded))

    def get_loose(digest: str) -> None:
        fetched = fetch_loose_to_store(repository, backend, digest, needed[digest])
        if fetched.verified:
            _record_copies(repository, spec, [RemoteCopy(digest, object_rel(digest), needed[digest])])
        count(fetched, needed[digest])

    _parallel(backend, get_pack, packs)
    _parallel(backend, get_loose, loose)
    return replace(
        result,
        objects=len(missing),
        bytes=moved["bytes"],
        files=moved["files"],
        objects_skipped=len(present),
        bytes_skipped=sum(needed[d] for d in present),
    )


# -- clone --------------------------------------------------------------------------------------
def default_clone_dir(url: str) -> str:
    from artctl.backend.fs import split_url

    _protocol, root = split_url(url)
    return root.rstrip("/").rsplit("/", 1)[-1] or "artifacts"


CLONE_INITIALIZED = declare(
    "clone.initialized",
    "the new repository exists only in a hidden staging directory beside the target: the target "
    "is untouched, and the next clone removes the staging directory and starts again",
)
CLONE_PULLED = declare(
    "clone.pulled",
    "the metadata is pulled into the staging directory, which is not yet renamed to the target: "
    "the same as clone.initialized",
)

_CLONE_SUFFIX = ".artctl-clone"


def _staging_dir(target: Path) -> Path:
    """A hidden sibling of ``target`` for building a clone: named after it and this process."""
    import uuid

    return target.parent / f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}{_CLONE_SUFFIX}"


def remove_stale_clones(target: Path) -> int:
    """Remove staging directories of clones into ``target`` whose process is gone; count them."""
    import re
    import shutil

    from artctl.ops.checkout import process_gone

    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(\d+)-[0-9a-f]{{8}}{re.escape(_CLONE_SUFFIX)}$")
    removed = 0
    with contextlib.suppress(OSError):
        for name in os.listdir(target.parent):
            match = pattern.match(name)
            if match and process_gone(int(match.group(1))):
                shutil.rmtree(target.parent / name, ignore_errors=True)
                removed += 1
    return removed


def clone(
    url: str,
    directory: str | os.PathLike[str] | None = None,
    *,
    options: dict[str, Any] | None = None,
    fetch_all: bool = False,
    remote_name: str = "origin",
    force: bool = False,
    progress: Progress | None = None,
) -> tuple[Repo, TransferResult]:
    """A new repository in ``directory`` with ``url`` as its default remote, metadata pulled.

    A storage backend artctl is not tested with is refused unless ``force`` (see
    :func:`~artctl.ops.remote.config.check_backend`).

    The clone is built in a hidden staging directory beside the target and renamed into place
    at the end, so an interrupted clone never leaves a half-made repository at the target (it
    would block the next clone); a later clone into the same target removes what a killed one
    left behind.
    """
    import shutil

    from artctl.api.repo import Repo

    target = Path(directory if directory is not None else default_clone_dir(url)).resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidInput(f"{target} exists and is not an empty directory")
    check_backend(url, force=force)
    open_remote(open_backend(url, options), create=False)  # fail before creating anything
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"cannot create {target.parent}: {exc.strerror}") from None
    remove_stale_clones(target)
    staging = _staging_dir(target)
    try:
        repo, _ = Repo.init(staging)
        crash_point(CLONE_INITIALIZED)
        add_remote(repo.repository, remote_name, url, options, default=True, force=force)
        result = pull(repo, remote_name, fetch_all=fetch_all, progress=progress, direction="clone")
        crash_point(CLONE_PULLED)
        repo.repository.state.close()
        _rename_clone(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    from dataclasses import replace

    return Repo(target), replace(result, root=str(target))


def _rename_clone(staging: Path, target: Path) -> None:
    """Move the finished clone to ``target`` (which may be an empty directory) in one rename."""
    try:
        os.rename(staging, target)
    except OSError as exc:
        if target.exists():
            raise InvalidInput(
                f"{target} exists and is not an empty directory",
                hint="another process created it during the clone",
            ) from None
        raise ArtctlError(f"cannot create {target}: {exc.strerror or exc}") from None


__all__ = ["TransferResult", "push", "pull", "clone", "select_versions", "send_blobs", "backend_for"]
_ = ArtifactName  # re-exported type for callers' annotations
