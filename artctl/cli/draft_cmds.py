"""``artctl draft …``: build a new version from an existing one, a few files at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from artctl.base.units import human_size
from artctl.cli.common import (
    emit_put_result,
    get_output,
    json_option,
    open_repo,
    run_option,
    short_time,
)
from artctl.cli.complete import DraftType, RefType

if TYPE_CHECKING:
    from artctl.ops.drafts import Drafts


def _drafts() -> Drafts:
    from artctl.ops.drafts import Drafts

    return Drafts(open_repo())


@click.group("draft")
def draft_group() -> None:
    """Incremental versions: change a few files of a version without re-reading the rest."""


@draft_group.command("new")
@click.argument("ref", type=RefType())
@json_option
def new_cmd(ref: str) -> None:
    """Open a draft based on version REF and print its id.

    \b
    Example:
      id=$(artctl draft new proj/mnist:latest)
    """
    draft = _drafts().new(ref)
    out = get_output()
    if out.json:
        out.emit_json({"id": draft.id, "name": draft.name, "base": draft.base_version})
    else:
        out.result(draft.id)


@draft_group.command("add")
@click.argument("draft_id", metavar="ID", type=DraftType())
@click.argument("path", type=click.Path())
@click.option(
    "--name",
    help="Path inside the artifact (default: the file's name, or the directory's contents at the top level).",
)
@json_option
def add_cmd(draft_id: str, path: str, name: str | None) -> None:
    """Add or replace a file, or a directory's files, in draft ID.

    Only these files are read and hashed; their bytes are stored at once.

    \b
    Examples:
      artctl draft add $id fixed.csv --name tables/train.csv
      artctl draft add $id new-images/ --name images/extra
    """
    out = get_output()
    with out.progress_bar("draft add") as progress:
        change = _drafts().add(draft_id, path, name, progress=progress)
    if out.json:
        out.emit_json(change.to_json())
    else:
        out.result(f"added {len(change.added)} file(s) to draft {draft_id}")


@draft_group.command("rm")
@click.argument("draft_id", metavar="ID", type=DraftType())
@click.argument("path", metavar="PATH_IN_ARTIFACT")
@json_option
def rm_cmd(draft_id: str, path: str) -> None:
    """Remove a path from draft ID; a directory prefix (`images/`) removes everything under it.

    \b
    Example:
      artctl draft rm $id images/old/
    """
    change = _drafts().remove(draft_id, path)
    out = get_output()
    if out.json:
        out.emit_json(change.to_json())
    else:
        out.result(f"removed {len(change.removed)} file(s) from draft {draft_id}")


@draft_group.command("ls")
@click.argument("draft_id", metavar="[ID]", required=False, type=DraftType())
@json_option
def ls_cmd(draft_id: str | None) -> None:
    """List open drafts, or with ID the files of one draft (base, added, changed).

    \b
    Examples:
      artctl draft ls
      artctl draft ls $id --json
    """
    from rich.table import Table

    out = get_output()
    drafts = _drafts()
    if draft_id is None:
        rows = drafts.list()
        if out.json:
            out.emit_json([r.to_json() for r in rows])
            return
        table = Table("id", "name", "base", "added", "removed", "updated")
        for r in rows:
            table.add_row(r.id, r.name, r.base, str(r.added), str(r.removed), short_time(r.updated_at))
        out.table(table)
        return
    view = drafts.show(draft_id)
    if out.json:
        out.emit_json(view.to_json())
        return
    table = Table("status", "path", "size")
    for f in view.files:
        table.add_row(f.status, f.path, human_size(f.size))
    for path in view.removed:
        table.add_row("removed", path, "-")
    out.table(table)


@draft_group.command("commit")
@click.argument("draft_id", metavar="ID", type=DraftType())
@click.option("--alias", "aliases", multiple=True, help="Custom alias to set (repeatable).")
@click.option("--description", help="Description of the new version (default: the base's).")
@click.option("--metadata", help="JSON object of metadata (default: the base's).")
@run_option
@json_option
def commit_cmd(
    draft_id: str, aliases: tuple[str, ...], description: str | None, metadata: str | None, run_id: str | None
) -> None:
    """Commit draft ID as the artifact's next version and close it.

    Content identical to an existing version creates no new version (that one is reported).

    \b
    Example:
      artctl draft commit $id --alias candidate
    """
    from artctl.format.user_json import parse_metadata

    meta = parse_metadata(metadata)
    result = _drafts().commit(
        draft_id, aliases=aliases, run_id=run_id, description=description, metadata=meta
    )
    emit_put_result(result)


@draft_group.command("discard")
@click.argument("draft_id", metavar="ID", type=DraftType())
@json_option
def discard_cmd(draft_id: str) -> None:
    """Drop draft ID; files it stored are freed by the next `artctl gc`.

    \b
    Example:
      artctl draft discard $id
    """
    draft = _drafts().discard(draft_id)
    out = get_output()
    if out.json:
        out.emit_json({"id": draft.id, "discarded": True})
    else:
        out.result(f"discarded draft {draft.id}")


def register(group: click.Group) -> None:
    group.add_command(draft_group)
