"""A day's work on a directory: ``status``, ``artifact checkout`` and ``artifact log``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from artctl.base.units import count, human_size
from artctl.cli.artifact_cmds import artifact_group, is_directory
from artctl.cli.common import escape_cell, get_output, json_option, link_option, open_repo, short_time
from artctl.cli.complete import NameType, RefOrDirType, RefType

if TYPE_CHECKING:
    from artctl.format.names import ArtifactName
    from artctl.format.records import VersionRecord


@click.command("status")
@click.argument("args", nargs=-1, type=RefOrDirType(), metavar="[REF] [DIR]")
@click.option("--exit-code", is_flag=True, help="Exit 1 when DIR differs from the version (for CI).")
@json_option
def status_cmd(args: tuple[str, ...], exit_code: bool) -> None:
    """How a working directory differs from a version: added, deleted, modified files.

    DIR defaults to the working directory. REF defaults to the version last got, checked out
    or put from DIR, or from the nearest directory above it that has one, which is then the
    directory compared (as git status works from any subdirectory); give REF when none is
    recorded. A single argument
    is DIR when such a directory exists, else REF. Unchanged files cost one stat each (the
    stat cache); DIR/.artctlignore is honoured.

    \b
    Examples:
      artctl artifact get proj/mnist:v3 --root data && cd data && artctl status
      artctl status proj/mnist:latest ./data --exit-code
    """
    from artctl.ops.workdirs import default_ref
    from artctl.ops.worktree_diff import compare

    if len(args) > 2:
        raise click.UsageError("give at most REF and DIR")
    directory: str | Path
    if len(args) == 2:
        ref, directory = args
    elif len(args) == 1 and is_directory(args[0]):
        ref, directory = None, args[0]
    else:
        ref, directory = (args[0] if args else None), "."
    repo = open_repo()
    out = get_output()
    if ref is None:  # the version recorded for DIR, or for the directory above it that has one
        ref, directory = default_ref(repo, directory)
    record = repo.resolve(ref)
    result = compare(repo, record, directory)
    latest = repo.registry.latest(record_name(record))
    if out.json:
        doc = result.to_json()
        doc["latest"] = latest.version if latest else None
        out.emit_json(doc)
    else:
        out.result(
            f"On {record.name}:{record.version} in {result.directory}"
            + (f" (latest is {latest.version})" if latest and latest.index != record.index else "")
        )
        for label, paths in (
            ("modified", result.changed),
            ("added", result.added),
            ("deleted", result.removed),
        ):
            for path in paths:
                out.result(f"  {label + ':':<10}{path}")
        if result.empty:
            out.result("nothing changed")
    if exit_code and not result.empty:
        click.get_current_context().exit(1)


def record_name(record: VersionRecord) -> ArtifactName:
    from artctl.format.names import parse_name

    return parse_name(record.name)


@artifact_group.command("checkout")
@click.argument("ref", type=RefType())
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Remove files in DIRECTORY that the version does not have.")
@click.option("--dry-run", is_flag=True, help="Only say what would be written and removed.")
@link_option
@json_option
def checkout_cmd(ref: str, directory: Path, force: bool, dry_run: bool, link: str | None) -> None:
    """Make DIRECTORY hold exactly version REF: create, replace and remove files.

    Files that differ are replaced (written aside, then renamed). Files the version does not
    have are removed only with --force; without it they are listed and nothing changes
    (exit 1). Symbolic links are never followed: one in the way is removed as a link (with
    --force), never written through. What DIRECTORY/.artctlignore matches is left alone:
    neither removed nor overwritten (a file the version has there too is reported as kept).

    \b
    Examples:
      artctl artifact checkout proj/mnist:v2 ./data
      artctl artifact checkout proj/mnist:latest ./data --force
    """
    from artctl.ops.checkout_dir import execute, plan

    repo = open_repo()
    out = get_output()
    todo = plan(repo, ref, directory)
    label = f"{todo.record.name}:{todo.record.version}"
    if dry_run or (todo.extra and not force):
        if out.json:
            if dry_run:  # a refusal is reported by the error alone: one JSON document
                out.emit_json(todo.to_json())
        else:  # refused: list what is in the way; dry run: the whole plan
            for entry in todo.write if dry_run else []:
                out.result(f"write\t{entry.path}")
            for path in todo.kept if dry_run else []:
                out.result(f"keep\t{path}")
            for path in todo.extra:
                out.result(f"{'remove' if force else 'extra'}\t{path}")
        if dry_run:
            return
    with out.progress_bar(f"checkout {label}", total_bytes=sum(e.size for e in todo.write)) as progress:
        result = execute(repo, todo, force=force, link=link, progress=progress)
    if out.json:
        out.emit_json(result.to_json())
    else:
        out.result(
            f"{label} in {todo.directory}: {result.written} written, {len(result.removed)} removed, "
            f"{todo.unchanged} unchanged" + (f", {len(todo.kept)} kept (.artctlignore)" if todo.kept else "")
        )


@artifact_group.command("log")
@click.argument("name", type=NameType())
@click.option("--limit", "-n", type=click.IntRange(min=1), default=None, help="Show at most N versions.")
@click.option("--all", "include_deleted", is_flag=True, help="Include deleted and expired versions.")
@click.option(
    "--stat-limit",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Changed paths listed per version (0: only the counts).",
)
@json_option
def log_cmd(name: str, limit: int | None, include_deleted: bool, stat_limit: int) -> None:
    """Versions of NAME newest first, with what each changed, like `git log --stat`.

    Each version shows its aliases and tags, creation time, producing run, size, description
    and the files added (+), modified (~) and removed (-) since the version before it.

    \b
    Examples:
      artctl artifact log proj/mnist
      artctl artifact log proj/mnist --limit 3 --json
    """
    from artctl.ops.version_log import log

    entries = log(open_repo(), name, limit=limit, include_deleted=include_deleted)
    out = get_output()
    if out.json:
        out.emit_json([e.to_json() for e in entries])
        return
    for number, entry in enumerate(entries):
        r = entry.info.record
        labels = [a for a in entry.info.aliases if a != r.version]
        head = f"{r.name}:{r.version}" + (f" ({', '.join(labels)})" if labels else "")
        out.result(
            ("\n" if number else "")
            + escape_cell(head)
            + (f"  [{r.status()}]" if r.status() != "committed" else "")
        )
        details = [f"created {short_time(r.created_at)}", f"{count(r.files, 'file')}, {human_size(r.size)}"]
        if r.logged_by:
            details.append(f"run {r.logged_by}")
        if r.tags:
            details.append("tags " + ", ".join(r.tags))
        out.result("  " + " · ".join(details))
        if r.description:
            out.result("  " + r.description)
        change = entry.change
        if change is None:
            out.result("  (files not available: dropped by gc)")
            continue
        rows = (
            [("+", p) for p in change.added]
            + [("~", p) for p in change.changed]
            + [("-", p) for p in change.removed]
        )
        for mark, path in rows[:stat_limit]:
            out.result(f"   {mark} {path}")
        if len(rows) > stat_limit:
            out.result(f"   … and {len(rows) - stat_limit} more")
        since = f" since {entry.parent}" if entry.parent else ""
        out.result(
            f"  {len(rows)} file{'s' if len(rows) != 1 else ''} changed{since}: "
            f"+{len(change.added)} ~{len(change.changed)} -{len(change.removed)}"
        )


def register(group: click.Group) -> None:
    group.add_command(status_cmd)
