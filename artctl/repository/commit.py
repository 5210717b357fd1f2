"""THE write order of a version: manifest → version record → aliases → run link.

Every path that creates a version (put, a draft's commit, a distributed finish, a run's log,
a pull's merge of a new version) ends here, so a crash at any point leaves the old state or the
new one: objects are stored before this is called; a manifest without a record is unreferenced
(gc removes it); a record without its aliases is a whole version the re-run finds and completes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from artctl.base.crashpoints import crash_point, declare
from artctl.base.locks import writing
from artctl.errors import Conflict
from artctl.format.manifest import Manifest
from artctl.format.names import ArtifactName, parse_name, validate_type
from artctl.format.records import VersionRecord
from artctl.format.version_fields import VersionFields
from artctl.repository.runs import VersionLink
from artctl.repository.views import PutResult

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

COMMIT_AFTER_MANIFEST = declare(
    "commit.after-manifest",
    "the manifest stored, no version record: an unreferenced manifest (gc removes it); the re-run "
    "writes the same manifest and commits it",
)
COMMIT_AFTER_VERSION = declare(
    "commit.after-version-record",
    "vN.json created, custom aliases not yet moved: a complete version; the re-run finds it "
    "(identical content) and moves the aliases",
)
COMMIT_AFTER_ALIASES = declare(
    "commit.after-aliases",
    "the version and its aliases committed, the run not yet linked: the re-run reports the same "
    "version and links the run",
)


def commit_manifest(
    repository: Repository,
    name: ArtifactName,
    kind: str,
    manifest: Manifest,
    fields: VersionFields,
    *,
    base: str | None = None,
) -> PutResult:
    """Manifest → version record → aliases (the objects are already stored).

    ``base`` is the manifest a draft started from: its remote origin carries over to the
    new manifest when reference entries do (``Repository.inherited_origin``).
    """
    fields.check()  # before the manifest is written
    with writing(
        repository.locks_dir, tmp_dir=repository.tmp_dir
    ):  # gc waits until the version record exists
        digest = repository.write_manifest(manifest, origin=repository.inherited_origin(manifest, base))
        crash_point(COMMIT_AFTER_MANIFEST)
        return commit_digest(
            repository, name, kind, digest, fields, files=len(manifest), size=manifest.total_size
        )


def commit_digest(
    repository: Repository,
    name: ArtifactName,
    kind: str,
    digest: str,
    fields: VersionFields,
    *,
    files: int,
    size: int,
) -> PutResult:
    """Version record → aliases → run link, for a manifest already stored."""
    fields.check()
    run_id = fields.run_id
    if run_id:
        repository.runs.require_running(run_id)
    with writing(
        repository.locks_dir, tmp_dir=repository.tmp_dir
    ):  # gc waits until the version record exists
        seconds = fields.ttl_seconds(lambda: repository.default_ttl(name))
        if run_id:
            # Identical content resolves to an existing version: refuse a lineage cycle before
            # the registry moves any alias to it.
            same = [r for r in repository.registry.versions(name) if r.manifest == digest]
            if same:
                repository.runs.check_link(run_id, link_of(same[-1]), direction="output")
        record, created = repository.registry.commit(
            name,
            kind,
            digest,
            files=files,
            size=size,
            description=fields.description,
            metadata=fields.metadata,
            ttl_seconds=seconds,
            aliases=list(fields.aliases),
            logged_by=run_id,
            tags=list(fields.tags),
            point=COMMIT_AFTER_VERSION,
        )
        crash_point(COMMIT_AFTER_ALIASES)
        if run_id:
            repository.runs.link(run_id, link_of(record), direction="output", new_version=created)
    return PutResult(record, repository.registry.aliases_of(record), created)


def check_type(repository: Repository, name: ArtifactName, kind: str) -> None:
    """Fail before any work when the name is taken by another type."""
    validate_type(kind)
    existing = repository.registry.holder(name)  # a deleted collection's name is free
    if existing is not None and existing.type != kind:
        raise Conflict(
            f"artifact {name} already exists with type {existing.type!r}, not {kind!r}",
            hint="names are unique within a project whatever the type; choose another name",
        )
    if existing is not None:
        repository.registry.check_portfolio(existing, False)  # a registry collection only holds links


#: The type of a new artifact when none is given (``wandb artifact put``'s default).
DEFAULT_TYPE = "dataset"


def type_for(repository: Repository, name: str, kind: str | None) -> str:
    """``kind``, else the existing artifact's type (a new version of a model stays a model),
    else :data:`DEFAULT_TYPE`."""
    if kind is not None:
        return kind
    existing = repository.registry.holder(parse_name(name, repository.names))
    return existing.type if existing is not None else DEFAULT_TYPE


def link_of(record: VersionRecord) -> VersionLink:
    return VersionLink(record.name, record.version, record.digest, record.type)
