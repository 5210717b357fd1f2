"""finish: seal a distributed version, commit its parts as one version, record it, clean up.

Re-running an interrupted finish resumes it (see :mod:`artctl.ops.distributed`).
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from artctl.base.crashpoints import crash_point, declare
from artctl.errors import ArtifactNotFound, Conflict, IntegrityError, ObjectNotFound
from artctl.format.manifest import Manifest
from artctl.format.names import ArtifactName, parse_name, validate_type
from artctl.format.records import utcnow
from artctl.format.version_fields import DEFAULT_FIELDS, VersionFields
from artctl.ops.distributed.commit import commit_local, commit_remote
from artctl.ops.distributed.parts import (
    Area,
    base_rel,
    finished,
    gc_guard,
    merge_parts,
    read_parts,
    validate_id,
)
from artctl.ops.distributed.upsert import entries_of, upsert_entries

if TYPE_CHECKING:
    from artctl.repository.repo import Repository
    from artctl.repository.views import PutResult

FINISH_AFTER_SEAL = declare(
    "finish.after-seal",
    "the id sealed (upserts refused), no version: the re-run of finish resumes and commits",
)
FINISH_AFTER_COMMIT = declare(
    "finish.after-commit",
    "the version committed, finished.json not written: the re-run reports the same version "
    "(identical content) and records it",
)
FINISH_DELETE_PART = declare(
    "finish.delete-part",
    "finished.json written, the first N-1 parts deleted (@N): the version is complete; the "
    "re-run deletes the remaining parts and reports that version",
)


def finish(
    repo: Repository,
    path: str | os.PathLike[str] | None = None,
    *,
    name: str,
    type: str,
    distributed_id: str,
    remote: str | None = None,
    fields: VersionFields = DEFAULT_FIELDS,
    extra_entries=None,
) -> PutResult:
    """Commit every part of ``distributed_id`` (plus ``path``, if given) as one version.

    Running it again after it was interrupted resumes it: a sealed id is committed, a finished
    one whose parts are not all deleted yet is cleaned up and reported; ``path`` is then not
    added again if the parts (or the version) already hold exactly its files. ``fields`` are
    the new version's aliases, description, metadata, TTL, logging run and tags.
    """
    artifact = parse_name(name, repo.names)
    validate_type(type)
    validate_id(distributed_id)
    last = _last_part(repo, path, extra_entries)
    area = Area(repo, remote)
    base = base_rel(artifact, distributed_id)
    if last is not None:
        if finished(area, base) is None and not area.backend.exists(f"{base}/sealed"):
            upsert_entries(repo, last, name=name, type=type, distributed_id=distributed_id, remote=remote)
        else:
            _require_included(repo, area, base, artifact, type, distributed_id, last)
    done = finished(area, base)
    if done is not None:
        return _complete(repo, area, base, artifact, distributed_id, done)
    parts = read_parts(area, base, artifact)
    if not parts:
        raise ArtifactNotFound(
            f"no distributed version {distributed_id!r} of {artifact} "
            f"{'on remote ' + area.remote_name if area.remote_name else 'in this repository'}",
            hint="add parts first with `artctl artifact upsert PATH --name NAME "
            "--type TYPE --distributed-id ID`",
        )
    merge_parts(parts)  # refuse a conflict before sealing, so writers can still fix it
    sealed = area.backend.create(f"{base}/sealed", json.dumps({"sealed_at": utcnow()}).encode())
    crash_point(FINISH_AFTER_SEAL)
    parts = read_parts(area, base, artifact)
    try:
        manifest = merge_parts(parts)
    except Conflict:
        if sealed:
            area.backend.delete(f"{base}/sealed")
        raise
    with gc_guard(repo):
        if area.spec is None:
            result = commit_local(repo, artifact, type, manifest, fields)
        else:
            result = commit_remote(repo, area, artifact, type, manifest, fields)
        crash_point(FINISH_AFTER_COMMIT)
        doc = {
            "format": 1,
            "name": str(artifact),
            "distributed_id": distributed_id,
            "version": result.record.version,
            "manifest": result.record.manifest,
            "parts": sorted(parts),
            "finished_at": utcnow(),
        }
        from artctl.ops.remote.protocol import create_or_read

        won = create_or_read(area.backend, f"{base}/finished.json", json.dumps(doc, sort_keys=True).encode())
        if won is not None:
            other = json.loads(won)
            if other.get("manifest") != result.record.manifest:
                raise Conflict(
                    f"distributed version {distributed_id!r} of {name} was finished concurrently "
                    f"as {other.get('version', '?')}"
                )
    _delete_parts(area, base, sorted(parts))
    return result


def _last_part(repo: Repository, path: str | os.PathLike[str] | None, extra_entries):
    """The entries function of the part ``finish`` itself adds (``path`` or ``extra_entries``)."""
    return extra_entries if path is None else entries_of(repo, path)


def _require_included(
    repo: Repository, area: Area, base: str, name: ArtifactName, kind: str, distributed_id: str, entries_fn
) -> None:
    """A re-run of an interrupted ``finish PATH``: the id is sealed or finished already, which
    refuses new parts; go on only if exactly these files are in it (the killed run added them)."""
    with gc_guard(repo):
        entries = list(entries_fn())
    done = finished(area, base)
    held = (
        _version_manifest(repo, area, done) if done is not None else merge_parts(read_parts(area, base, name))
    )
    if held is None or any(
        held.entries.get(e.path) is None or held.entries[e.path].to_json() != e.to_json() for e in entries
    ):
        upsert_entries(
            repo,
            lambda: entries,
            name=str(name),
            type=kind,
            distributed_id=distributed_id,
            remote=area.remote_name,
        )  # refused with the usual error while sealed or finished


def _version_manifest(repo: Repository, area: Area, done: dict[str, Any]) -> Manifest | None:
    """The manifest a ``finished.json`` names, or None if it cannot be read here."""
    digest = done.get("manifest")
    if not isinstance(digest, str):
        return None
    if area.spec is None:
        try:
            return repo.read_manifest(digest)
        except (ObjectNotFound, IntegrityError):
            return None
    from artctl.base.hashing import hash_bytes
    from artctl.format.layout import manifest_key

    data = area.backend.read_or_none(manifest_key(digest))
    if data is None or hash_bytes(data) != digest:
        return None
    return Manifest.parse(data, f"manifest {digest[:12]}")


def _complete(
    repo: Repository, area: Area, base: str, name: ArtifactName, distributed_id: str, done: dict[str, Any]
) -> PutResult:
    """Finish a finish that was interrupted after ``finished.json``: delete the parts it left.

    With no part left there is nothing to resume: a second finish of the id is refused.
    """
    from artctl.format.names import version_index
    from artctl.repository.views import PutResult

    recorded = [p for p in done.get("parts", []) if isinstance(p, str)]
    present = {n[:-6] for n in area.backend.listdir(f"{base}/parts") if n.endswith(".jsonl")}
    left = sorted(p for p in recorded if p in present)
    index = version_index(str(done.get("version", "")))
    if not left or index is None:
        raise Conflict(
            f"distributed version {distributed_id!r} of {name} was already finished as "
            f"{done.get('version', '?')}",
            hint="use a new --distributed-id for a new version",
        )
    if area.spec is not None:
        from artctl.ops.remote.pull import pull

        pull(repo, area.spec.name, [str(name)])
    record = repo.registry.version(name, index)
    if record is None or record.manifest != done.get("manifest"):
        raise IntegrityError(
            f"{base}/finished.json names {name}:{done.get('version')}, which does not hold "
            "the finished manifest"
        )
    _delete_parts(area, base, left)
    return PutResult(record, repo.registry.aliases_of(record), False)


def _delete_parts(area: Area, base: str, part_ids: list[str]) -> None:
    """Drop the parts a finished version includes (``finished.json`` exists already)."""
    for part_id in part_ids:
        crash_point(FINISH_DELETE_PART)
        area.backend.delete(f"{base}/parts/{part_id}.jsonl")
