"""Reading registry links: which version a link points to, which links point to a version, and
the rules a linked version obeys (no TTL, no deletion of a linked source).

The links themselves are version records of registry collections (see ``ops/links.py`` for the
``link`` and ``unlink`` verbs and the rules they follow); these reads serve ``show``, ``ls``,
TTL, delete, lineage and drafts alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from artctl.errors import ArtifactNotFound, LinkError
from artctl.format.names import ArtifactRef, parse_name, parse_ref, version_index
from artctl.format.records import VersionRecord

if TYPE_CHECKING:
    from artctl.repository.repo import Repository


def ref_of(record: VersionRecord) -> str:
    """``name:vN`` of a version record."""
    return f"{record.name}:{record.version}"


def source_version(repo: Repository, ref: str | ArtifactRef) -> VersionRecord:
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


def source_of(repo: Repository, record: VersionRecord) -> VersionRecord | None:
    """The source version of a link (deleted ones too), or None if it is gone.

    The ``link`` field names it as it was numbered when linked; a push or pull that renumbered
    the source collection since is followed by the manifest digest (a version's identity).
    """
    if record.link is None:
        return None
    ref = parse_ref(record.link)
    index = version_index(ref.alias)
    registry = repo.registry
    name = parse_name(source_name(repo, record.link))
    if registry.artifact(name) is None:
        return None
    named = registry.version(name, index) if index is not None else None
    if named is not None and named.manifest == record.manifest:
        return named
    same = [r for r in registry.versions(name, include_deleted=True) if r.manifest == record.manifest]
    return same[-1] if same else None


def source_name(repo: Repository, link: str, seen: dict[str, str] | None = None) -> str:
    """The collection a link's source is in now: the name in ``link`` (``proj/model:v3``), or
    the collection's new name when ``artifact rename`` moved it since (a chain is followed), so a
    rename keeps the source's links, their TTL and deletion rules. ``seen`` caches the answer
    per name across one pass over many links."""
    old = link.rsplit(":", 1)[0]
    if seen is not None and old in seen:
        return seen[old]
    registry = repo.registry
    parsed = parse_name(old)
    now = old if registry.holder(parsed) is not None else registry.renamed_to(parsed) or old
    if seen is not None:
        seen[old] = now
    return now


def iter_links(repo: Repository) -> Iterator[VersionRecord]:
    """Every live linked version of every registry collection."""
    registry = repo.registry
    for artifact in registry.iter_artifacts():
        if artifact.portfolio:
            yield from registry.versions(parse_name(artifact.name))


def links_to(repo: Repository, record: VersionRecord) -> list[VersionRecord]:
    """The live linked versions whose source is ``record`` (matched by collection and manifest:
    the number in ``link`` may have moved, see ``source_of``)."""
    if record.link is not None:
        return []
    seen: dict[str, str] = {}
    return [
        r
        for r in iter_links(repo)
        if r.manifest == record.manifest
        and r.link is not None
        and source_name(repo, r.link, seen) == record.name
    ]


def linked_sources(repo: Repository) -> dict[tuple[str, str], list[str]]:
    """``(source name, manifest)`` → the refs of its live links, for every linked version: one
    pass over the registry collections for listings and bulk checks."""
    out: dict[tuple[str, str], list[str]] = {}
    seen: dict[str, str] = {}
    for record in iter_links(repo):
        if record.link is not None:
            key = (source_name(repo, record.link, seen), record.manifest)
            out.setdefault(key, []).append(ref_of(record))
    return out


def links_of(record: VersionRecord, sources: dict[tuple[str, str], list[str]]) -> list[str]:
    """The refs of the live links of ``record``, looked up in ``linked_sources``."""
    return [] if record.link is not None else sources.get((record.name, record.manifest), [])


def check_ttl(repo: Repository, record: VersionRecord) -> None:
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


def check_deletable(repo: Repository, records: Sequence[VersionRecord]) -> None:
    """Refuse to delete source versions while a registry links to one of them."""
    wanted = {(r.name, r.manifest): r for r in records if r.link is None}
    if not wanted:
        return
    seen: dict[str, str] = {}
    for linked in iter_links(repo):
        source = wanted.get((source_name(repo, linked.link, seen), linked.manifest)) if linked.link else None
        if source is not None:
            raise LinkError(
                f"{ref_of(source)} is linked to {ref_of(linked)}",
                hint=f"unlink it first: `artctl unlink {ref_of(linked)}`",
            )
