"""``artctl artifact ls``: artifacts or versions, filtered and sorted (see ``version_query``)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from artctl.base.units import human_size
from artctl.cli.artifact_cmds import artifact_group
from artctl.cli.common import escape_cell, get_output, json_option, open_repo, short_time
from artctl.cli.complete import ArtifactTypeType, ProjectOrNameType

if TYPE_CHECKING:
    from artctl.repository.views import VersionInfo


def _metadata_filters(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[tuple[str, object], ...]:
    from artctl.errors import InvalidInput
    from artctl.ops.query import parse_metadata_filter

    try:
        return tuple(parse_metadata_filter(v) for v in values)
    except InvalidInput as exc:
        raise click.BadParameter(exc.message) from None


def _since(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    from artctl.errors import InvalidInput
    from artctl.ops.query import parse_since

    try:
        return parse_since(value) if value is not None else None
    except InvalidInput as exc:
        raise click.BadParameter(f"{exc.message} ({exc.hint})") from None


@artifact_group.command("ls")
@click.argument("target", required=False, type=ProjectOrNameType())
@click.option("--type", "kind", type=ArtifactTypeType(), help="Only artifacts of this type.")
@click.option(
    "--all", "include_deleted", is_flag=True, help="With NAME: include deleted and expired versions."
)
@click.option(
    "--alias", "alias_filter", multiple=True, help="Only versions with this alias (repeatable: all of them)."
)
@click.option(
    "--tag", "tag_filter", multiple=True, help="Only versions with this tag (repeatable: all of them)."
)
@click.option(
    "--metadata",
    "metadata_filter",
    multiple=True,
    metavar="KEY=VALUE",
    callback=_metadata_filters,
    help="Only versions whose metadata KEY (dotted for nested keys: train.lr) equals VALUE "
    "(compared as JSON when it parses, else as text; repeatable).",
)
@click.option(
    "--since",
    metavar="DATE|DURATION",
    callback=_since,
    help="Only versions (artifacts: updated) since an ISO date/time or a duration ago (7d, 12h).",
)
@click.option(
    "--sort",
    type=click.Choice(["created", "size", "name"]),
    default=None,
    help="Sort order (default: versions by creation, artifacts by name); name sorts versions by number.",
)
@click.option("--reverse", is_flag=True, help="Reverse the order (newest or largest first).")
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Show at most N rows (after sorting)."
)
@json_option
def ls_cmd(
    target: str | None,
    kind: str | None,
    include_deleted: bool,
    alias_filter: tuple[str, ...] = (),
    tag_filter: tuple[str, ...] = (),
    metadata_filter: tuple[tuple[str, object], ...] = (),
    since: datetime | None = None,
    sort: str | None = None,
    reverse: bool = False,
    limit: int | None = None,
) -> None:
    """List artifacts (of a PROJECT), or the versions of one NAME; filter and sort them.

    Version filters (--alias, --tag, --metadata) given without NAME list the matching versions
    of every artifact (of the PROJECT). --since filters versions, or artifacts by their latest
    version. --limit applies after --sort and --reverse.

    \b
    Examples:
      artctl artifact ls
      artctl artifact ls proj --type dataset
      artctl artifact ls proj/mnist
      artctl artifact ls proj/mnist --sort created --reverse --limit 5
      artctl artifact ls proj --tag reviewed --metadata train.epochs=10 --since 7d
    """
    from artctl.ops.query import VersionFilter, order

    repo = open_repo()
    out = get_output()
    wanted = VersionFilter(alias_filter, tag_filter, metadata_filter, since)
    version_keys = {
        "created": lambda i: (i.record.created_at, i.record.index),
        "size": lambda i: i.record.size,
        "name": lambda i: (i.record.name, i.record.index),
    }
    if target and _names_artifact(target):
        versions = [i for i in repo.versions(target, include_deleted=include_deleted) if wanted.matches(i)]
        versions = order(versions, sort, reverse, limit, version_keys)
        if out.json:
            out.emit_json([v.to_json(entries=False) for v in versions])
            return
        _versions_table(versions, with_name=False)
        if versions:
            return
        if include_deleted or wanted.selects_versions or since:
            out.info("no version matches")
        else:
            out.info(
                f"{target} has no live version; `artctl artifact ls {target} --all` shows "
                "deleted and expired ones"
            )
        return
    project = target.rstrip("/") if target else None
    if wanted.selects_versions:
        versions = [
            i
            for row in repo.list_artifacts(project, kind)
            for i in repo.versions(row.name)
            if wanted.matches(i)
        ]
        versions = order(versions, sort or "name", reverse, limit, version_keys)
        if out.json:
            out.emit_json([v.to_json(entries=False) for v in versions])
            return
        _versions_table(versions, with_name=True)
        if not versions:
            out.info("no version matches")
        return
    from rich.table import Column, Table

    from artctl.format.records import parse_time

    rows = [
        r
        for r in repo.list_artifacts(project, kind)
        if since is None or r.updated_at is not None and parse_time(r.updated_at) >= since
    ]
    rows = order(
        rows,
        sort,
        reverse,
        limit,
        {"created": lambda r: r.updated_at or "", "size": lambda r: r.size, "name": lambda r: r.name},
    )
    if out.json:
        out.emit_json([r.to_json() for r in rows])
        return
    table = Table("name", "type", "versions", "latest", "size", Column("updated", no_wrap=True))
    for row in rows:
        table.add_row(
            row.name,
            row.type,
            str(row.versions),
            row.latest or "-",
            human_size(row.size),
            short_time(row.updated_at),
        )
    if rows:
        out.table(table)
    else:
        where = f" in {project}" if target else ""
        where += f" of type {kind}" if kind else ""
        out.info(
            f"no artifacts{where}; make one with `artctl artifact put PATH --name PROJECT/NAME --type TYPE`"
        )


def _versions_table(versions: list[VersionInfo], *, with_name: bool) -> None:
    """The versions listing of ``ls`` (``with_name``: versions of several artifacts); nothing
    on stdout when there are none (the caller says why on stderr)."""
    if not versions:
        return
    from rich.table import Column, Table

    from artctl.base.units import format_duration

    columns: list[Column | str] = [
        "version",
        "aliases",
        "tags",
        "files",
        "size",
        Column("created", no_wrap=True),
        "state",
        "ttl",
    ]
    links = any(info.source for info in versions)  # a registry collection: name each source
    table = Table(*(["name"] if with_name else []), *columns, *(["link"] if links else []))
    for info in versions:
        r = info.record
        table.add_row(
            *([escape_cell(r.name)] if with_name else []),
            r.version,
            ", ".join(a for a in info.aliases if a != r.version),
            escape_cell(", ".join(r.tags)),
            str(r.files),
            human_size(r.size),
            short_time(r.created_at),
            r.status(),
            format_duration(r.ttl) or "-",
            *([escape_cell(info.source or "-")] if links else []),
        )
    get_output().table(table)


def _names_artifact(target: str) -> bool:
    """NAME (``proj/mnist``, or a bare ``mnist`` of the default project) versus PROJECT
    (``proj`` or ``entity/proj``): an existing artifact wins, then an existing project."""
    from artctl.errors import ArtctlError
    from artctl.format.names import parse_name, parse_project

    repo = open_repo()
    scope = repo.names
    try:
        name = parse_name(target.rstrip("/"), scope)
    except ArtctlError:
        return False
    if repo.registry.artifact(name) is not None:
        return True
    try:
        project = parse_project(target.rstrip("/"), scope)
    except ArtctlError:
        return True  # proj/name that does not exist: `ls` says so
    return not any(parse_name(a.name).project == project for a in repo.registry.iter_artifacts())


def register(group: click.Group) -> None:
    """``ls`` joins the ``artifact`` group (registered by ``artifact_cmds``)."""
