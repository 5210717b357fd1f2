"""The commit of a finished distributed version: in the local repository, or on the remote (then
pulled so this repository knows it too)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from artctl.errors import ObjectNotFound
from artctl.format.manifest import Manifest
from artctl.format.names import ArtifactName
from artctl.format.records import utcnow
from artctl.ops.distributed.parts import Area
from artctl.repository.commit import commit_manifest

if TYPE_CHECKING:
    from artctl.repository.repo import Repository
    from artctl.repository.views import PutResult


def commit_local(
    repo: Repository, name: ArtifactName, kind: str, manifest: Manifest, **options: Any
) -> PutResult:
    """Commit the merged parts here; every blob must be in this store (local upserts only)."""
    digests = {e.digest for e in manifest if e.digest is not None and e.ref is None}
    lacking = digests - repo.store.has_many(digests)
    if lacking:
        raise ObjectNotFound(
            f"{len(lacking)} object(s) of the parts are missing from the local store",
            hint="upserts from other machines must use --remote; finish there too",
        )
    return commit_manifest(repo, name, kind, manifest, **options)


def commit_remote(
    repo: Repository,
    area: Area,
    name: ArtifactName,
    kind: str,
    manifest: Manifest,
    *,
    aliases: Sequence[str],
    description: str | None,
    metadata: dict[str, Any] | None,
    ttl: str | timedelta | None,
    run_id: str | None,
    tags: Sequence[str] = (),
) -> PutResult:
    """Objects are on the remote already; write manifest → version record → aliases there,
    then pull the version's metadata so this repository knows it too."""
    from artctl.base.hashing import hash_bytes
    from artctl.base.units import ttl_seconds
    from artctl.format.layout import manifest_key
    from artctl.format.names import LATEST, validate_custom_alias, version_index
    from artctl.format.records import ArtifactRecord, VersionRecord
    from artctl.ops.remote import inventory
    from artctl.ops.remote.protocol import read_registry
    from artctl.ops.remote.publish import ensure_artifact, publish_version, update_aliases
    from artctl.ops.remote.pull import pull
    from artctl.repository.commit import link_of
    from artctl.repository.views import PutResult

    assert area.spec is not None
    backend = area.backend
    if run_id:
        repo.runs.require_running(run_id)
    custom = [validate_custom_alias(a) for a in aliases if a != LATEST and version_index(a) is None]
    inv = inventory.refresh(repo, area.spec.name, backend)
    digests = {e.digest for e in manifest if e.digest is not None and e.ref is None}
    lacking = [d for d in digests if not inv.has(d)]
    if lacking:
        raise ObjectNotFound(
            f"{len(lacking)} object(s) named by the parts are not on remote {area.spec.name}",
            hint="an upsert may have been interrupted; re-run it, then finish",
        )
    data = manifest.canonical()
    digest = hash_bytes(data)
    backend.write(manifest_key(digest), data)
    ensure_artifact(backend, ArtifactRecord(str(name), kind, utcnow()))
    remote_art = read_registry(backend, {str(name)}).get(str(name))
    taken = dict(remote_art.versions) if remote_art else {}
    existing = [r for r in taken.values() if r.manifest == digest and r.live()]
    seconds = None if ttl == "none" else ttl_seconds(ttl) if ttl is not None else repo.default_ttl(name)
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
            description=description,
            metadata=dict(metadata or {}),
            ttl_seconds=seconds,
            logged_by=run_id,
            tags=list(tags),
        )
        record, created = publish_version(backend, draft, taken), True
    if custom:
        update_aliases(backend, name, {a: record.version for a in custom})
    pull(repo, area.spec.name, [str(name)])
    local = [r for r in repo.registry.versions(name) if r.manifest == digest]
    record = local[-1] if local else record
    if run_id:
        repo.runs.link(run_id, link_of(record), direction="output")
    return PutResult(record, repo.registry.aliases_of(record), created)
