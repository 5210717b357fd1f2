"""A project's default TTL applied to the versions it already has (``artctl ttl apply``).

W&B's team default TTL "applies to all existing and future artifacts based on their respective
creation dates; artifacts with existing version-level TTL policies are not affected". New
versions get ``ttl.project.<P>`` (or ``ttl.default``) when they are committed; this is the
other half: every live version of the project without a TTL of its own gets the project's,
counted from its creation date — so a version older than the TTL expires at once (readers no
longer see it; ``artctl gc`` deletes its data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from artctl.base.units import format_duration
from artctl.errors import InvalidInput, InvalidName
from artctl.format.names import parse_name

if TYPE_CHECKING:
    from artctl.repository.repo import Repository


@dataclass(frozen=True)
class TtlChange:
    """One version that gets (or would get) the project's TTL."""

    name: str
    version: str
    created_at: str
    expires_at: str
    expired: bool

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class TtlApplyResult:
    """What ``ttl apply`` changed (or, with ``dry_run``, would change)."""

    project: str
    ttl: str
    dry_run: bool
    changed: list[TtlChange] = field(default_factory=list)
    kept: int = 0  # versions that have a TTL of their own, or are in a registry: never changed

    @property
    def expired(self) -> int:
        return sum(1 for c in self.changed if c.expired)

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "ttl": self.ttl,
            "dry_run": self.dry_run,
            "versions": [c.to_json() for c in self.changed],
            "kept": self.kept,
            "expired": self.expired,
        }


def apply_project_ttl(
    repo: Repository, project: str, ttl: str | None = None, *, dry_run: bool = False
) -> TtlApplyResult:
    """Give every live version of ``project`` without a TTL the project's TTL (``ttl``, else
    ``ttl.project.<project>``, else ``ttl.default``), counted from its creation date."""
    from artctl.base.units import ttl_seconds

    project = project.strip("/")
    try:
        parse_name(f"{project}/x")  # the project (and entity) parts follow the artifact name rules
    except InvalidName:
        raise InvalidName(
            f"invalid project {project!r}: [entity/]project, each part 1-128 letters, "
            "digits, '.', '_' or '-', starting with a letter or digit"
        ) from None
    seconds = ttl_seconds(ttl) if ttl is not None else repo.project_ttl(project.rsplit("/", 1)[-1])
    if seconds is None:
        raise InvalidInput(
            f"project {project} has no default TTL",
            hint=f"give --ttl DURATION, or set it: `artctl config ttl.project.{project} 90d`",
        )
    from artctl.repository.links import linked_sources, links_of

    registry = repo.registry
    changed: list[TtlChange] = []
    kept = 0
    linked = linked_sources(repo)  # versions in a registry never expire (artctl.ops.links)
    for artifact in registry.iter_artifacts(project):
        name = parse_name(artifact.name)
        with registry.lock(name):  # a TTL set meanwhile by `artifact update` is never overwritten
            for record in registry.versions(name):
                if record.ttl_seconds is not None or record.link is not None or links_of(record, linked):
                    kept += 1
                    continue
                record = record.evolve(ttl_seconds=seconds)
                if not dry_run:
                    registry.record_edit(record)
                expires = record.expires_at
                assert expires is not None
                changed.append(
                    TtlChange(
                        record.name, record.version, record.created_at, expires.isoformat(), record.expired()
                    )
                )
    return TtlApplyResult(project, format_duration(timedelta(seconds=seconds)) or "", dry_run, changed, kept)
