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
from artctl.errors import ArtifactNotFound, InvalidInput
from artctl.format.names import parse_name, parse_project

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
    repo: Repository, project: str | None = None, ttl: str | None = None, *, dry_run: bool = False
) -> TtlApplyResult:
    """Give every live version of ``project`` without a TTL the project's TTL (``ttl``, else
    ``ttl.project.<project>``, else ``ttl.default``), counted from its creation date."""
    from artctl.base.units import ttl_seconds

    project = _project_of(repo, project)
    seconds = ttl_seconds(ttl) if ttl is not None else repo.project_ttl(project)
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


def _project_of(repo: Repository, project: str | None) -> str:
    """The project named (``[entity/]project``, the entity checked) or the default one; it must
    hold an artifact, so that a mistyped name in a cron job fails instead of changing nothing."""
    names = repo.names
    if project is None:
        if names.project is None:
            raise InvalidInput(
                "no project given",
                hint="give --project P, or set a default project: ARTCTL_PROJECT=P or "
                "`artctl config core.project P`",
            )
        project = names.project
    else:
        project = parse_project(project.rstrip("/"), names)
    if next(repo.registry.iter_artifacts(project), None) is None:
        known = sorted({parse_name(a.name).project for a in repo.registry.iter_artifacts()})
        raise ArtifactNotFound(
            f"project {project} has no artifacts",
            hint=f"projects here: {', '.join(known)}" if known else "put one with `artctl artifact put`",
        )
    return project
