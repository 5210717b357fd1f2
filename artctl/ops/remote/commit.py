"""Commit a new version on a remote first, then here under the remote's number (``put --remote``,
``core.publish = remote``, a distributed ``finish --remote``): its number is final at once, as
in W&B, because the remote is where numbers are decided (by exclusive create).

Write order, the push's (docs/remotes.md section 4): blobs → manifest → ``artifact.json`` →
the exclusive ``versions/vN.json`` → alias snapshot; then a pull of that one artifact writes
the version locally (the merge of :mod:`artctl.ops.remote.sync`, through the journal) and the
base of the next three-way merge. A kill before ``vN.json`` leaves only unreferenced content on
the remote; after it, the version is committed and the next pull (or push) brings it here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from artctl.backend.base import Backend
from artctl.base.hashing import hash_bytes
from artctl.format.layout import manifest_key
from artctl.format.manifest import Manifest
from artctl.format.names import LATEST, ArtifactName, validate_custom_alias, version_index
from artctl.format.records import ArtifactRecord, VersionRecord, utcnow
from artctl.format.version_fields import VersionFields
from artctl.ops.remote.config import RemoteSpec, backend_for, get_remote
from artctl.ops.remote.protocol import open_remote, read_registry
from artctl.ops.remote.publish import ensure_artifact, publish_version, update_aliases

if TYPE_CHECKING:
    from artctl.ops.remote.send import PushContent
    from artctl.repository.repo import Repository
    from artctl.repository.views import PutResult


def put_on_remote(
    repo: Repository,
    remote: str | None,
    name: ArtifactName,
    kind: str,
    manifest: Manifest,
    fields: VersionFields,
) -> PutResult:
    """Send the blobs of ``manifest`` (stored here already) to the remote, then commit it there
    and here (:func:`publish_new_version`)."""
    from artctl.ops.remote.send import PushContent

    spec = get_remote(repo, remote)
    backend = backend_for(repo, spec)
    open_remote(backend, create=True)
    repo.write_manifest(manifest)  # here first: the pull that follows need not fetch it back
    needed = {e.digest: e.size for e in manifest if e.digest is not None and e.ref is None}
    # push's rules against a concurrent remote gc: never rely on an old copy on the remote
    data = manifest.canonical()
    content = PushContent(repo, spec, backend, needed, {hash_bytes(data): data})
    content.send_blobs()
    return publish_new_version(repo, spec, backend, name, kind, manifest, fields, content=content)


def publish_new_version(
    repo: Repository,
    spec: RemoteSpec,
    backend: Backend,
    name: ArtifactName,
    kind: str,
    manifest: Manifest,
    fields: VersionFields,
    *,
    content: PushContent | None = None,
) -> PutResult:
    """The blobs are on the remote: write manifest → version record → aliases there, then pull
    the artifact so this repository has the version under the remote's number.

    ``content`` (what a ``put --remote`` sent) lists and sends again before the version record
    when its listing has aged, as push does (remote gc's protocol, docs/remotes.md section 8).

    Content the remote already holds as a live version makes no new version (the aliases still
    move), as a local put of unchanged content does.
    """
    from artctl.ops.remote.pull import pull
    from artctl.repository.commit import link_of
    from artctl.repository.views import PutResult

    fields.check()  # metadata that is not plain JSON never reaches the remote's records
    run_id = fields.run_id
    if run_id:
        repo.runs.require_running(run_id)
    custom = [validate_custom_alias(a) for a in fields.aliases if a != LATEST and version_index(a) is None]
    data = manifest.canonical()
    digest = hash_bytes(data)
    backend.write(manifest_key(digest), data)
    ensure_artifact(backend, ArtifactRecord(str(name), kind, utcnow()))
    remote_art = read_registry(backend, {str(name)}).get(str(name))
    taken = dict(remote_art.versions) if remote_art else {}
    existing = [r for r in taken.values() if r.manifest == digest and r.live()]
    seconds = fields.ttl_seconds(lambda: repo.default_ttl(name))
    if existing:
        record, created = existing[-1], False
    else:
        draft = VersionRecord(
            name=str(name),
            type=kind,
            index=max(taken, default=-1) + 1,
            manifest=digest,
            created_at=utcnow(),
            files=len(manifest),
            size=manifest.total_size,
            description=fields.description,
            metadata=dict(fields.metadata or {}),
            ttl_seconds=seconds,
            logged_by=run_id,
            tags=list(fields.tags),
        )
        if content is not None:
            content.ensure_fresh()
        record, created = publish_version(backend, draft, taken), True
    if custom:
        update_aliases(backend, name, {a: record.version for a in custom})
    pull(repo, spec.name, [str(name)])
    local = [r for r in repo.registry.versions(name) if r.manifest == digest]
    record = local[-1] if local else record
    if run_id:
        repo.runs.link(run_id, link_of(record), direction="output")
    return PutResult(record, repo.registry.aliases_of(record), created)
