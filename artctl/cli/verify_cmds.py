"""``artctl artifact verify``: re-hash the objects of one version or of all, and report."""

from __future__ import annotations

import click

from artctl.base.units import count
from artctl.cli.artifact_cmds import artifact_group
from artctl.cli.common import get_output, json_option, open_repo
from artctl.cli.complete import RefType


@click.command("verify")
@click.argument("ref", required=False, type=RefType())
@click.option(
    "--repair",
    is_flag=True,
    help="Move corrupt loose objects aside (.artifacts/corrupt/) so that putting the "
    "files again or `artctl pull --all` restores them.",
)
@click.option(
    "--remote",
    "remote",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[NAME]",
    help="Also check the remote copies of objects not stored here (every configured "
    "remote, or NAME): packed blobs are read back and hashed, loose objects "
    "checked for their length.",
)
@json_option
def verify_cmd(ref: str | None, repair: bool, remote: str | None) -> None:
    """Re-hash every object of one version (or of all) and report corruption (exit 1).

    Objects that are not stored here but that a remote holds (after a metadata-only clone or
    `cache cleanup`) are listed as "on remote NAME" and are not problems; an object that is
    neither here nor on a remote is "missing".

    \b
    Examples:
      artctl artifact verify proj/mnist:latest
      artctl artifact verify --remote origin    # check the copies on origin too
      artctl artifact verify --repair; artctl pull --all   # restore what was moved aside
    """
    repo = open_repo()
    out = get_output()
    with out.progress_bar("verify") as progress:
        result = repo.verify(
            ref, progress=progress, repair=repair, remote=(remote or True) if remote is not None else None
        )
    if out.json:
        out.emit_json(result.to_json())
    else:
        for problem in result.problems:
            line = f"{problem['problem']}\t{problem['version']}\t{problem.get('path', '')}"
            out.result(line + (f"\t{problem['remote']}" if problem.get("remote") else ""))
        for (version, remote_name), missing in _on_remote_by_version(result.on_remote).items():
            out.result(f"on remote {remote_name}\t{version}\t{count(missing, 'object')} not fetched here")
        if result.ok:
            fetched = (
                f"; {len({r['digest'] for r in result.on_remote})} not fetched here are on a remote "
                "(`artctl pull --all` fetches them)"
                if result.on_remote
                else ""
            )
            checked = (
                f"; remote copies checked on {', '.join(result.remotes_checked)}"
                if result.remotes_checked
                else ""
            )
            out.info(
                f"ok: {count(result.checked_objects, 'object')} in "
                f"{count(result.checked_versions, 'version')} verified" + fetched + checked
            )
    if not result.ok:
        from artctl.errors import IntegrityError

        raise IntegrityError(f"{len(result.problems)} problem(s) found in the repository", hint=result.hint())


def _on_remote_by_version(rows: list[dict[str, str]]) -> dict[tuple[str, str], int]:
    """(version, remote) -> how many of its objects are only on that remote (one line each)."""
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row["version"], row["remote"])
        counts[key] = counts.get(key, 0) + 1
    return counts


def register(group: click.Group) -> None:
    """``verify`` joins the ``artifact`` group (registered by ``artifact_cmds``)."""
    artifact_group.add_command(verify_cmd)
