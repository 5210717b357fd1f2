"""Reading versions: show one, list an artifact's versions or a project's artifacts, diff two,
edit a version's mutable fields. Each returns a frozen view (``repository/views.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from artctl.base.units import ttl_seconds
from artctl.format.manifest import Manifest, ManifestDiff, diff_sorted
from artctl.format.names import ArtifactName, ArtifactRef, parse_name, parse_ref
from artctl.format.records import VersionRecord
from artctl.format.user_json import check_metadata
from artctl.repository.links import check_ttl, linked_sources, links_of, ref_of, source_of
from artctl.repository.views import ArtifactSummary, VersionInfo

if TYPE_CHECKING:
    from artctl.repository.repo import Repository


def show(
    repository: Repository,
    ref: str | ArtifactRef,
    *,
    include_deleted: bool = False,
    load_manifest: bool = True,
) -> VersionInfo:
    """A version, its aliases and (unless ``load_manifest=False``) its manifest.

    Without the manifest, stream the files with :meth:`iter_entries`: that is how a
    version of a million files is shown in bounded memory.
    """
    record = repository.resolve(ref, include_deleted=include_deleted)
    dropped = not load_manifest or repository.files_dropped(record)
    return version_info(repository, record, manifest=None if dropped else repository.manifest(record))


def version_info(
    repository: Repository,
    record: VersionRecord,
    *,
    aliases: list[str] | None = None,
    sources: dict[tuple[str, str], list[str]] | None = None,
    manifest: Manifest | None = None,
) -> VersionInfo:
    """A version with its aliases and registry links (``sources``: ``links.linked_sources``,
    computed once by a caller that lists many versions)."""
    if aliases is None:
        aliases = repository.registry.aliases_of(record)
    if sources is None:
        sources = linked_sources(repository)
    source = None
    if record.link is not None:
        found = source_of(repository, record)
        source = ref_of(found) if found is not None else record.link
    return VersionInfo(record, aliases, manifest, source, tuple(links_of(record, sources)))


def list_artifacts(
    repository: Repository, project: str | None = None, type: str | None = None
) -> list[ArtifactSummary]:
    out = []
    for artifact in repository.registry.iter_artifacts(project, type):
        name = parse_name(artifact.name)
        versions = repository.registry.versions(name)
        if not versions:
            continue  # every version deleted or expired (`artifact rm NAME --all`)
        latest = versions[-1] if versions else None
        out.append(
            ArtifactSummary(
                artifact.name,
                artifact.type,
                len(versions),
                latest.version if latest else None,
                latest.size if latest else 0,
                latest.created_at if latest else None,
            )
        )
    return out


def list_versions(
    repository: Repository, name: str | ArtifactName, *, include_deleted: bool = False
) -> list[VersionInfo]:
    artifact = parse_name(name, repository.names) if isinstance(name, str) else name
    repository.registry.require_artifact(artifact)
    records = repository.registry.versions(artifact, include_deleted=include_deleted)
    latest = repository.registry.latest(artifact)
    table = repository.registry.aliases(artifact)
    sources = linked_sources(repository)
    return [
        version_info(
            repository,
            r,
            aliases=repository.registry.aliases_of(r, latest=latest, table=table),
            sources=sources,
        )
        for r in records
    ]


def diff(repository: Repository, old: str | ArtifactRef, new: str | ArtifactRef) -> ManifestDiff:
    return diff_sorted(
        repository.iter_entries(repository.resolve(old)), repository.iter_entries(repository.resolve(new))
    )


def update(
    repository: Repository,
    ref: str | ArtifactRef,
    *,
    description: Any = ...,
    metadata: Any = ...,
    ttl: Any = ...,
    tags: Any = ...,
    add_tags: Sequence[str] = (),
    remove_tags: Sequence[str] = (),
) -> VersionInfo:
    """Edit mutable fields; ``ttl=None`` removes the TTL, ``...`` leaves a field alone."""
    parsed = parse_ref(ref, repository.names) if isinstance(ref, str) else ref
    if metadata is not ...:
        check_metadata(metadata)
    seconds: Any = ...
    if ttl is not ...:
        seconds = None if ttl in (None, "none") else ttl_seconds(ttl)
    if seconds not in (..., None):
        check_ttl(repository, repository.resolve(parsed))  # a linked version, or a linked source: refused
    record = repository.registry.update(
        parsed,
        description=description,
        metadata=metadata,
        ttl_seconds=seconds,
        tags=tags,
        add_tags=list(add_tags),
        remove_tags=list(remove_tags),
    )
    return version_info(repository, record)
