"""``artctl alias …``: custom aliases (``latest`` and ``vN`` are managed by artctl)."""

from __future__ import annotations

import click

from artctl.cli.common import get_output, json_option, open_repo
from artctl.cli.complete import AliasType, NameType, RefType


@click.group("alias")
def alias_group() -> None:
    """Add, move, remove and list custom aliases (best, production …)."""


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


def register(group: click.Group) -> None:
    group.add_command(alias_group)
