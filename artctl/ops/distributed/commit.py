"""The commit of a finished distributed version: in the local repository, or on the remote (then
pulled so this repository knows it too)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from artctl.errors import ObjectNotFound
from artctl.format.manifest import Manifest
from artctl.format.names import ArtifactName
from artctl.format.version_fields import VersionFields
from artctl.ops.distributed.parts import Area
from artctl.repository.commit import commit_manifest

if TYPE_CHECKING:
    from artctl.repository.repo import Repository
    from artctl.repository.views import PutResult


def commit_local(
    repo: Repository, name: ArtifactName, kind: str, manifest: Manifest, fields: VersionFields
) -> PutResult:
    """Commit the merged parts here; every blob must be in this store (local upserts only)."""
    digests = {e.digest for e in manifest if e.digest is not None and e.ref is None}
    lacking = digests - repo.store.has_many(digests)
    if lacking:
        raise ObjectNotFound(
            f"{len(lacking)} object(s) of the parts are missing from the local store",
            hint="upserts from other machines must use --remote; finish there too",
        )
    return commit_manifest(repo, name, kind, manifest, fields)


def commit_remote(
    repo: Repository,
    area: Area,
    name: ArtifactName,
    kind: str,
    manifest: Manifest,
    fields: VersionFields,
) -> PutResult:
    """Objects are on the remote already; commit the version there, then here
    (:func:`artctl.ops.remote.commit.publish_new_version`)."""
    from artctl.ops.remote import inventory
    from artctl.ops.remote.commit import publish_new_version

    assert area.spec is not None
    backend = area.backend
    if fields.run_id:
        repo.runs.require_running(fields.run_id)
    inv = inventory.refresh(repo, area.spec.name, backend)
    digests = {e.digest for e in manifest if e.digest is not None and e.ref is None}
    lacking = [d for d in digests if not inv.has(d)]
    if lacking:
        raise ObjectNotFound(
            f"{len(lacking)} object(s) named by the parts are not on remote {area.spec.name}",
            hint="an upsert may have been interrupted; re-run it, then finish",
        )
    return publish_new_version(repo, area.spec, backend, name, kind, manifest, fields)
