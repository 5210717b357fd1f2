"""The lineage graph: artifact versions and runs, linked by what each run used and logged.

Edges point the way data flows: ``run → version`` for a version the run logged,
``version → run`` for a version the run used, and ``version → version`` (kind ``link``) from a
source version to its links in registry collections (``artctl.ops.links``). The graph is built
from the run records (their ``inputs``/``outputs``), each version's ``logged_by`` and the link
records' ``link``; there is no separate index to go stale. Soft-deleted and expired versions
stay in the graph (``state`` says so), so the history of a model is never broken; a version
whose record is gone entirely appears as ``missing``.

Node ids are stable strings that the CLI, the JSON output and the UI share (docs/lineage.md):
``artifact:<[entity/]project/name>:v<N>`` and ``run:<run id>``; they, the nodes, edges and the
graph itself are :mod:`artctl.ops.lineage_graph`'s.

``depth`` counts runs: from a version, ``depth=1`` is the runs linked to it and the versions on
their far side; from a run, ``depth=1`` is the versions it used and logged, ``depth=2`` adds the
runs linked to those, with their versions, and so on.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from artctl.errors import ArtifactNotFound, InvalidInput
from artctl.format.names import parse_name, parse_ref, version_index
from artctl.format.records import VersionRecord
from artctl.ops.lineage_graph import (
    ARTIFACT_PREFIX,
    RUN_PREFIX,
    Edge,
    Graph,
    Node,
    artifact_node_id,
    run_node_id,
)
from artctl.repository.runs import RunRecord, VersionLink

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

DIRECTIONS = ("both", "upstream", "downstream")


@dataclass
class LineageIndex:
    """Every run-version link of a repository, loaded once (run records are small JSON)."""

    repo: Repository
    runs: dict[str, RunRecord] = field(default_factory=dict)
    users: dict[str, set[str]] = field(default_factory=dict)  # version node id → run node ids
    loggers: dict[str, set[str]] = field(default_factory=dict)  # version node id → run node ids
    links: dict[str, set[str]] = field(default_factory=dict)  # source node id → link node ids
    sources: dict[str, str] = field(default_factory=dict)  # link node id → source node id
    _versions: dict[str, VersionRecord | None] = field(default_factory=dict)

    @classmethod
    def load(cls, repo: Repository) -> LineageIndex:
        index = cls(repo)
        for run in repo.runs.list():
            index.runs[run.id] = run
            rid = run_node_id(run.id)
            for node in index._current(run.inputs):
                index.users.setdefault(node, set()).add(rid)
            for node in index._current(run.outputs):
                index.loggers.setdefault(node, set()).add(rid)
        index._load_links()
        return index

    def _load_links(self) -> None:
        """Every link of every registry collection, unlinked ones too (as deleted versions stay)."""
        from artctl.repository.links import ref_of, source_of

        registry = self.repo.registry
        for artifact in registry.iter_artifacts():
            if not artifact.portfolio:
                continue
            for record in registry.versions(parse_name(artifact.name), include_deleted=True):
                if record.link is None:
                    continue
                source = source_of(self.repo, record)
                source_id = ARTIFACT_PREFIX + (ref_of(source) if source is not None else record.link)
                link_id = artifact_node_id(record.name, record.version)
                self.sources[link_id] = source_id
                self.links.setdefault(source_id, set()).add(link_id)

    def version(self, node_id: str) -> VersionRecord | None:
        """The version record behind a node id (deleted ones too), or None if it is gone."""
        if node_id not in self._versions:
            name, _, version = node_id[len(ARTIFACT_PREFIX) :].rpartition(":")
            index = version_index(version)
            record = None
            if index is not None:
                try:
                    record = self.repo.registry.version(parse_name(name), index)
                except ArtifactNotFound:
                    record = None
            self._versions[node_id] = record
        return self._versions[node_id]

    def _same_version(self, name: str, version: str, digest: str) -> bool:
        """A link names the version that exists now (not an earlier one whose name was reused)."""
        record = self.version(artifact_node_id(name, version))
        return record is None or record.digest == digest

    def _current(self, links: list[VersionLink]) -> list[str]:
        """Node ids of the ``links`` that name the version existing now (see ``_same_version``)."""
        return [
            artifact_node_id(v.name, v.version)
            for v in links
            if self._same_version(v.name, v.version, v.digest)
        ]

    def upstream(self, node_id: str) -> set[str]:
        """Nodes with an edge into ``node_id``."""
        if node_id.startswith(RUN_PREFIX):
            run = self.runs.get(node_id[len(RUN_PREFIX) :])
            if run is None:
                return set()
            return set(self._current(run.inputs))
        out = set(self.loggers.get(node_id, set()))
        record = self.version(node_id)
        if record is not None and record.logged_by:
            out.add(run_node_id(record.logged_by))
        if node_id in self.sources:
            out.add(self.sources[node_id])
        return out

    def downstream(self, node_id: str) -> set[str]:
        """Nodes with an edge out of ``node_id``."""
        if node_id.startswith(RUN_PREFIX):
            run = self.runs.get(node_id[len(RUN_PREFIX) :])
            if run is None:
                return set()
            return set(self._current(run.outputs))
        return self.users.get(node_id, set()) | self.links.get(node_id, set())

    def run_type(self, node_id: str) -> str:
        """A version's type when only run links know it (its record is gone)."""
        for run in self.runs.values():
            for link in (*run.inputs, *run.outputs):
                if artifact_node_id(link.name, link.version) == node_id:
                    return link.type
        return "unknown"


def root_id(repo: Repository, target: str) -> str:
    """The node id of a REF (``proj/ds:v0``, ``proj/ds`` = latest), ``artifact:…`` or ``run:<id>``."""
    if not isinstance(target, str) or not target:
        raise InvalidInput("lineage needs a REF or run:<id>")
    if target.startswith(RUN_PREFIX):
        run_id = target[len(RUN_PREFIX) :]
        repo.runs.get(run_id)  # unknown run → RunError
        return run_node_id(run_id)
    if target.startswith(ARTIFACT_PREFIX):
        target = target[len(ARTIFACT_PREFIX) :]
    record = repo.resolve(parse_ref(target, repo.names), include_deleted=True)
    return artifact_node_id(record.name, record.version)


def lineage(
    repo: Repository,
    target: str,
    direction: str = "both",
    depth: int | None = None,
    *,
    index: LineageIndex | None = None,
) -> Graph:
    """The graph around a version or run: its ancestors (``upstream``), descendants
    (``downstream``) or both, up to ``depth`` runs away, with every edge between them."""
    if direction not in DIRECTIONS:
        raise InvalidInput(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    if depth is not None and (not isinstance(depth, int) or isinstance(depth, bool) or depth < 1):
        raise InvalidInput(
            f"depth must be a whole number of at least 1, not {depth!r}",
            hint="leave it out to see the whole graph",
        )
    root = root_id(repo, target)
    index = index or LineageIndex.load(repo)
    limit = None if depth is None else 2 * depth - (1 if root.startswith(RUN_PREFIX) else 0)
    levels: dict[str, int] = {root: 0}
    if direction in ("both", "upstream"):
        for node, distance in _walk(root, index.upstream, limit).items():
            levels.setdefault(node, -distance)
    if direction in ("both", "downstream"):
        for node, distance in _walk(root, index.downstream, limit).items():
            levels.setdefault(node, distance)
    edges = set()
    for node in levels:
        for child in index.downstream(node):
            if child in levels:
                edges.add(Edge(node, child))
        for parent in index.upstream(node):
            if parent in levels:
                edges.add(Edge(parent, node))
    nodes = sorted(
        (_make_node(index, node_id, level) for node_id, level in levels.items()),
        key=lambda n: (n.level, n.id),
    )
    return Graph(root, direction, depth, tuple(nodes), tuple(sorted(edges)))


def _walk(root: str, neighbours, limit: int | None) -> dict[str, int]:
    """Breadth-first distances from ``root`` (excluded) within ``limit`` edges."""
    seen = {root: 0}
    queue = deque([root])
    while queue:
        node = queue.popleft()
        distance = seen[node]
        if limit is not None and distance >= limit:
            continue
        for nxt in sorted(neighbours(node)):
            if nxt not in seen:
                seen[nxt] = distance + 1
                queue.append(nxt)
    del seen[root]
    return seen


def _make_node(index: LineageIndex, node_id: str, level: int) -> Node:
    if node_id.startswith(RUN_PREFIX):
        run_id = node_id[len(RUN_PREFIX) :]
        run = index.runs.get(run_id)
        if run is None:
            return Node(node_id, "run", run_id, "unknown", "missing", level)
        return Node(
            node_id,
            "run",
            run.name or run.id,
            run.job_type,
            run.status,
            level,
            name=run.name,
            created_at=run.started_at,
            finished_at=run.finished_at,
        )
    label = node_id[len(ARTIFACT_PREFIX) :]
    name, _, version = label.rpartition(":")
    record = index.version(node_id)
    if record is None:
        return Node(
            node_id, "artifact", label, index.run_type(node_id), "missing", level, name=name, version=version
        )
    state = record.status(datetime.now(timezone.utc))
    aliases = tuple(index.repo.registry.aliases_of(record)) if state == "committed" else (record.version,)
    return Node(
        node_id,
        "artifact",
        label,
        record.type,
        state,
        level,
        name=record.name,
        version=record.version,
        digest=record.digest,
        aliases=aliases,
        created_at=record.created_at,
    )


def logged_by(repo: Repository, record: VersionRecord, index: LineageIndex | None = None) -> str | None:
    """The id of the run that logged a version (its creator first), if any."""
    if record.logged_by:
        return record.logged_by
    index = index or LineageIndex.load(repo)
    runs = sorted(index.loggers.get(artifact_node_id(record.name, record.version), set()))
    started = sorted(
        (index.runs[r[len(RUN_PREFIX) :]].started_at, r[len(RUN_PREFIX) :])
        for r in runs
        if r[len(RUN_PREFIX) :] in index.runs
    )
    return started[0][1] if started else None


def used_by(repo: Repository, record: VersionRecord, index: LineageIndex | None = None) -> list[str]:
    """Ids of the runs that used a version, oldest first."""
    index = index or LineageIndex.load(repo)
    ids = [
        r[len(RUN_PREFIX) :] for r in index.users.get(artifact_node_id(record.name, record.version), set())
    ]
    return [run_id for _, run_id in sorted((index.runs[i].started_at, i) for i in ids)]


__all__ = [
    "DIRECTIONS",
    "LineageIndex",
    "lineage",
    "logged_by",
    "root_id",
    "used_by",
]
