"""``artctl link`` / ``artctl unlink``: registry collections (W&B's Model Registry)."""

from __future__ import annotations

import click

from artctl.cli.common import get_output, json_option, open_repo
from artctl.cli.complete import RefType


@click.command("link")
@click.argument("ref", type=RefType())
@click.argument("target")
@click.option(
    "-a",
    "--alias",
    "aliases",
    multiple=True,
    help="Alias of the linked version in TARGET, e.g. production (repeatable).",
)
@json_option
def link_cmd(ref: str, target: str, aliases: tuple[str, ...]) -> None:
    """Add the version REF to the registry collection TARGET, without copying its files.

    TARGET is [entity/]registry/collection (or a bare collection: REF's project). The linked
    version gets TARGET's next number and its own aliases (`latest` is the newest link);
    linking the same version again only moves the aliases. A version in a registry does not
    expire: linking removes the source's TTL, and a TTL is refused while it is linked.

    \b
    Examples:
      artctl link proj/cnn:v3 registry/cnn --alias production
      artctl artifact get registry/cnn:production --root model/
    """
    from artctl.ops.links import link

    result = link(open_repo(), ref, target, aliases=list(aliases))
    out = get_output()
    if out.json:
        out.emit_json(result.to_json())
        return
    record = result.record
    state = "linked" if result.created else "already linked"
    out.result(
        f"{record.name}:{record.version} -> {result.to_json()['link']} ({state}) aliases: "
        + ", ".join(result.aliases)
    )
    if result.ttl_removed:
        out.info(f"removed the TTL of {result.to_json()['link']}: a version in a registry does not expire")


@click.command("unlink")
@click.argument("ref", type=RefType())
@json_option
def unlink_cmd(ref: str) -> None:
    """Remove a linked version from its registry collection; the source version stays.

    \b
    Example:
      artctl unlink registry/cnn:v0
    """
    from artctl.ops.links import unlink

    result = unlink(open_repo(), ref)
    out = get_output()
    if out.json:
        out.emit_json(result.to_json())
        return
    dropped = f" (aliases removed: {', '.join(result.aliases_removed)})" if result.aliases_removed else ""
    out.result(f"unlinked {result.name}:{result.version} (was {result.source}){dropped}")


def register(group: click.Group) -> None:
    group.add_command(link_cmd)
    group.add_command(unlink_cmd)
