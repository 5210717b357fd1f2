"""What the ``artctl ui`` JSON API returns: plain functions over the library, no HTTP here.

Each function takes a :class:`~artctl.api.repo.Repo` and already-decoded parameters and
returns a JSON-able dict, so the server stays a thin router and the same answers can be tested
without a socket. Everything read from the repository is user input (names, metadata,
descriptions): it is returned as data and the page renders it with ``textContent`` only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from artctl.api.repo import Repo
from artctl.errors import ArtifactNotFound, InvalidInput
from artctl.format.manifest import diff as manifest_diff
from artctl.format.names import parse_name, parse_ref
from artctl.format.records import VersionRecord
from artctl.ops.lineage_graph import artifact_node_id, run_node_id
from artctl.repository.runs import RunRecord, VersionLink
from artctl.repository.views import VersionInfo

#: Most manifest entries one ``/api/version`` answer carries; the page says when it is cut.
MAX_ENTRIES = 5000
#: Deepest lineage the page may ask for (the graph grows fast; the CLI has no such limit).
MAX_DEPTH = 10
DIRECTIONS = ("both", "upstream", "downstream")


def version_state(record: VersionRecord, now: datetime | None = None) -> str:
    """``committed``, ``deleted`` or ``expired`` (TTL passed, not yet collected by gc)."""
    return record.status(now)


def version_json(info: VersionInfo, *, entries: bool = False) -> dict[str, Any]:
    out = info.to_json(entries=False)
    out["state"] = version_state(info.record)
    out["ref"] = f"{info.record.name}:{info.record.version}"
    out["node"] = artifact_node_id(info.record.name, info.record.version)
    if entries and info.manifest is not None:
        rows: list[dict[str, Any]] = []
        for entry in info.manifest:
            if len(rows) >= MAX_ENTRIES:
                break
            rows.append(
                {
                    "path": entry.path,
                    "size": entry.size,
                    "digest": entry.digest,
                    "ref": entry.ref,
                    "url": link_for(entry.ref),
                }
            )
        out["entries"] = rows
        out["entries_total"] = len(info.manifest)
        out["truncated"] = len(info.manifest) > len(rows)
    return out


def link_for(uri: str | None) -> str | None:
    """A reference URI the browser can open: only ``http(s)://`` (never ``javascript:``)."""
    if uri and uri.lower().startswith(("http://", "https://")):
        return uri
    return None


# -- artifacts -----------------------------------------------------------------------------
def artifacts(
    repo: Repo, *, project: str | None = None, type: str | None = None, q: str | None = None
) -> dict[str, Any]:
    """Artifacts grouped for the list page, with the projects and types to filter by."""
    every = repo.list_artifacts()
    projects = sorted({_project_of(a.name) for a in every})
    types = sorted({a.type for a in every})
    needle = (q or "").strip().lower()
    rows = []
    for summary in every:
        if project and _project_of(summary.name) != project:
            continue
        if type and summary.type != type:
            continue
        if needle and needle not in summary.name.lower():
            continue
        row = summary.to_json()
        row["project"] = _project_of(summary.name)
        rows.append(row)
    return {"artifacts": rows, "projects": projects, "types": types}


def _project_of(name: str) -> str:
    return parse_name(name).project


def artifact(repo: Repo, name: str) -> dict[str, Any]:
    """An artifact and all its versions (deleted and expired ones too, marked by state)."""
    parsed = parse_name(name, repo.names)
    record = repo.registry.require_artifact(parsed)
    versions = repo.versions(parsed, include_deleted=True)
    custom = repo.registry.aliases(parsed)
    return {
        "name": record.name,
        "type": record.type,
        "project": _project_of(record.name),
        "aliases": custom,
        "versions": [version_json(v) for v in reversed(versions)],
    }


def version(repo: Repo, ref: str) -> dict[str, Any]:
    """One version: fields, metadata and its files (up to ``MAX_ENTRIES``)."""
    info = repo.show(ref, include_deleted=True)
    out = version_json(info, entries=True)
    siblings = repo.registry.versions(parse_name(info.record.name), include_deleted=False)
    out["other_versions"] = [r.version for r in siblings if r.index != info.record.index]
    return out


def diff(repo: Repo, old: str, new: str) -> dict[str, Any]:
    """Paths added, removed and changed from ``old`` to ``new``, with sizes on each side."""
    a, b = repo.resolve(old, include_deleted=True), repo.resolve(new, include_deleted=True)
    ma, mb = repo.manifest(a), repo.manifest(b)
    result = manifest_diff(ma, mb)

    def sizes(path: str) -> dict[str, Any]:
        ea, eb = ma.entries.get(path), mb.entries.get(path)
        return {
            "path": path,
            "old_size": ea.size if ea else None,
            "new_size": eb.size if eb else None,
            "old_digest": ea.digest if ea else None,
            "new_digest": eb.digest if eb else None,
        }

    return {
        "old": f"{a.name}:{a.version}",
        "new": f"{b.name}:{b.version}",
        "added": [sizes(p) for p in result.added[:MAX_ENTRIES]],
        "removed": [sizes(p) for p in result.removed[:MAX_ENTRIES]],
        "changed": [sizes(p) for p in result.changed[:MAX_ENTRIES]],
    }


# -- runs ----------------------------------------------------------------------------------
def run_json(record: RunRecord, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": record.id,
        "node": run_node_id(record.id),
        "job_type": record.job_type,
        "name": record.name,
        "project": record.project,
        "status": record.status,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "exit_code": record.exit_code,
        "inputs": [_link(link) for link in record.inputs],
        "outputs": [_link(link) for link in record.outputs],
    }
    if full:
        out.update(
            {
                "config": record.config,
                "command": record.command,
                "host": record.host,
                "cwd": record.cwd,
                "git_commit": record.git_commit,
            }
        )
    return out


def _link(link: VersionLink) -> dict[str, Any]:
    return {
        "ref": link.ref,
        "name": link.name,
        "version": link.version,
        "type": link.type,
        "node": artifact_node_id(link.name, link.version),
    }


def runs(repo: Repo, *, q: str | None = None) -> dict[str, Any]:
    needle = (q or "").strip().lower()
    rows = []
    for record in reversed(repo.runs.list()):
        text = f"{record.id} {record.name or ''} {record.job_type}".lower()
        if needle and needle not in text:
            continue
        rows.append(run_json(record))
    return {"runs": rows}


def run(repo: Repo, run_id: str) -> dict[str, Any]:
    return run_json(repo.runs.get(run_id), full=True)


# -- lineage -------------------------------------------------------------------------------
def lineage(repo: Repo, node: str, *, direction: str = "both", depth: int = 2) -> dict[str, Any]:
    """The graph around a version (``artifact:proj/name:vN`` or a REF) or a run (``run:ID``);
    ``depth`` counts runs, as in ``artctl lineage``."""
    from artctl.ui.graphdata import lineage_json

    if direction not in DIRECTIONS:
        raise InvalidInput(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    if not 1 <= depth <= MAX_DEPTH:
        raise InvalidInput(f"depth must be between 1 and {MAX_DEPTH}")
    return lineage_json(repo, node, direction=direction, depth=depth)


# -- edits (only with --allow-edit) ----------------------------------------------------------
def edit_version(repo: Repo, body: dict[str, Any]) -> dict[str, Any]:
    """Change description, metadata and/or TTL of one version (only the keys present)."""
    ref = _required_str(body, "ref")
    changes: dict[str, Any] = {}
    if "description" in body:
        value = body["description"]
        if value is not None and not isinstance(value, str):
            raise InvalidInput("description must be a string or null")
        changes["description"] = value
    if "metadata" in body:
        if not isinstance(body["metadata"], dict):
            raise InvalidInput("metadata must be a JSON object")
        changes["metadata"] = body["metadata"]
    if "ttl" in body:
        value = body["ttl"]
        if value is not None and not isinstance(value, str):
            raise InvalidInput("ttl must be a duration such as '30d', or null to remove it")
        changes["ttl"] = value
    if not changes:
        raise InvalidInput("nothing to change: give description, metadata or ttl")
    info = repo.update(ref, **changes)
    return version_json(info)


def edit_alias(repo: Repo, body: dict[str, Any]) -> dict[str, Any]:
    """Add (``action: add``, moving it if held) or remove a custom alias."""
    ref = _required_str(body, "ref")
    alias = _required_str(body, "alias")
    action = body.get("action", "add")
    parsed = parse_ref(ref, repo.names)
    if action == "add":
        record = repo.registry.set_alias(parsed, alias)
    elif action == "remove":
        version = repo.registry.remove_alias(parsed.name, alias)
        found = repo.registry.version(parsed.name, int(version[1:]))
        if found is None:
            raise ArtifactNotFound(f"{parsed.name}:{version} not found")
        record = found
    else:
        raise InvalidInput("action must be 'add' or 'remove'")
    return version_json(repo.version_info(record))


def _required_str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{key!r} is required (a string)")
    return value
