"""What a lineage graph is: its node ids, nodes and edges, as every front end reads them.

Node ids are stable strings that the CLI, the JSON output and the UI share (docs/lineage.md):
``artifact:<[entity/]project/name>:v<N>`` and ``run:<run id>``. A :class:`Graph` is plain data
(nodes sorted by level, then id, and every edge between them); building one from a repository's
runs and versions is :mod:`artctl.ops.lineage`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ARTIFACT_PREFIX = "artifact:"
RUN_PREFIX = "run:"


def artifact_node_id(name: str, version: str) -> str:
    """``artifact:proj/ds:v0``: the stable id of a version node."""
    return f"{ARTIFACT_PREFIX}{name}:{version}"


def run_node_id(run_id: str) -> str:
    """``run:<id>``: the stable id of a run node."""
    return f"{RUN_PREFIX}{run_id}"


@dataclass(frozen=True)
class Node:
    """One version or run of the graph.

    ``type`` is the artifact type for a version and the job type for a run; ``state`` is
    ``committed``/``deleted``/``expired``/``missing`` for a version and the run's status
    (``running``/``finished``/``failed``, or ``missing``) for a run. ``level`` is the signed
    distance from the root in edges: negative upstream, positive downstream, 0 for the root.
    """

    id: str
    kind: str  # "artifact" or "run"
    label: str
    type: str
    state: str
    level: int = 0
    name: str | None = None  # artifact name, or the run's optional name
    version: str | None = None
    digest: str | None = None
    aliases: tuple[str, ...] = ()
    created_at: str | None = None  # a version's creation, a run's start
    finished_at: str | None = None

    @property
    def deleted(self) -> bool:
        return self.state == "deleted"

    def to_json(self) -> dict[str, Any]:
        base: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "label": self.label,
            "type": self.type,
            "state": self.state,
            "level": self.level,
        }
        if self.kind == "artifact":
            base.update(
                {
                    "name": self.name,
                    "version": self.version,
                    "digest": self.digest,
                    "aliases": list(self.aliases),
                    "created_at": self.created_at,
                }
            )
        else:
            base.update(
                {
                    "run_id": self.id[len(RUN_PREFIX) :],
                    "job_type": self.type,
                    "name": self.name,
                    "started_at": self.created_at,
                    "finished_at": self.finished_at,
                }
            )
        return base


@dataclass(frozen=True, order=True)
class Edge:
    """``from_ → to``: a run logged a version, or a version was used by a run."""

    from_: str
    to: str

    @property
    def kind(self) -> str:
        """``logged`` (run → version), ``used`` (version → run) or ``link`` (source → link)."""
        if self.from_.startswith(RUN_PREFIX):
            return "logged"
        return "used" if self.to.startswith(RUN_PREFIX) else "link"

    def to_json(self) -> dict[str, str]:
        return {"from": self.from_, "to": self.to, "kind": self.kind}


@dataclass(frozen=True)
class Graph:
    """The nodes around ``root`` (sorted by level, then id) and every edge between them."""

    root: str
    direction: str
    depth: int | None
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def node(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def parents(self, node_id: str) -> list[str]:
        return [e.from_ for e in self.edges if e.to == node_id]

    def children(self, node_id: str) -> list[str]:
        return [e.to for e in self.edges if e.from_ == node_id]

    def to_json(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "direction": self.direction,
            "depth": self.depth,
            "nodes": [n.to_json() for n in self.nodes],
            "edges": [e.to_json() for e in self.edges],
        }
