"""``artctl gc``, ``artctl artifact rm`` and ``rename``: deleting and renaming collections and versions,
reclaiming their bytes."""

from __future__ import annotations

from typing import Any

import click

from artctl.base.units import count, human_size
from artctl.cli.common import get_output, json_option, open_repo
from artctl.cli.complete import NameType, RefType
from artctl.errors import InvalidInput


@click.command("rm")
@click.argument("ref", type=RefType())
@click.option(
    "--delete-aliases",
    is_flag=True,
    help="Also remove the version's custom aliases (otherwise a version holding one is not deleted).",
)
@click.option("--all", "whole", is_flag=True, help="Delete every version of artifact NAME.")
@json_option
def rm_cmd(ref: str, delete_aliases: bool, whole: bool) -> None:
    """Soft-delete a version (REF), or with --all every version of NAME.

    The version disappears from get/ls/show at once (`latest` moves back to the newest live
    version); its bytes are freed by the next `artctl gc`. A version that holds custom aliases
    is only deleted with --delete-aliases.

    \b
    Examples:
      artctl artifact rm proj/mnist:v2
      artctl artifact rm proj/cnn:best --delete-aliases
      artctl artifact rm proj/old-data --all
    """
    from artctl.ops.lifecycle import delete_artifact, delete_version

    repo = open_repo()
    result = delete_artifact(repo, ref) if whole else delete_version(repo, ref, delete_aliases=delete_aliases)
    out = get_output()
    if out.json:
        out.emit_json(result.to_json())
        return
    aliases = f" and alias(es) {', '.join(result.aliases_removed)}" if result.aliases_removed else ""
    out.result(f"deleted {result.name}:{', '.join(result.versions)}{aliases}")
    out.info("bytes are freed by `artctl gc`")


@click.command("rename")
@click.argument("name", type=NameType())
@click.argument("new_name", metavar="NEW_NAME")
@json_option
def rename_cmd(name: str, new_name: str) -> None:
    """Rename artifact NAME (a collection: every version, alias and run link) to NEW_NAME.

    NEW_NAME without a project stays in NAME's project. A name in use is refused; a deleted
    collection's name is free. Safe to interrupt: the old name or the new one, never both, and
    running the same command again finishes it. Version numbers and digests do not change.

    \b
    Examples:
      artctl artifact rename proj/mnist mnist-v2
      artctl artifact rename proj/cnn other-proj/cnn --json
    """
    from artctl.ops.lifecycle import rename_artifact

    result = rename_artifact(open_repo(), name, new_name)
    out = get_output()
    if out.json:
        out.emit_json(result.to_json())
        return
    out.result(f"renamed {result.old} to {result.new} ({result.type}, {len(result.versions)} version(s))")


@click.command("gc")
@click.option("--dry-run", is_flag=True, help="Only report what would be deleted.")
@click.option(
    "--grace-period",
    "--grace",
    "grace",
    metavar="DURATION",
    help="Keep unreferenced data younger than this (default: gc.grace_period, 1h; with --remote "
    "gc.remote_grace, 1d); 0 collects everything unreferenced now, as `git gc --prune=now`.",
)
@click.option(
    "--remote",
    metavar="NAME|URL",
    help="Collect on this remote instead: purge its deleted and expired versions and delete or "
    "repack what no live version needs, beside running pushes (docs/remotes.md).",
)
@click.option(
    "--force",
    is_flag=True,
    help="With --remote: run even though another gc holds the remote's gc lease (only when "
    "you know that gc is dead; one killed on this host or whose lease expired frees it anyway).",
)
@json_option
def gc_cmd(dry_run: bool, grace: str | None, remote: str | None, force: bool) -> None:
    """Delete expired and deleted versions' data and every unreferenced object.

    Versions past their TTL are soft-deleted first (custom aliases do not protect them); then
    manifests, objects and packs that no live version or open draft needs are removed. Objects
    younger than the grace period (--grace-period, else `gc.grace_period`, default 1h) are
    kept. Safe beside running puts, drafts and upserts, whatever the grace period: gc waits for
    writes in flight and they wait for gc (docs/gc.md).

    On a remote, one gc runs at a time: it holds a lease on the remote (renewed while it runs;
    5 min without renewal). A second gc stops with the holder's name and the lease's expiry,
    unless --force. --dry-run takes no lease.

    \b
    Examples:
      artctl gc --dry-run
      artctl gc --grace-period 0
      artctl gc --json
      artctl gc --remote origin --dry-run
    """
    from artctl.ops.gc import gc
    from artctl.repository.config_values import parse_grace

    out = get_output()
    seconds = parse_grace(grace) if grace is not None else None
    if out.repo is not None and _gc_remote(out.repo, seconds, dry_run, force):
        return
    if force and remote is None:
        raise InvalidInput("--force applies only to gc on a remote (--remote, or --repo REMOTE)")
    repo = open_repo()
    if remote is not None:
        _remote_gc(repo, remote, seconds, dry_run, force)
        return
    with out.progress_bar("gc") as progress:
        result = gc(repo, dry_run=dry_run, grace_period=seconds, progress=progress)
    if out.json:
        out.emit_json(result.to_json())
        return
    verb = "would free" if dry_run else "freed"
    for ref in result.expired:
        out.result(f"expired\t{ref}")
    for ref in result.purged:
        out.result(f"{'would purge' if dry_run else 'purged'}\t{ref}")
    out.result(
        f"{verb} {human_size(result.bytes_freed)}: {count(result.objects, 'object')}, "
        f"{count(result.manifests, 'manifest')}, {count(result.packs_deleted, 'pack')} deleted, "
        f"{result.packs_repacked} repacked, {result.temp_files} temp files"
    )
    if result.young_kept:
        from datetime import timedelta

        from artctl.base.units import format_duration

        out.info(
            f"kept {result.young_kept} unreferenced item(s), {human_size(result.young_bytes)}, "
            f"younger than the grace period ({format_duration(timedelta(seconds=result.grace_period))}); "
            "`artctl gc --grace-period 0` collects them now"
        )
    for problem in result.problems:
        out.warn(problem)


def _gc_remote(location: str, grace: int | None, dry_run: bool, force: bool) -> bool:
    """``--repo X gc`` with a remote X: garbage collection on the remote itself; False when X
    is a local repository (the ordinary gc then runs there)."""
    from artctl.ops.remote.mirror import collect_garbage
    from artctl.ops.remote.target import resolve_target

    target = resolve_target(location)
    if not target.remote:
        return False
    _render_remote_gc(collect_garbage(target, grace=grace, dry_run=dry_run, force=force), dry_run)
    return True


def _remote_gc(repo: Any, remote: str, grace: int | None, dry_run: bool, force: bool) -> None:
    """``gc --remote``: collect on a remote and render the report."""
    from artctl.ops.remote.gc import collect_remote

    _render_remote_gc(collect_remote(repo, remote, grace=grace, dry_run=dry_run, force=force), dry_run)


def _render_remote_gc(report: Any, dry_run: bool) -> None:
    """The report of a gc on a remote (``gc --remote`` and ``--repo REMOTE gc`` alike)."""
    out = get_output()
    if out.json:
        out.emit_json(report.to_json())
        return
    for ref in report.expired:
        out.result(f"expired\t{ref}")
    for ref in report.purged:
        out.result(f"{'would purge' if dry_run else 'purged'}\t{ref}")
    if dry_run:
        for doomed in report.files:
            out.result(f"would delete\t{doomed.rel}\t{human_size(doomed.size)}")
    for ref in report.restored:
        out.info(f"restored the manifest of {ref} (pushed while gc ran)")
    counts = report.to_json()
    out.result(
        f"{'would free' if dry_run else 'freed'} {human_size(report.bytes_freed)} on {report.url}: "
        f"{count(counts['objects'], 'object')}, {count(counts['manifests'], 'manifest')}, "
        f"{count(counts['packs_deleted'], 'pack')} "
        f"deleted, {report.packs_repacked} repacked, {counts['interrupted_packs']} interrupted packs"
    )
    if report.young_kept:
        from datetime import timedelta

        from artctl.base.units import format_duration

        period = format_duration(timedelta(seconds=report.grace_seconds))
        out.info(
            f"kept {report.young_kept} unreferenced file(s), {human_size(report.young_bytes)}, younger than "
            f"the grace period ({period}); pushes in flight may still need them"
        )
    for problem in report.problems:
        out.warn(problem)


def register(group: click.Group) -> None:
    from artctl.cli.artifact_cmds import artifact_group

    artifact_group.add_command(rm_cmd)
    artifact_group.add_command(rename_cmd)
    group.add_command(gc_cmd)
