"""``artctl artifact show`` and ``artifact diff``: look at a version, compare two of them (or a
version and a directory)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from artctl.base.units import human_size
from artctl.cli.artifact_cmds import artifact_group, is_directory
from artctl.cli.common import escape_cell, get_output, json_option, open_repo, short_time
from artctl.cli.complete import RefOrDirType, RefType

if TYPE_CHECKING:
    from artctl.format.manifest import ManifestDiff
    from artctl.ops.worktree_diff import WorktreeDiff


@click.command("show")
@click.argument("ref", type=RefType())
@click.option("--all", "include_deleted", is_flag=True, help="Also show a deleted or expired version.")
@json_option
def show_cmd(ref: str, include_deleted: bool) -> None:
    """Type, version, digest, aliases, metadata, description, TTL and files of a version.

    \b
    Example:
      artctl artifact show proj/mnist:v1
    """
    import json

    from rich.table import Table

    repo = open_repo()
    out = get_output()
    info = repo.show(ref, include_deleted=include_deleted, load_manifest=False)
    dropped = repo.files_dropped(info.record)
    doc = info.to_json()
    if out.json:
        if dropped:
            out.emit_json(doc)
        else:  # streamed: a version of a million files is shown in bounded memory
            out.emit_json_listing(
                doc,
                "entries",
                (
                    {"path": e.path, "size": e.size, "digest": e.digest, "ref": e.ref}
                    for e in repo.iter_entries(info.record)
                ),
            )
        return
    r = info.record
    head = Table.grid(padding=(0, 2))
    for key, value in [
        ("name", r.name),
        ("type", r.type),
        ("version", r.version),
        ("aliases", ", ".join(info.aliases)),
        ("tags", ", ".join(r.tags) or "-"),
        ("digest", r.digest),
        ("state", r.status()),
        ("created", short_time(r.created_at)),
        ("files", str(r.files)),
        ("size", human_size(r.size)),
        ("ttl", doc["ttl"] or "-"),
        ("expires", short_time(doc["expires_at"])),
        ("logged by", r.logged_by or "-"),
        *([("link", f"{info.source} (linked version)")] if info.source else []),
        *([("linked to", ", ".join(info.linked))] if info.linked else []),
        ("description", r.description or "-"),
        ("metadata", json.dumps(r.metadata, ensure_ascii=False) if r.metadata else "-"),
    ]:
        head.add_row(f"[bold]{key}[/]", escape_cell(value))
    out.table(head)
    if dropped:
        out.info(
            f"the files of {r.name}:{r.version} were dropped by `artctl gc` "
            f"({short_time(r.purged_at)}); only this record remains"
        )
        return
    from artctl.base.display import printable

    entries = repo.iter_entries(r)
    if r.files > TABLE_ROWS:  # one line per file as it is read: a table would hold them all
        out.info(f"{r.files:,} files (path, size, digest or reference; tab-separated):")
        for entry in entries:
            out.result(
                f"{printable(entry.path)}\t{human_size(entry.size)}\t"
                f"{printable(entry.ref or (entry.digest or '')[:16])}"
            )
        return
    files = Table("path", "size", "digest / reference")
    for entry in entries:
        files.add_row(
            escape_cell(entry.path),
            human_size(entry.size),
            escape_cell(entry.ref or (entry.digest or "")[:16]),
        )
    out.table(files)


#: ``show`` draws its file list as a table up to this many files, then as plain lines.
TABLE_ROWS = 5000


@click.command("diff")
@click.argument("old", type=RefType())
@click.argument("new", type=RefOrDirType())
@click.option("--exit-code", is_flag=True, help="Exit 1 when there are differences, 0 when none (for CI).")
@json_option
def diff_cmd(old: str, new: str, exit_code: bool = False) -> None:
    """Paths added, removed and changed from version OLD to version NEW, or to directory NEW.

    NEW is a working directory when a directory exists at that path (write ./NAME to be
    explicit). Unchanged files are recognised by the stat cache without being read, and
    the directory's .artctlignore is honoured, as `artctl artifact put` honours it.

    \b
    Examples:
      artctl artifact diff proj/mnist:v0 proj/mnist:v1
      artctl artifact diff proj/mnist:latest ./data --exit-code
    """
    repo = open_repo()
    out = get_output()
    result: WorktreeDiff | ManifestDiff
    if is_directory(new):
        from artctl.ops.worktree_diff import compare

        result = compare(repo, repo.resolve(old), new)
        doc = result.to_json()
    else:
        result = repo.diff(old, new)
        doc = {"added": result.added, "removed": result.removed, "changed": result.changed}
    if out.json:
        out.emit_json(doc)
    else:
        for mark, paths in (("A", result.added), ("D", result.removed), ("M", result.changed)):
            for path in paths:
                out.result(f"{mark}\t{path}")
        if result.empty:
            out.info("no differences")
    if exit_code and not result.empty:
        click.get_current_context().exit(1)


def register(group: click.Group) -> None:
    """``show`` and ``diff`` join the ``artifact`` group (registered by ``artifact_cmds``)."""
    artifact_group.add_command(show_cmd)
    artifact_group.add_command(diff_cmd)
