"""One version of a remote, read without a clone (``artctl://…`` with ``repo=URL``, issue 18).

Only what a reader needs crosses the network: the artifact's own registry directory (one
listing, its records read in one batch) and the version's manifest, verified against its
digest. An alias resolves as the local registry resolves it: ``latest`` is the newest live
version, ``vN`` that version, a custom alias the remote's newest alias table; a deleted or
expired version is refused.
"""

from __future__ import annotations

from artctl.backend import MAX_MANIFEST_BYTES, Backend
from artctl.base.hashing import hash_bytes
from artctl.errors import ArtifactNotFound, IntegrityError
from artctl.format.layout import artifact_key, manifest_key
from artctl.format.manifest import Manifest
from artctl.format.names import LATEST, ArtifactRef, version_index
from artctl.format.records import VersionRecord
from artctl.ops.remote.protocol import read_registry


def resolve_remote(backend: Backend, ref: ArtifactRef) -> VersionRecord:
    """The version ``ref`` names on the remote behind ``backend`` (ArtifactNotFound if none)."""
    found = read_registry(backend, {str(ref.name)}, under=artifact_key(ref.name)).get(str(ref.name))
    where = f"remote {backend.url}"
    if found is None:
        raise ArtifactNotFound(
            f"artifact {ref.name} is not on {where}",
            hint="check the name; `artctl clone URL` and `artctl artifact ls` list what a remote holds",
        )
    live = sorted((r for r in found.versions.values() if r.live()), key=lambda r: r.index)
    if ref.alias == LATEST:
        if not live:
            raise ArtifactNotFound(f"artifact {ref.name} has no live versions on {where}")
        return live[-1]
    index = version_index(ref.alias)
    if index is None:
        target = found.aliases.get(ref.alias)
        if target is None:
            raise ArtifactNotFound(f"artifact {ref.name} has no alias {ref.alias!r} on {where}")
        index = version_index(target)
    record = found.versions.get(index) if index is not None else None
    if record is None:
        raise ArtifactNotFound(f"artifact {ref.name} has no version v{index} on {where}")
    if not record.live():
        why = "deleted" if record.deleted else "expired (TTL)"
        raise ArtifactNotFound(f"{ref.name}:v{index} was {why} on {where}")
    return record


def read_remote_manifest(backend: Backend, digest: str) -> Manifest:
    """A version's manifest from the remote, refused unless its bytes hash to ``digest``."""
    data = backend.read(manifest_key(digest), MAX_MANIFEST_BYTES)
    if hash_bytes(data) != digest:
        raise IntegrityError(
            f"manifest {digest[:12]} on remote {backend.url} is corrupt (digest mismatch)",
            hint="push the version again from a clone that has it",
        )
    return Manifest.parse(data, f"manifest {digest[:12]}")
