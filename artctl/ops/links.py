"""Registry collections and links: W&B's Model Registry without copying a byte.

A *registry collection* (W&B's portfolio; ``ArtifactRecord.portfolio``) holds *links*: version
records whose ``manifest`` is the source version's and whose ``link`` field names that source
(``proj/model:v3``). Linking therefore writes one small record; ``get``, ``show`` and ``verify``
read the manifest as for any version. The rules, as W&B's:

- A registry collection numbers its versions ``v0, v1 …`` in link order and has its own
  aliases (``latest`` = the newest link; custom ones such as ``production`` unique within it),
  independent of the source collection's.
- Linking content already linked in the collection is idempotent: the same linked version is
  returned and the requested aliases move to it. Linking a link links its source.
- A linked version has no TTL, and neither does its source while it is linked: linking removes
  the source's TTL (reported), and setting one on either is refused (``LinkError``) until the
  link is gone — a model in production must not expire (the guide: "W&B deactivates the option
  to set a TTL policy for model artifacts linked to the Model Registry").
- A link starts with a copy of the source's description and metadata; each is edited on its own
  afterwards (W&B shares them between a source and its links; here a registry entry's notes
  stay the registry's). Tags start empty: they label the registry entry.
- Deleting a linked version only unlinks it (the source stays). Deleting a source that is
  linked is refused until it is unlinked. A link keeps its bytes alive even if its source is
  deleted anyway (a pull can bring that): ``gc`` keeps the manifest of every live version record.

Order of writes: the source's TTL is dropped (under its lock) before the link record exists, so
no moment has a link to a version that can still expire; a crash in between leaves a source
without TTL and no link, and the re-run links it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from artctl.base.crashpoints import crash_point, declare
from artctl.errors import InvalidName, LinkError
from artctl.format.names import ArtifactName, ArtifactRef, parse_name
from artctl.format.records import VersionRecord, utcnow
from artctl.repository.links import ref_of, source_of, source_version

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

LINK_AFTER_SOURCE_TTL = declare(
    "link.after-source-ttl",
    "the source's TTL removed, no link record yet: the source simply has no TTL; the re-run links it",
)
LINK_AFTER_RECORD = declare(
    "link.after-record",
    "the link record created, its aliases not yet moved: a complete linked version; the re-run "
    "finds it (idempotent) and moves the aliases",
)


@dataclass(frozen=True)
class LinkResult:
    """The outcome of ``link``: the linked version, its source and what changed."""

    record: VersionRecord
    source: VersionRecord
    aliases: list[str]
    created: bool
    ttl_removed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.record.name,
            "type": self.record.type,
            "version": self.record.version,
            "digest": self.record.digest,
            "aliases": self.aliases,
            "created": self.created,
            "link": ref_of(self.source),
            "source_ttl_removed": self.ttl_removed,
        }


@dataclass(frozen=True)
class UnlinkResult:
    """The outcome of ``unlink``: the linked version removed and the aliases it held."""

    name: str
    version: str
    source: str | None
    aliases_removed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "link": self.source,
            "aliases_removed": self.aliases_removed,
        }


def parse_target(target: str, default_project: str | None) -> ArtifactName:
    """A link target, in W&B's forms: ``collection`` (the default project), ``registry/collection``
    (``model-registry/…``, ``wandb-registry-model/…``) or ``entity/registry/collection``.

    A target names a collection, never a version: ``:alias`` is refused (aliases are given apart).
    """
    if not isinstance(target, str) or not target:
        raise InvalidName("a link target is a collection: [entity/]registry/collection")
    if ":" in target:
        raise InvalidName(
            f"link target {target!r} names a version; a target is a collection",
            hint="give aliases apart: `artctl link REF registry/coll --alias production`",
        )
    return parse_name(target, default_project)


def link(
    repo: Repository,
    source_ref: str | ArtifactRef,
    target: str,
    *,
    aliases: Sequence[str] = (),
    default_project: str | None = None,
) -> LinkResult:
    """Link the version ``source_ref`` names into the registry collection ``target``.

    ``default_project`` places a bare ``collection`` target (default: the repository's default
    project, ``ARTCTL_PROJECT`` / ``core.project``, else the source's project).
    """
    from artctl.base.locks import writing
    from artctl.format.names import requested_aliases

    custom = requested_aliases(aliases)  # `latest` is a no-op, vN refused: before any write
    source = source_version(repo, source_ref)
    project = default_project or repo.names.project or parse_name(source.name).project
    name = parse_target(target, project)
    registry = repo.registry
    if str(name) == source.name:
        raise LinkError(f"{source.name} cannot be linked into itself", hint="link into a registry collection")
    existing = registry.artifact(name)
    if existing is not None:
        registry.check_type(existing, source.type)
        registry.check_portfolio(existing, True)
    with writing(repo.locks_dir, tmp_dir=repo.tmp_dir):  # gc waits until the link record exists
        source, ttl_removed = _drop_source_ttl(repo, source)
        crash_point(LINK_AFTER_SOURCE_TTL)
        record, created = registry.commit(
            name,
            source.type,
            source.manifest,
            files=source.files,
            size=source.size,
            description=source.description,
            metadata=dict(source.metadata),
            ttl_seconds=None,
            aliases=custom,
            link=ref_of(source),
            point=LINK_AFTER_RECORD,
        )
    return LinkResult(record, source, registry.aliases_of(record), created, ttl_removed)


def _drop_source_ttl(repo: Repository, source: VersionRecord) -> tuple[VersionRecord, bool]:
    """Remove the source's TTL (under its lock): a linked version does not expire."""
    registry = repo.registry
    name = parse_name(source.name)
    with registry.lock(name):
        current = repo.resolve(ArtifactRef(name, source.version))  # still live: else not found
        if current.ttl_seconds is None:
            return current, False
        current = current.evolve(ttl_seconds=None, updated_at=utcnow())
        registry.record_edit(current)
    return current, True


def unlink(repo: Repository, ref: str | ArtifactRef) -> UnlinkResult:
    """Remove a linked version from its registry collection (with its aliases); the source
    stays. A version that is no link is refused: delete it with ``artifact rm``."""
    from artctl.ops.lifecycle import delete_version

    record = repo.resolve(ref)
    if record.link is None:
        raise LinkError(
            f"{ref_of(record)} is not a linked version and cannot be unlinked",
            hint=f"to delete it, use `artctl artifact rm {ref_of(record)}`",
        )
    source = source_of(repo, record)
    result = delete_version(repo, ref_of(record), delete_aliases=True)
    return UnlinkResult(
        record.name,
        record.version,
        ref_of(source) if source is not None else record.link,
        result.aliases_removed,
    )


__all__ = ["LinkResult", "UnlinkResult", "link", "parse_target", "unlink"]
