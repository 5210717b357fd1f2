"""push: send versions and the blobs they need to a remote, then merge its registry back.

The write order on the remote and what a kill leaves are in :mod:`artctl.ops.remote.transfer`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from artctl.backend.base import Backend
from artctl.base.crashpoints import crash_point, declare
from artctl.base.hashing import hash_bytes
from artctl.errors import IntegrityError, ObjectNotFound
from artctl.format.layout import run_key
from artctl.format.manifest import Manifest
from artctl.format.names import parse_name, parse_ref
from artctl.format.records import ArtifactRecord, VersionRecord, dumps
from artctl.ops.remote.config import backend_for, get_remote
from artctl.ops.remote.fetch import read_manifests, write_manifests
from artctl.ops.remote.indexed import indexed, maybe_compact
from artctl.ops.remote.protocol import RemoteArtifact, open_remote, read_registry
from artctl.ops.remote.publish import (
    ensure_artifact,
    publish_deletion,
    publish_edit,
    publish_version,
    update_aliases,
)
from artctl.ops.remote.send import PushContent
from artctl.ops.remote.sync import Renumbered, match_versions, merge_artifact
from artctl.ops.remote.threeway import (
    Disagreement,
    PushPlan,
    Replaced,
    SyncBase,
    SyncConflict,
    load_base,
    plan_push,
    save_base,
)
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
PUSH_EDIT_PUBLISHED = declare(
    "push.edit-published",
    "one more edit snapshot on the remote: the version's fields as this repository has them; "
    "the re-run finds them equal and sends nothing again",
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
    repo: Repository,
    remote: str | None = None,
    refs: Sequence[str] = (),
    progress: Progress | None = None,
    *,
    force: bool = False,
) -> TransferResult:
    """Send versions (default: every live version), the blobs they need, and every change
    made here since the last sync (aliases, edits, deletions) to a remote.

    An artifact whose alias or field was changed on both sides since the last sync is not
    pushed (unless ``force``: ours is written); the others are, and then SyncConflict is raised
    with the result of what was done as ``.result`` (``--json`` lists ``"conflicts"``).
    """
    with writer_guard(repo):
        result = _push(repo, remote, refs, progress, force)
    if result.conflicts:
        raise SyncConflict(result.conflicts, result)
    return result


@dataclass
class _Pushed:
    """What the registry writes of one push did, across artifacts."""

    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    conflicts: list[Disagreement] = field(default_factory=list)
    bases: dict[str, SyncBase | None] = field(default_factory=dict)  # artifacts pushed -> old base


def _push(
    repository: Repository, remote: str | None, refs: Sequence[str], progress: Progress | None, force: bool
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
    content = PushContent(repository, spec, backend, needed, manifests, progress)  # gc-safe (rgc)
    content.send_blobs()
    crash_point(PUSH_OBJECTS_SENT)
    content.send_manifests()
    crash_point(PUSH_MANIFESTS_SENT)
    skipped: list[str] = []
    remote_registry = read_registry(backend, set(selected), skipped)
    done = _Pushed()
    for name_text, versions in sorted(selected.items()):
        name = parse_name(name_text)
        art = repository.registry.require_artifact(name)
        remote_art = remote_registry.get(name_text) or RemoteArtifact(name, art)
        base = load_base(repository, spec.key, name)
        try:
            _push_artifact(repository, backend, art, remote_art, versions, base, force, done, content)
        except SyncConflict as exc:  # a concurrent writer changed what this push decided on
            done.conflicts.extend(exc.conflicts)
            continue
        done.bases[name_text] = base
    content.confirm()
    after = read_registry(backend, set(done.bases), [])  # its problems were reported above
    fetched = read_manifests(
        repository,
        spec,
        backend,
        {r.manifest for a in after.values() for r in a.versions.values() if r.live()},
    )
    if fetched:
        write_manifests(repository, spec.name, fetched)
        crash_point(PUSH_MANIFESTS_FETCHED)
    renumbered: list[Renumbered] = []
    replaced: list[Replaced] = []
    for name_text in sorted(done.bases):
        if name_text in after:
            moved, _new, lost = merge_artifact(repository, after[name_text], "push", done.bases[name_text])
            renumbered.extend(moved)
            replaced.extend(lost)
            save_base(repository, spec.key, after[name_text])
    _push_runs(repository, backend)
    crash_point(PUSH_RUNS_SENT)
    maybe_compact(backend)  # keep the remote's registry index current (a cache: never fatal)
    return TransferResult(
        "push",
        spec.name,
        spec.url,
        objects=content.sent.objects,
        bytes=content.sent.bytes,
        files=content.sent.files,
        objects_skipped=max(0, len(needed) - content.sent.objects),
        bytes_skipped=max(0, sum(needed.values()) - content.sent.blob_bytes),
        manifests=content.manifests_sent,
        versions=done.created,
        renumbered=renumbered,
        deleted=done.deleted,
        initialized=initialized,
        skipped_records=skipped,
        conflicts=done.conflicts,
        replaced=replaced,
    )


def _push_artifact(
    repository: Repository,
    backend: Backend,
    art: ArtifactRecord,
    remote_art: RemoteArtifact,
    versions: list[VersionRecord],
    base: SyncBase | None,
    force: bool,
    done: _Pushed,
    content: PushContent,
) -> None:
    """Plan one artifact's push (refusing conflicts before any write), then write it on the
    remote: artifact record, new versions, tombstones, edits, aliases. ``content`` re-lists the
    remote before a version record when its listing has aged (remote gc's protocol)."""
    name = remote_art.name
    everything = repository.registry.versions(name, include_deleted=True)
    twins = match_versions(remote_art, everything)
    plan = plan_push(
        name, base, remote_art, everything, repository.registry.aliases(name), twins, force=force
    )
    if plan.conflicts:
        raise SyncConflict(plan.conflicts)
    ensure_artifact(backend, art)
    taken = remote_art.versions
    mapping = {r.version: twins[r.index].version for r in everything if r.index in twins}
    for record in sorted(versions, key=lambda r: r.index):
        twin = twins.get(record.index)
        if twin is None:
            content.ensure_fresh()
            twin = publish_version(backend, record, taken)
            if twin.manifest == record.manifest and twin.created_at == record.created_at:
                done.created.append(f"{name}:{twin.version}")
                crash_point(PUSH_VERSION_CREATED)
        mapping[record.version] = twin.version
    _publish_changes(backend, remote_art, plan, mapping, force, done)


def _publish_changes(
    backend: Backend,
    remote_art: RemoteArtifact,
    plan: PushPlan,
    mapping: dict[str, str],
    force: bool,
    done: _Pushed,
) -> None:
    """Tombstones, edit snapshots and the alias table the plan decided on."""
    name = remote_art.name
    for index, record in sorted(plan.deletions.items()):
        if publish_deletion(backend, remote_art.versions[index].evolve(deleted_at=record.deleted_at)):
            done.deleted.append(f"{name}:v{index}")
            crash_point(PUSH_DELETION_PUBLISHED)
    for index, fields in sorted(plan.edits.items()):
        twin = remote_art.versions[index]
        seq = remote_art.edit_seqs.get(index, -1)
        updated_at = plan.edited_at.get(index)
        if publish_edit(
            backend, twin, fields, plan.edit_expected[index], seq, force=force, updated_at=updated_at
        ):
            crash_point(PUSH_EDIT_PUBLISHED)
    changes = {
        alias: mapping[v] if v is not None else None
        for alias, v in plan.aliases.items()
        if v is None or v in mapping  # an alias of a version not pushed now waits for its version
    }
    if changes:
        expected = {a: plan.expected.get(a) for a in changes}
        update_aliases(backend, name, changes, expected, force=force)
        crash_point(PUSH_ALIASES_SENT)


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
