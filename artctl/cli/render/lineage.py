"""Renderers of a lineage :class:`~artctl.ops.lineage_graph.Graph`: json, dot, mermaid and a terminal tree.

A renderer is a function ``(graph, options) -> str`` registered in :data:`RENDERERS` under its
format name; ``artctl lineage --format NAME`` looks it up there, so a new format (the UI's
``html``) is one function plus one ``RENDERERS["html"] = …`` line, with no change to the CLI.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from artctl.errors import InvalidInput
from artctl.ops.lineage_graph import Graph, Node

#: A level with at least this many siblings of one kind collapses into one cluster line.
CLUSTER_AT = 5
#: How many names a cluster line shows before "…".
CLUSTER_PREVIEW = 3


@dataclass(frozen=True)
class RenderOptions:
    """What a renderer may honour; unknown needs go here rather than into new signatures."""

    expand: bool = False  # tree: never collapse clusters
    color: bool = False  # tree: ANSI colours (only when writing to a terminal)
    width: int = 120  # tree: wrap width
    cluster_at: int = CLUSTER_AT
    cluster_preview: int = CLUSTER_PREVIEW


Renderer = Callable[[Graph, RenderOptions], str]


def render(graph: Graph, fmt: str, options: RenderOptions | None = None) -> str:
    """Render ``graph`` in format ``fmt`` (a key of :data:`RENDERERS`)."""
    renderer = RENDERERS.get(fmt)
    if renderer is None:
        raise InvalidInput(f"unknown lineage format {fmt!r}; known: {', '.join(sorted(RENDERERS))}")
    return renderer(graph, options or RenderOptions())


# -- json ---------------------------------------------------------------------------------------
def render_json(graph: Graph, options: RenderOptions) -> str:
    """``{"root", "direction", "depth", "nodes": [{"id", "kind", …}], "edges": [{"from", "to", "kind"}]}``."""
    return json.dumps(graph.to_json(), indent=2, ensure_ascii=False) + "\n"


# -- dot ----------------------------------------------------------------------------------------
_DOT_STYLE = {
    "artifact": {"shape": "box", "style": "rounded,filled", "fillcolor": "#dbeafe", "color": "#1d4ed8"},
    "run": {"shape": "ellipse", "style": "filled", "fillcolor": "#dcfce7", "color": "#15803d"},
}


def _dot_quote(text: str) -> str:
    from artctl.base.display import printable

    text = printable(text)  # a control character in a label must not reach the terminal
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_dot(graph: Graph, options: RenderOptions) -> str:
    """Graphviz: versions are blue boxes, runs green ellipses; deleted/missing are dashed, failed
    runs red, the root drawn thicker. Every id and label is quoted and escaped."""
    lines = [
        "digraph lineage {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [color="#6b7280"];',
    ]
    for node in graph.nodes:
        attrs = dict(_DOT_STYLE[node.kind], label=_two_line_label(node), tooltip=node.id)
        if node.state in ("deleted", "expired", "missing"):
            attrs.update(style="rounded,dashed" if node.kind == "artifact" else "dashed", fontcolor="#6b7280")
        elif node.state == "failed":
            attrs.update(color="#b91c1c", penwidth="2")
        if node.id == graph.root:
            attrs["penwidth"] = "3"
        body = ", ".join(f"{key}={_dot_quote(value)}" for key, value in attrs.items())
        lines.append(f"  {_dot_quote(node.id)} [{body}];")
    for edge in graph.edges:
        style = ' [style="dashed", label="link"]' if edge.kind == "link" else ""
        lines.append(f"  {_dot_quote(edge.from_)} -> {_dot_quote(edge.to)}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _two_line_label(node: Node) -> str:
    if node.kind == "artifact":
        extra = f" [{node.state}]" if node.state != "committed" else ""
        return f"{node.label}\n{node.type}{extra}"
    run_id = node.id.split(":", 1)[1]
    title = f"{node.label} ({run_id})" if node.label != run_id else run_id
    return f"{title}\n{node.type} · {node.state}"


# -- mermaid ------------------------------------------------------------------------------------
def _mermaid_text(text: str) -> str:
    """Mermaid labels are quoted; quotes and markup characters become entity codes."""
    from artctl.base.display import printable

    text = printable(text)  # a control character in a label must not reach the terminal
    return (
        text.replace("&", "#amp;")
        .replace('"', "#quot;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
        .replace("\n", "<br/>")
    )


def render_mermaid(graph: Graph, options: RenderOptions) -> str:
    """A ``flowchart LR`` to paste into Markdown (node ids n0, n1 … keep Mermaid's parser happy;
    each node's stable id is in a ``%%`` comment)."""
    ids = {node.id: f"n{i}" for i, node in enumerate(graph.nodes)}
    lines = ["flowchart LR"]
    for node in graph.nodes:
        label = _mermaid_text(_two_line_label(node))
        shape = f'["{label}"]' if node.kind == "artifact" else f'(["{label}"])'
        lines.append(f"  %% {ids[node.id]} = {node.id}")
        lines.append(f"  {ids[node.id]}{shape}")
    for edge in graph.edges:
        arrow = "-. link .->" if edge.kind == "link" else "-->"
        lines.append(f"  {ids[edge.from_]} {arrow} {ids[edge.to]}")
    lines.append("  classDef artifact fill:#dbeafe,stroke:#1d4ed8")
    lines.append("  classDef run fill:#dcfce7,stroke:#15803d")
    lines.append("  classDef gone stroke-dasharray:5 5,color:#6b7280")
    lines.append("  classDef failed stroke:#b91c1c,stroke-width:2px")
    for kind in ("artifact", "run"):
        members = [ids[n.id] for n in graph.nodes if n.kind == kind]
        if members:
            lines.append(f"  class {','.join(members)} {kind}")
    gone = [ids[n.id] for n in graph.nodes if n.state in ("deleted", "expired", "missing")]
    if gone:
        lines.append(f"  class {','.join(gone)} gone")
    failed = [ids[n.id] for n in graph.nodes if n.state == "failed"]
    if failed:
        lines.append(f"  class {','.join(failed)} failed")
    lines.append("  classDef root stroke-width:3px")
    lines.append(f"  class {ids[graph.root]} root")
    return "\n".join(lines) + "\n"


# -- tree ---------------------------------------------------------------------------------------
def node_text(node: Node) -> str:
    """One-line description of a node, as the tree and cluster lines show it."""
    if node.kind == "artifact":
        state = f" [{node.state}]" if node.state != "committed" else ""
        return f"{node.label} ({node.type}){state}"
    run_id = node.id.split(":", 1)[1]
    name = f" {node.label}" if node.label != run_id else ""
    return f"run {run_id}{name} ({node.type}, {node.state})"


def _relation(parent: Node, child: Node, upstream: bool) -> str:
    if parent.kind == child.kind == "artifact":  # a registry link (artctl.ops.links)
        return "← linked from" if upstream else "→ linked as"
    if upstream:
        return "← logged by" if parent.kind == "artifact" else "← used"
    return "→ used by" if parent.kind == "artifact" else "→ logged"


def _style(node: Node) -> str:
    if node.state in ("deleted", "expired", "missing"):
        return "dim strike" if node.state == "deleted" else "dim"
    if node.state == "failed":
        return "red"
    return "blue" if node.kind == "artifact" else "green"


def tree_lines(graph: Graph, options: RenderOptions) -> list[tuple[int, str, str]]:
    """The tree as ``(indent level, text, rich style)`` rows; the shared logic of the renderer.

    Children of a node are grouped by kind; a group of ``cluster_at`` or more collapses into one
    cluster line (count + first names) unless ``options.expand``. A node reached a second time
    (a diamond in the DAG) is printed with ``(see above)`` and not expanded again.
    """
    nodes = {n.id: n for n in graph.nodes}
    root = nodes[graph.root]
    rows: list[tuple[int, str, str]] = [(0, node_text(root), "bold " + _style(root))]
    sections = []
    if graph.direction in ("both", "upstream"):
        sections.append(("upstream", True))
    if graph.direction in ("both", "downstream"):
        sections.append(("downstream", False))
    for title, upstream in sections:
        indent = 1
        if graph.direction == "both":
            rows.append((1, f"{'↑' if upstream else '↓'} {title}", "bold"))
            indent = 2
        before = len(rows)
        _tree_children(graph, nodes, root, upstream, indent, set(), rows, options)
        if len(rows) == before:
            rows.append((indent, "(none)", "dim"))
    return rows


def _tree_children(
    graph: Graph,
    nodes: dict[str, Node],
    parent: Node,
    upstream: bool,
    indent: int,
    done: set[str],
    rows: list[tuple[int, str, str]],
    options: RenderOptions,
) -> None:
    done.add(parent.id)
    ids = graph.parents(parent.id) if upstream else graph.children(parent.id)
    children = sorted((nodes[i] for i in ids), key=lambda n: (n.kind, n.created_at or "", n.id))
    for kind in ("run", "artifact"):
        group = [c for c in children if c.kind == kind]
        if not group:
            continue
        relation = _relation(parent, group[0], upstream)
        if len(group) >= options.cluster_at and not options.expand:
            rows.append((indent, cluster_line(relation, group, options.cluster_preview), "yellow"))
            continue
        for child in group:
            if child.id in done:
                rows.append((indent, f"{relation} {node_text(child)} (see above)", "dim"))
                continue
            rows.append((indent, f"{relation} {node_text(child)}", _style(child)))
            _tree_children(graph, nodes, child, upstream, indent + 1, done, rows, options)


def cluster_line(relation: str, group: list[Node], preview: int) -> str:
    """``→ used by 7 runs: a, b, c, … (+4 more; --expand to list)``."""
    noun = "runs" if group[0].kind == "run" else "versions"
    names = [n.label if n.kind == "artifact" else n.id.split(":", 1)[1] for n in group[:preview]]
    more = len(group) - len(names)
    tail = f", … (+{more} more; --expand to list)" if more > 0 else ""
    return f"{relation} {len(group)} {noun}: {', '.join(names)}{tail}"


def render_tree(graph: Graph, options: RenderOptions) -> str:
    """The terminal view, drawn with rich's tree guides (plain text unless ``options.color``)."""
    import io

    from rich.console import Console
    from rich.text import Text
    from rich.tree import Tree

    from artctl.base.display import printable

    rows = tree_lines(graph, options)
    top = Tree(Text(printable(rows[0][1], newlines=False), style=rows[0][2]))
    stack = [top]
    for indent, text, style in rows[1:]:
        del stack[indent:]
        stack.append(stack[-1].add(Text(printable(text, newlines=False), style=style)))
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=options.width,
        force_terminal=options.color,
        no_color=not options.color,
        highlight=False,
        soft_wrap=False,
        color_system="standard" if options.color else None,
    )
    console.print(top)
    return buffer.getvalue()


_SAFE_FORMAT = re.compile(r"[a-z][a-z0-9_-]*\Z")

#: format name → renderer. Add a format by adding an entry (e.g. ``RENDERERS["html"] = render_html``).
RENDERERS: dict[str, Renderer] = {
    "tree": render_tree,
    "json": render_json,
    "dot": render_dot,
    "mermaid": render_mermaid,
}


def lazy_renderer(target: str) -> Renderer:
    """A renderer imported on first use from ``"package.module:function"``, so registering a
    heavy format (``RENDERERS["html"] = lazy_renderer("artctl.ui.export:render_html")``) costs
    nothing until someone asks for it."""
    module_name, _, function = target.partition(":")

    def renderer(graph: Graph, options: RenderOptions) -> str:
        from importlib import import_module

        return getattr(import_module(module_name), function)(graph, options)

    renderer.__name__ = function or module_name
    return renderer


#: One self-contained page with the ``artctl ui`` graph view (artctl/ui/export.py, docs/ui.md).
RENDERERS["html"] = lazy_renderer("artctl.ui.export:render_html")


def register_renderer(name: str, renderer: Renderer) -> None:
    """Add (or replace) a format; the CLI's ``--format`` choices follow this dict."""
    if not _SAFE_FORMAT.match(name):
        raise ValueError(f"invalid format name {name!r}")
    RENDERERS[name] = renderer


__all__ = [
    "CLUSTER_AT",
    "RENDERERS",
    "RenderOptions",
    "Renderer",
    "cluster_line",
    "lazy_renderer",
    "node_text",
    "register_renderer",
    "render",
    "render_dot",
    "render_json",
    "render_mermaid",
    "render_tree",
    "tree_lines",
]
