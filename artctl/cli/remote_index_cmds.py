"""``artctl remote compact``: write a remote's compacted registry index now (docs/remotes.md)."""

from __future__ import annotations

import click

from artctl.base.units import count
from artctl.cli.common import get_output, json_option, open_repo
from artctl.cli.complete import RemoteType


@click.command("compact")
@click.argument("name", required=False, type=RemoteType())
@click.option(
    "--grace-period",
    "grace",
    metavar="DURATION",
    help="Delete older indexes only once a newer one is this old (default 1h; readers may be reading them).",
)
@json_option
def remote_compact(name: str | None, grace: str | None) -> None:
    """Write remote NAME's registry index, so clones read its registry in a few requests.

    Without NAME, the default remote. A clone or pull then reads the remote's whole registry
    in a few requests instead of one per version and manifest. push keeps the index current
    by itself (a new one once 200 files are not in it); run this after changes made by other
    means, or to delete superseded indexes now (--grace-period 0).

    \b
    Examples:
      artctl remote compact
      artctl remote compact origin --json
    """
    from artctl.ops.remote.index import compact_remote
    from artctl.repository.config_values import parse_grace

    seconds = parse_grace(grace) if grace is not None else None
    report = compact_remote(open_repo().repository, name, grace=seconds)
    out = get_output()
    if out.json:
        out.emit_json(report.to_json())
        return
    if report.written is None:
        out.result(f"index of {report.url} is current: {count(report.entries, 'file')}")
    else:
        out.result(
            f"wrote {report.written} on {report.url}: {count(report.entries, 'file')} ({report.read} read)"
        )
    if report.deleted:
        out.info(f"deleted {len(report.deleted)} older index(es)")


def register(group: click.Group) -> None:
    """Add ``compact`` to the ``remote`` group (registered before this module: names sort so)."""
    remote = group.commands["remote"]
    assert isinstance(remote, click.Group), remote
    remote.add_command(remote_compact)
