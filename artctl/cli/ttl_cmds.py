"""``artctl ttl apply``: a project's default TTL given to the versions it already has."""

from __future__ import annotations

import click

from artctl.cli.common import get_output, json_option, open_repo, short_time
from artctl.cli.complete import ProjectOrNameType


@click.group("ttl")
def ttl_group() -> None:
    """Time-to-live policies (a version's own TTL: `artctl artifact update REF --ttl D`)."""


@ttl_group.command("apply")
@click.option(
    "--project",
    type=ProjectOrNameType(),
    help="The project: [entity/]project (default: ARTCTL_PROJECT, else core.project).",
)
@click.option(
    "--ttl", help="The TTL to apply (e.g. 90d, 6mo; default: config ttl.project.PROJECT, else ttl.default)."
)
@click.option(
    "--dry-run", is_flag=True, help="Only print which versions would get it and which would expire."
)
@json_option
def apply_cmd(project: str | None, ttl: str | None, dry_run: bool) -> None:
    """Give every version of PROJECT without a TTL of its own the project's default TTL.

    As a W&B team admin's default TTL policy: it counts from each version's creation date, so
    versions older than the TTL expire at once (`artctl gc` then deletes their data); versions
    with a TTL of their own keep it. New versions get the project's TTL when they are made.

    \b
    Examples:
      artctl config ttl.project.proj 90d && artctl ttl apply --project proj --dry-run
      artctl ttl apply --project proj --ttl 6mo
    """
    from artctl.ops.ttl_policy import apply_project_ttl

    result = apply_project_ttl(open_repo(), project, ttl, dry_run=dry_run)
    out = get_output()
    if out.json:
        out.emit_json(result.to_json())
        return
    for change in result.changed:
        when = "expired" if change.expired else f"expires {short_time(change.expires_at)}"
        out.result(f"{change.name}:{change.version}\t{when}")
    verb = "would get" if dry_run else "got"
    out.info(
        f"{len(result.changed)} version(s) of {result.project} {verb} TTL {result.ttl} "
        f"({result.expired} expired: `artctl gc` deletes their data); "
        f"{result.kept} keep a TTL of their own"
    )


def register(group: click.Group) -> None:
    group.add_command(ttl_group)
