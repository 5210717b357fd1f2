"""``artctl alias …``: custom aliases (``latest`` and ``vN`` are managed by artctl)."""

from __future__ import annotations

import click

from artctl.cli.common import get_output, json_option, open_repo, short_time
from artctl.cli.complete import AliasType, NameType, RefType, RemoteType


@click.group("alias")
def alias_group() -> None:
    """Add, move, remove, list custom aliases (best, production …) and show their history."""


@alias_group.command("add")
@click.argument("ref", type=RefType())
@click.argument("alias")
@json_option
def add_cmd(ref: str, alias: str) -> None:
    """Point ALIAS at the version REF names; moves it if another version holds it.

    `latest` and `vN` are managed by artctl and cannot be set by hand. An alias does not
    protect a version from its TTL.

    \b
    Examples:
      artctl alias add proj/cnn:v3 best
      artctl alias add proj/cnn production        # the latest version
    """
    from artctl.ops.lifecycle import add_alias

    change = add_alias(open_repo(), ref, alias)
    out = get_output()
    if out.json:
        out.emit_json(change.to_json())
        return
    moved = f" (moved from {change.previous})" if change.previous else ""
    out.result(f"{change.name}:{change.alias} -> {change.version}{moved}")


@alias_group.command("rm")
@click.argument("name", type=NameType())
@click.argument("alias", type=AliasType())
@json_option
def rm_cmd(name: str, alias: str) -> None:
    """Remove custom ALIAS from artifact NAME (the version itself stays).

    \b
    Example:
      artctl alias rm proj/cnn best
    """
    from artctl.ops.lifecycle import remove_alias

    change = remove_alias(open_repo(), name, alias)
    out = get_output()
    if out.json:
        out.emit_json(change.to_json())
    else:
        out.result(f"removed {change.name}:{change.alias} (was {change.previous})")


@alias_group.command("ls")
@click.argument("name", type=NameType())
@json_option
def ls_cmd(name: str) -> None:
    """List the aliases of artifact NAME: `latest`, then the custom ones.

    \b
    Example:
      artctl alias ls proj/cnn --json
    """
    from rich.table import Table

    from artctl.ops.lifecycle import list_aliases

    rows = list_aliases(open_repo(), name)
    out = get_output()
    if out.json:
        out.emit_json([r.to_json() for r in rows])
        return
    table = Table("alias", "version", "kind", "state")
    for row in rows:
        table.add_row(row.alias, row.version, "managed" if row.managed else "custom", row.state)
    out.table(table)


@alias_group.command("log")
@click.argument("name", type=NameType())
@click.argument("alias", type=AliasType(), required=False)
@click.option("--remote", "remote", type=RemoteType(), help="Read the history on remote NAME (or URL).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show at most N changes (newest).")
@json_option
def log_cmd(name: str, alias: str | None, remote: str | None, limit: int | None) -> None:
    """Show who set, moved or removed the custom aliases of NAME (or only ALIAS), newest first.

    One line per change: when, by whom (user@host), and `alias  from -> to`, where
    `(none)` is the side of an alias set for the first time or removed.

    \b
    Examples:
      artctl alias log proj/cnn
      artctl alias log proj/cnn production --limit 5
      artctl alias log proj/cnn --remote origin --json
    """
    from artctl.ops.alias_log import alias_log

    events = alias_log(open_repo(), name, alias, remote=remote, limit=limit)
    out = get_output()
    if out.json:
        out.emit_json([e.to_json() for e in events])
        return
    if not events:
        out.result(f"no alias changes recorded for {name}" + (f" {alias}" if alias else ""))
        return
    width = max(len(e.alias) for e in events)
    for event in events:
        who = event.by or "(unknown)"
        out.result(
            f"{short_time(event.at)}  {who}  {event.alias.ljust(width)}  "
            f"{event.old or '(none)'} -> {event.new or '(none)'}"
        )


def register(group: click.Group) -> None:
    group.add_command(alias_group)
