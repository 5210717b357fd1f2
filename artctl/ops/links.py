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

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from artctl.base.crashpoints import crash_point, declare
from artctl.errors import ArtifactNotFound, InvalidName, LinkError
from artctl.format.names import ArtifactName, ArtifactRef, parse_name, parse_ref, version_index
from artctl.format.records import VersionRecord, utcnow

if TYPE_CHECKING:
    from artctl.api.repo import Repo

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


def ref_of(record: VersionRecord) -> str:
    """``name:vN`` of a version record."""
    return f"{record.name}:{record.version}"


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


def source_version(repo: Repo, ref: str | ArtifactRef) -> VersionRecord:
    """The live version ``ref`` names; for a link, its source (linking a link links its source)."""
    record = repo.resolve(ref)
    if record.link is None:
        return record
    source = source_of(repo, record)
    if source is None or not source.live():
        raise ArtifactNotFound(
            f"{ref_of(record)} links to {record.link}, which is gone",
            hint=f"link the version itself: `artctl link {record.link} …` once it exists again",
        )
    return source


def source_of(repo: Repo, record: VersionRecord) -> VersionRecord | None:
    """The source version of a link (deleted ones too), or None if it is gone.

    The ``link`` field names it as it was numbered when linked; a push or pull that renumbered
    the source collection since is followed by the manifest digest (a version's identity).
    """
    if record.link is None:
        return None
    ref = parse_ref(record.link)
    index = version_index(ref.alias)
    registry = repo.registry
    if registry.artifact(ref.name) is None:
        return None
    named = registry.version(ref.name, index) if index is not None else None
    if named is not None and named.manifest == record.manifest:
        return named
    same = [r for r in registry.versions(ref.name, include_deleted=True) if r.manifest == record.manifest]
    return same[-1] if same else None


def iter_links(repo: Repo) -> Iterator[VersionRecord]:
    """Every live linked version of every registry collection."""
    registry = repo.registry
    for artifact in registry.iter_artifacts():
        if artifact.portfolio:
            yield from registry.versions(parse_name(artifact.name))


def links_to(repo: Repo, record: VersionRecord) -> list[VersionRecord]:
    """The live linked versions whose source is ``record`` (matched by collection and manifest:
    the number in ``link`` may have moved, see ``source_of``)."""
    if record.link is not None:
        return []
    return [
        r
        for r in iter_links(repo)
        if r.manifest == record.manifest and r.link is not None and r.link.rsplit(":", 1)[0] == record.name
    ]


def linked_sources(repo: Repo) -> dict[tuple[str, str], list[str]]:
    """``(source name, manifest)`` → the refs of its live links, for every linked version: one
    pass over the registry collections for listings and bulk checks."""
    out: dict[tuple[str, str], list[str]] = {}
    for record in iter_links(repo):
        if record.link is not None:
            out.setdefault((record.link.rsplit(":", 1)[0], record.manifest), []).append(ref_of(record))
    return out


def links_of(record: VersionRecord, sources: dict[tuple[str, str], list[str]]) -> list[str]:
    """The refs of the live links of ``record``, looked up in ``linked_sources``."""
    return [] if record.link is not None else sources.get((record.name, record.manifest), [])


def check_ttl(repo: Repo, record: VersionRecord) -> None:
    """Refuse a TTL on a linked version or on a source that is linked."""
    if record.link is not None:
        raise LinkError(
            f"{ref_of(record)} is linked to {record.link}: a linked version has no TTL",
            hint="unlink it first, then set the TTL of the source version",
        )
    linked = links_to(repo, record)
    if linked:
        raise LinkError(
            f"{ref_of(record)} is linked to {', '.join(ref_of(r) for r in linked)}: "
            "a version in a registry does not expire",
            hint=f"unlink it first: `artctl unlink {ref_of(linked[0])}`",
        )


def check_deletable(repo: Repo, records: Sequence[VersionRecord]) -> None:
    """Refuse to delete source versions while a registry links to one of them."""
    wanted = {(r.name, r.manifest): r for r in records if r.link is None}
    if not wanted:
        return
    for linked in iter_links(repo):
        source = wanted.get((linked.link.rsplit(":", 1)[0], linked.manifest)) if linked.link else None
        if source is not None:
            raise LinkError(
                f"{ref_of(source)} is linked to {ref_of(linked)}",
                hint=f"unlink it first: `artctl unlink {ref_of(linked)}`",
            )


def link(
    repo: Repo,
    source_ref: str | ArtifactRef,
    target: str,
    *,
    aliases: Sequence[str] = (),
    default_project: str | None = None,
) -> LinkResult:
    """Link the version ``source_ref`` names into the registry collection ``target``.

    ``default_project`` places a bare ``collection`` target (default: ``$ARTCTL_PROJECT``, else
    the source's project).
    """
    from artctl.base.writeguard import writing
    from artctl.format.names import requested_aliases

    custom = requested_aliases(aliases)  # `latest` is a no-op, vN refused: before any write
    source = source_version(repo, source_ref)
    project = default_project or os.environ.get("ARTCTL_PROJECT") or parse_name(source.name).project
    name = parse_target(target, project)
    registry = repo.registry
    if str(name) == source.name:
        raise LinkError(f"{source.name} cannot be linked into itself", hint="link into a registry collection")
    existing = registry.artifact(name)
    if existing is not None:
        registry.check_type(existing, source.type)
        registry.check_portfolio(existing, True)
    with writing(repo.repository.locks_dir):  # gc waits until the link record exists
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


def _drop_source_ttl(repo: Repo, source: VersionRecord) -> tuple[VersionRecord, bool]:
    """Remove the source's TTL (under its lock): a linked version does not expire."""
    registry = repo.registry
    name = parse_name(source.name)
    with registry.lock(name):
        current = repo.resolve(ArtifactRef(name, source.version))  # still live: else not found
        if current.ttl_seconds is None:
            return current, False
        current = current.evolve(ttl_seconds=None, updated_at=utcnow())
        registry.save_version(current)
    return current, True


def unlink(repo: Repo, ref: str | ArtifactRef) -> UnlinkResult:
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


__all__ = [
    "LinkResult",
    "UnlinkResult",
    "check_deletable",
    "check_ttl",
    "links_of",
    "iter_links",
    "link",
    "linked_sources",
    "links_to",
    "parse_target",
    "source_of",
    "source_version",
    "unlink",
]
