"""``artctl cache info`` / ``artctl cache cleanup SIZE``: keep downloaded objects in bounds."""

from __future__ import annotations

import click

from artctl.cli.common import get_output, human_size, json_option, open_repo


@click.group("cache")
def cache_group() -> None:
    """Inspect and shrink the download cache (objects that also exist on a remote or reference)."""


@cache_group.command("info")
@json_option
def info_cmd() -> None:
    """Size of the cache (evictable objects) and of the pinned data (the only copies).

    \b
    Example:
      artctl cache info --json
    """
    from artctl.ops.cache_evict import info

    result = info(open_repo())
    out = get_output()
    if out.json:
        out.emit_json(result.to_json())
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table("", "size", "objects", "")
    table.add_row(
        "cache",
        human_size(result.cache_bytes),
        str(result.cache_objects),
        "evictable: also on a remote or at a reference",
    )
    table.add_row(
        "pinned",
        human_size(result.pinned_bytes),
        str(result.pinned_objects),
        "only copy; push them to make them evictable",
    )
    if result.temp_files:
        table.add_row(
            "temp",
            human_size(result.temp_bytes),
            f"{result.temp_files} files",
            escape("older than 1 hour: `artctl cache cleanup SIZE --remove-temp`"),
        )
    out.table(table)
    out.result(f"store: {result.loose_objects} loose objects, {result.packs} packs at {result.location}")


@cache_group.command("cleanup", context_settings={"ignore_unknown_options": True})
@click.argument("size", metavar="SIZE")
@click.option("--dry-run", is_flag=True, help="Only print what would be evicted.")
@click.option(
    "--remove-temp",
    is_flag=True,
    help="Also delete leftover temp files older than 1 hour (from killed processes).",
)
@json_option
def cleanup_cmd(size: str, dry_run: bool, remove_temp: bool) -> None:
    """Evict least-recently-used cached objects until the cache fits in SIZE.

    SIZE is e.g. 0, 500MiB, 1GB (1 GB = 10^9 bytes, 1 GiB = 2^30). Only objects with another
    copy (on a remote, or behind a reference) are evicted, never the only copy of anything,
    never while a `get` is reading; a later `get` fetches them again. A remote copy counts only
    if this machine pushed or fetched those bytes, and it is checked on the remote first. Prints nothing and
    exits 0 when there is nothing to do, so it fits a cron line.

    \b
    Examples:
      artctl cache cleanup 1GB
      artctl cache cleanup 0 --dry-run
      artctl artifact cache cleanup 1GB     # the same, as W&B spells it
      0 3 * * * cd /data && artctl cache cleanup 20GB --remove-temp
    """
    from artctl.base.units import parse_size
    from artctl.ops.cache_evict import cleanup

    limit = parse_size(size)
    result = cleanup(open_repo(), limit, dry_run=dry_run, remove_temp=remove_temp)
    out = get_output()
    for remote, why in sorted(result.unreachable.items()):
        out.warn(f"remote {remote} could not be checked, its copies count as absent: {why}")
    if result.unconfirmed_bytes:
        out.warn(
            f"kept {human_size(result.unconfirmed_bytes)} whose remote copy is not confirmed "
            "(missing, cut short or unreachable); `artctl push` sends it again"
        )
    if out.json:
        out.emit_json(result.to_json())
        return
    if dry_run:
        for unit in result.evicted:
            kind = "pack" if unit.pack else "object"
            out.result(
                f"would evict {kind} {unit.id[:16]} ({human_size(unit.size)}, {len(unit.blobs)} objects)"
            )
    if result.nothing_done:
        return
    verb = "would free" if dry_run else "freed"
    objects = sum(len(u.blobs) for u in result.evicted)
    extra = f", {result.temp_files_removed} temp files" if result.temp_files_removed else ""
    out.info(
        f"{verb} {human_size(result.freed_bytes)} ({objects} objects{extra}); cache now "
        f"{human_size(result.cache_bytes_after)}, pinned {human_size(result.pinned_bytes)}"
    )


@click.group("cache")
def artifact_cache_group() -> None:
    """Shrink the download cache: `artctl cache cleanup`, as W&B spells it."""


artifact_cache_group.add_command(cleanup_cmd)


def register(group: click.Group) -> None:
    from artctl.cli.artifact_cmds import artifact_group

    group.add_command(cache_group)
    artifact_group.add_command(artifact_cache_group)
