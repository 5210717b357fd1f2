"""Lineage graphs as the page draws them: ``{"root", "nodes": [...], "edges": [...]}``.

The graph comes from :mod:`artctl.ops.lineage` (the one lineage engine; ``depth`` counts runs);
this module only turns its :class:`~artctl.ops.lineage_graph.Graph` into the JSON the page
reads — the ``lineage --format json`` shape of CLI.md, with the display fields the page labels
nodes with guaranteed present — so the server and the self-contained HTML export draw the same
data.
"""

from __future__ import annotations

from typing import Any

from artctl.api.repo import Repo
from artctl.ops.lineage import lineage
from artctl.ops.lineage_graph import Graph


def lineage_json(repo: Repo, node: str, *, direction: str = "both", depth: int | None = 2) -> dict[str, Any]:
    """The graph around ``node`` (``artifact:proj/name:vN``, a REF, or ``run:ID``)."""
    return graph_json(lineage(repo, node, direction=direction, depth=depth))


def graph_json(graph: Graph) -> dict[str, Any]:
    doc = graph.to_json()
    nodes = []
    for raw in doc["nodes"]:
        node = dict(raw)
        if node["kind"] == "run":
            node.setdefault("run_id", node["id"][len("run:") :])
            node.setdefault("job_type", node.get("type"))
        nodes.append(node)
    edges = [{"from": e["from"], "to": e["to"], "kind": e.get("kind")} for e in doc["edges"]]
    return {
        "root": doc["root"],
        "direction": doc.get("direction"),
        "depth": doc.get("depth"),
        "nodes": nodes,
        "edges": edges,
    }
