"""``artctl lineage``: the graph of versions and runs around a version or a run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from artctl.cli.common import get_output
from artctl.cli.complete import RefOrRunType


class _FormatChoice(click.Choice):
    """``--format`` choices read from the renderer registry when parsing, so a format added to
    ``lineage_render.RENDERERS`` (e.g. the UI's ``html``) is accepted without a CLI change."""

    def __init__(self) -> None:
        super().__init__([])

    @property
    def choices(self) -> tuple[str, ...]:
        from artctl.cli.render.lineage import RENDERERS

        return tuple(RENDERERS)

    @choices.setter
    def choices(self, value: Sequence[str]) -> None:
        pass


@click.command("lineage")
@click.argument("target", metavar="REF", type=RefOrRunType())
@click.option("--upstream", is_flag=True, help="Only what REF came from.")
@click.option("--downstream", is_flag=True, help="Only what came from REF.")
@click.option(
    "--depth",
    type=click.IntRange(min=1),
    default=None,
    help="How many runs away to go (at least 1; default: all).",
)
@click.option(
    "--format",
    "fmt",
    type=_FormatChoice(),
    default="tree",
    show_default=True,
    help="tree (terminal), json, dot (Graphviz), mermaid (Markdown), html (one self-contained page).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to FILE instead of stdout.",
)
@click.option("--expand", is_flag=True, help="Tree: list every node instead of clustering 5+ siblings.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def lineage_cmd(
    target: str,
    upstream: bool,
    downstream: bool,
    depth: int | None,
    fmt: str,
    output: Path | None,
    expand: bool,
    as_json: bool,
) -> None:
    """The graph of versions and runs around REF (a version) or run:<id> (a run).

    Edges go run → version for a version the run logged, and version → run for a version it
    used. Deleted versions stay in the graph, marked deleted. --depth counts runs.

    \b
    Examples:
      artctl lineage proj/cnn:v3
      artctl lineage proj/mnist:latest --downstream --depth 2
      artctl lineage run:3k9x0q2a --format json
      artctl lineage proj/cnn:best --format dot -o lineage.dot && dot -Tsvg lineage.dot > l.svg
    """
    import sys

    from artctl.cli.common import open_repo
    from artctl.cli.render.lineage import RenderOptions, render
    from artctl.ops.lineage import lineage

    if upstream and downstream:
        raise click.UsageError("give --upstream or --downstream, not both (neither shows both directions)")
    direction = "upstream" if upstream else "downstream" if downstream else "both"
    out = get_output()
    if as_json or out.json:
        fmt = "json"
    graph = lineage(open_repo(), target, direction=direction, depth=depth)
    color = output is None and fmt == "tree" and sys.stdout.isatty()
    width = out.stdout.width if fmt == "tree" and output is None else 120
    text = render(graph, fmt, RenderOptions(expand=expand, color=color, width=max(width, 60)))
    if output is not None:
        from artctl.base.fsutil import atomic_write_bytes

        atomic_write_bytes(output, text.encode())
        out.info(f"wrote {fmt} lineage of {graph.root} ({len(graph.nodes)} nodes) to {output}")
        return
    sys.stdout.write(text)
    sys.stdout.flush()


def register(group: click.Group) -> None:
    group.add_command(lineage_cmd)
