"""push: send versions and the blobs they need to a remote, then merge its registry back.

The write order on the remote and what a kill leaves are in :mod:`artctl.ops.remote.transfer`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from artctl.backend.base import Backend
from artctl.base.crashpoints import crash_point, declare
from artctl.base.hashing import hash_bytes
from artctl.errors import IntegrityError, ObjectNotFound
from artctl.format.layout import MANIFESTS, manifest_key, run_key
from artctl.format.manifest import Manifest
from artctl.format.names import parse_name, parse_ref
from artctl.format.records import VersionRecord, dumps
from artctl.ops.remote import inventory as inventory_mod
from artctl.ops.remote.config import backend_for, get_remote
from artctl.ops.remote.fetch import read_manifests, write_manifests
from artctl.ops.remote.indexed import indexed, maybe_compact
from artctl.ops.remote.protocol import (
    RemoteArtifact,
    ensure_artifact,
    open_remote,
    publish_deletion,
    publish_version,
    read_registry,
    update_aliases,
)
from artctl.ops.remote.send import send_blobs
from artctl.ops.remote.sync import Renumbered, match_versions, merge_artifact
from artctl.ops.remote.transfer import Progress, TransferResult, parallel, writer_guard

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

# The write order of push as crash points (docs/robustness.md); the merge of each artifact adds
# its own (``push.*`` in artctl.ops.remote.sync).
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


def select_versions(repo: Repository, refs: Iterable[str]) -> dict[str, list[VersionRecord]]:
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
        ref = parse_ref(text, repo.names)
        if ":" in text:
            record = registry.resolve(ref)
            out.setdefault(str(ref.name), [])
            if record not in out[str(ref.name)]:
                out[str(ref.name)].append(record)
        else:
            registry.require_artifact(ref.name)
            out[str(ref.name)] = registry.versions(ref.name)
    return out


def push(
    repo: Repository, remote: str | None = None, refs: Sequence[str] = (), progress: Progress | None = None
) -> TransferResult:
    """Send versions (default: every live version) and the blobs they need to a remote."""
    with writer_guard(repo):
        return _push(repo, remote, refs, progress)


def _push(
    repository: Repository, remote: str | None, refs: Sequence[str], progress: Progress | None
) -> TransferResult:
    spec = get_remote(repository, remote)
    backend = indexed(backend_for(repository, spec))  # registry + manifests via the remote's index
    initialized = open_remote(backend, create=True)
    selected = select_versions(repository, refs)
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
    remote_manifests = set(backend.find(MANIFESTS))
    todo = [d for d in manifests if manifest_key(d) not in remote_manifests]
    parallel(backend, lambda d: backend.write(manifest_key(d), manifests[d]), todo)
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
    fetched = read_manifests(
        repository,
        spec,
        backend,
        {r.manifest for a in after.values() for r in a.versions.values() if r.live()},
    )
    if fetched:
        write_manifests(repository, spec.name, fetched)
        crash_point(PUSH_MANIFESTS_FETCHED)
    for name_text in sorted(selected):
        if name_text in after:
            moved, _new = merge_artifact(repository, after[name_text], "push")
            renumbered.extend(moved)
    _push_runs(repository, backend)
    crash_point(PUSH_RUNS_SENT)
    maybe_compact(backend)  # keep the remote's registry index current (a cache: never fatal)
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


def _push_runs(repository: Repository, backend: Backend) -> None:
    """Run records are owned by the machine that ran them: send new or changed ones."""
    runs = repository.runs.list()
    if not runs:
        return
    remote = backend.read_many(run_key(r.id) for r in runs)
    todo = []
    for run in runs:
        data = dumps(run.to_json())
        if remote.get(run_key(run.id)) != data:
            todo.append((run_key(run.id), data))
    parallel(backend, lambda item: backend.write(*item), todo)
