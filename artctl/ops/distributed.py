"""Distributed versions: many writers ``upsert`` parts under one id, one ``finish`` commits them.

The same layout and protocol work in the local repository and on a remote (the "area"), so a
Slurm array on one machine and a CI matrix across machines behave alike (docs/remotes.md):

``drafts/distributed/<project>/<name>/<id>/``
  ``parts/<uuid>.jsonl`` — one immutable part per upsert: a header line, then manifest entries.
                          Created exclusively, after the part's objects are stored.
  ``sealed``            — created exclusively by ``finish`` *before* it lists the parts.
  ``finished.json``     — created exclusively by ``finish`` after the version is committed;
                          names the version and every part it includes.

Why seal first: an upsert writes its part, then looks for ``sealed``. If it is absent, the
part was written before the seal, so the finisher (which lists after sealing) sees it. If it is
present, the upsert cannot know, so it waits for ``finished.json`` and checks that its part is
listed — never a silently dropped part. A finisher that crashed after sealing is resumed by
running ``finish`` again, and one that crashed after ``finished.json`` is completed by it (the
parts it left are deleted). Before ``finish`` nothing under ``registry/`` exists, so readers do
not see the version; after it, upserts with that id are refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from artctl.base.crashpoints import crash_point, declare
from artctl.errors import ArtifactNotFound, Conflict, IntegrityError, InvalidInput, ObjectNotFound
from artctl.format.layout import distributed_key, distributed_part_key, distributed_parts, part_of_file
from artctl.format.manifest import Entry, Manifest, entries_after_header
from artctl.format.names import ArtifactName, parse_name, validate_type
from artctl.format.records import utcnow

if TYPE_CHECKING:
    from artctl.api.repo import PutResult, Repo
    from artctl.backend.fs import Backend

UPSERT_AFTER_OBJECTS = declare(
    "upsert.after-objects",
    "the part's blobs stored, no part file: unreferenced blobs; the re-run writes the part",
)
UPSERT_AFTER_PART = declare(
    "upsert.after-part",
    "the part written (a gc root), not yet checked against a concurrent finish: the next finish "
    "includes it; a re-run adds an identical second part, which merges cleanly",
)
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

PART_KIND = "artctl-distributed-part"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
#: How long an upsert that raced a finish waits to learn whether its part was included.
CONFIRM_TIMEOUT_SECONDS = 60.0


def validate_id(distributed_id: str) -> str:
    if not isinstance(distributed_id, str) or not _ID.match(distributed_id):
        raise InvalidInput(
            f"invalid distributed id {distributed_id!r}: use letters, digits, '.', '_' "
            "or '-' (at most 128, starting with a letter or digit)"
        )
    return distributed_id


def base_rel(name: ArtifactName, distributed_id: str) -> str:
    return distributed_key(name, distributed_id)


@dataclass(frozen=True)
class UpsertResult:
    """One part added to a distributed version."""

    name: str
    type: str
    distributed_id: str
    part: str
    files: int
    size: int
    remote: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "distributed_id": self.distributed_id,
            "part": self.part,
            "files": self.files,
            "size": self.size,
            "remote": self.remote,
        }


@contextlib.contextmanager
def _gc_guard(repo: Repo) -> Iterator[None]:
    """Hold gc's writer guard (if this build has gc) while blobs are unreferenced."""
    try:
        from artctl.base.locks import writing
    except ImportError:  # pragma: no cover - gc not present
        yield
        return
    with writing(repo.repository.locks_dir, tmp_dir=repo.repository.tmp_dir):
        yield


class _Area:
    """Where the parts live: the local repository or a remote, behind one backend."""

    def __init__(self, repo: Repo, remote: str | None) -> None:
        self.repo = repo
        self.spec = None
        if remote is None:
            from artctl.backend.fs import LocalBackend

            self.backend: Backend = LocalBackend(str(repo.root), str(repo.root), fsync=repo.repository.fsync)
        else:
            from artctl.ops.remote.config import get_remote
            from artctl.ops.remote.protocol import open_remote
            from artctl.ops.remote.transfer import backend_for

            self.spec = get_remote(repo.repository, remote)
            self.backend = backend_for(repo.repository, self.spec)
            open_remote(self.backend, create=True)

    @property
    def remote_name(self) -> str | None:
        return self.spec.name if self.spec else None


def _check_remote_type(area: _Area, name: ArtifactName, kind: str) -> None:
    if area.spec is None:
        return
    from artctl.format.layout import artifact_record_key
    from artctl.format.records import ArtifactRecord, loads

    data = area.backend.read_or_none(artifact_record_key(name))
    if data is not None:
        existing = ArtifactRecord.from_json(loads(data, f"remote artifact {name}"))
        if existing.type != kind:
            raise Conflict(f"artifact {name} already exists with type {existing.type!r}, not {kind!r}")


def _finished(area: _Area, base: str) -> dict[str, Any] | None:
    data = area.backend.read_or_none(f"{base}/finished.json")
    if data is None:
        return None
    try:
        doc = json.loads(data)
    except ValueError:
        raise IntegrityError(f"{base}/finished.json is corrupt") from None
    return doc if isinstance(doc, dict) else {}


def _refuse_finished(area: _Area, base: str, name: ArtifactName, distributed_id: str) -> None:
    doc = _finished(area, base)
    if doc is not None:
        raise Conflict(
            f"distributed version {distributed_id!r} of {name} was already finished "
            f"as {doc.get('version', '?')}; upsert refused",
            hint="use a new --distributed-id for a new version",
        )
    if area.backend.exists(f"{base}/sealed"):
        raise Conflict(
            f"distributed version {distributed_id!r} of {name} is being finished; upsert refused",
            hint="use a new --distributed-id for a new version",
        )


def _part_bytes(name: ArtifactName, kind: str, distributed_id: str, part: str, entries: list[Entry]) -> bytes:
    from artctl.ops.remote.protocol import json_line

    header = {
        "format": 1,
        "kind": PART_KIND,
        "name": str(name),
        "type": kind,
        "distributed_id": distributed_id,
        "part": part,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "created_at": utcnow(),
    }
    return json_line(header) + b"".join(json_line(e.to_json()) for e in sorted(entries, key=lambda e: e.path))


def _parse_part(data: bytes, where: str, name: ArtifactName) -> tuple[dict[str, Any], list[Entry]]:
    """A part from the area (untrusted on a remote): header checked, every path validated."""
    lines = data.splitlines()
    try:
        header = json.loads(lines[0]) if lines else None
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("kind") != PART_KIND or header.get("format") != 1:
        raise IntegrityError(f"{where} is not an artctl distributed part")
    if header.get("name") != str(name):
        raise IntegrityError(f"{where} belongs to {header.get('name')!r}, not {name}")
    return header, list(entries_after_header(lines, where))


def upsert_entries(
    repo: Repo,
    entries_fn,
    *,
    name: str,
    type: str,
    distributed_id: str,  # type: ignore[no-untyped-def]
    remote: str | None = None,
) -> UpsertResult:
    """Store the entries ``entries_fn()`` produces and add them as one part."""
    artifact = parse_name(name)
    validate_type(type)
    validate_id(distributed_id)
    from artctl.api.repo import check_type

    check_type(repo, artifact, type)
    area = _Area(repo, remote)
    _check_remote_type(area, artifact, type)
    base = base_rel(artifact, distributed_id)
    _refuse_finished(area, base, artifact, distributed_id)
    part = uuid.uuid4().hex
    from artctl.ops.gc import discard_on_failure

    with discard_on_failure(repo), _gc_guard(repo):
        entries = list(entries_fn())
        if not entries:
            raise InvalidInput("nothing to upsert: no files given")
        if area.spec is not None:
            _send_entries(repo, area, entries)
        crash_point(UPSERT_AFTER_OBJECTS)
        data = _part_bytes(artifact, type, distributed_id, part, entries)
        if not area.backend.create(distributed_part_key(base, part), data):  # pragma: no cover - uuid clash
            raise Conflict(f"part {part} already exists")
        crash_point(UPSERT_AFTER_PART)
    if area.backend.exists(f"{base}/sealed"):
        _confirm_included(area, base, artifact, distributed_id, part)
    return UpsertResult(
        str(artifact),
        type,
        distributed_id,
        part,
        len(entries),
        sum(e.size for e in entries),
        area.remote_name,
    )


def _confirm_included(area: _Area, base: str, name: ArtifactName, distributed_id: str, part: str) -> None:
    """The upsert raced a finish: wait for its outcome and fail unless our part made it in."""
    deadline = time.monotonic() + CONFIRM_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        doc = _finished(area, base)
        if doc is not None:
            if part in doc.get("parts", []):
                return
            area.backend.delete(distributed_part_key(base, part))
            raise Conflict(
                f"distributed version {distributed_id!r} of {name} was finished without this "
                "part; upsert refused",
                hint="use a new --distributed-id for a new version",
            )
        if not area.backend.exists(f"{base}/sealed"):
            return  # the finisher hit a conflict and unsealed: our part stays for the next finish
        time.sleep(0.2)
    raise Conflict(
        f"distributed version {distributed_id!r} of {name} is being finished and did not "
        f"finish within {CONFIRM_TIMEOUT_SECONDS:.0f}s; this part may not be included",
        hint="check with `artctl artifact show`, then re-run `finish` if it crashed",
    )


def _send_entries(repo: Repo, area: _Area, entries: list[Entry]) -> None:
    """Upload the blobs of a part to the remote before the part names them."""
    from artctl.ops.remote import inventory
    from artctl.ops.remote.transfer import send_blobs

    assert area.spec is not None
    needed = {e.digest: e.size for e in entries if e.digest is not None and e.ref is None}
    inv = inventory.refresh(repo.repository, area.spec.name, area.backend)
    send_blobs(repo.repository, area.spec, area.backend, needed, inv)


def upsert(
    repo: Repo,
    path: str | os.PathLike[str],
    *,
    name: str,
    type: str,
    distributed_id: str,
    remote: str | None = None,
    progress=None,
) -> UpsertResult:  # type: ignore[no-untyped-def]
    """Add the files under ``path`` as one part of distributed version ``distributed_id``."""
    return upsert_entries(
        repo,
        _entries_of(repo, path, progress),
        name=name,
        type=type,
        distributed_id=distributed_id,
        remote=remote,
    )


def _entries_of(repo: Repo, path: str | os.PathLike[str], progress=None):  # type: ignore[no-untyped-def]
    """A function that stores the files under ``path`` and returns their entries."""

    def entries() -> list[Entry]:
        files = repo.collect([(path, None)])
        if not files:
            raise InvalidInput(f"{path} contains no files")
        return repo.store_files(files, progress)

    return entries


def _merge(parts: dict[str, tuple[dict[str, Any], list[Entry]]]) -> Manifest:
    """One manifest from every part; one path with two contents is a conflict."""
    manifest = Manifest()
    owner: dict[str, str] = {}
    for part_id in sorted(parts):
        header, entries = parts[part_id]
        for entry in entries:
            old = manifest.entries.get(entry.path)
            if old is not None and old.to_json() != entry.to_json():
                raise Conflict(
                    f"path {entry.path!r} was added with different content by two writers "
                    f"(parts {owner[entry.path][:8]} and {part_id[:8]} from host "
                    f"{header.get('host', '?')})",
                    hint="give each writer distinct paths, then run finish again",
                )
            manifest.add(entry)
            owner[entry.path] = part_id
    return manifest


def _read_parts(area: _Area, base: str, name: ArtifactName) -> dict[str, tuple[dict[str, Any], list[Entry]]]:
    parts = [p for p in map(part_of_file, area.backend.listdir(distributed_parts(base))) if p]
    from artctl.backend.fs import MAX_MANIFEST_BYTES

    keys = {distributed_part_key(base, p): p for p in parts}
    datas = area.backend.read_many(keys, MAX_MANIFEST_BYTES)
    out = {}
    for rel, data in datas.items():
        if data is not None:
            out[keys[rel]] = _parse_part(data, rel, name)
    return out


def finish(
    repo: Repo,
    path: str | os.PathLike[str] | None = None,
    *,
    name: str,
    type: str,
    distributed_id: str,
    remote: str | None = None,
    aliases: Sequence[str] = (),
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
    ttl: str | timedelta | None = None,
    run_id: str | None = None,
    extra_entries=None,
    tags: Sequence[str] = (),
) -> PutResult:  # type: ignore[no-untyped-def]
    """Commit every part of ``distributed_id`` (plus ``path``, if given) as one version.

    Running it again after it was interrupted resumes it: a sealed id is committed, a finished
    one whose parts are not all deleted yet is cleaned up and reported; ``path`` is then not
    added again if the parts (or the version) already hold exactly its files.
    """
    artifact = parse_name(name)
    validate_type(type)
    validate_id(distributed_id)
    last = _last_part(repo, path, extra_entries)
    area = _Area(repo, remote)
    base = base_rel(artifact, distributed_id)
    if last is not None:
        if _finished(area, base) is None and not area.backend.exists(f"{base}/sealed"):
            upsert_entries(repo, last, name=name, type=type, distributed_id=distributed_id, remote=remote)
        else:
            _require_included(repo, area, base, artifact, type, distributed_id, last)
    done = _finished(area, base)
    if done is not None:
        return _complete(repo, area, base, artifact, distributed_id, done)
    parts = _read_parts(area, base, artifact)
    if not parts:
        raise ArtifactNotFound(
            f"no distributed version {distributed_id!r} of {artifact} "
            f"{'on remote ' + area.remote_name if area.remote_name else 'in this repository'}",
            hint="add parts first with `artctl artifact upsert PATH --name NAME "
            "--type TYPE --distributed-id ID`",
        )
    _merge(parts)  # refuse a conflict before sealing, so writers can still fix it
    sealed = area.backend.create(f"{base}/sealed", json.dumps({"sealed_at": utcnow()}).encode())
    crash_point(FINISH_AFTER_SEAL)
    parts = _read_parts(area, base, artifact)
    try:
        manifest = _merge(parts)
    except Conflict:
        if sealed:
            area.backend.delete(f"{base}/sealed")
        raise
    with _gc_guard(repo):
        if area.spec is None:
            result = _commit_local(
                repo,
                artifact,
                type,
                manifest,
                aliases=aliases,
                description=description,
                metadata=metadata,
                ttl=ttl,
                run_id=run_id,
                tags=tags,
            )
        else:
            result = _commit_remote(
                repo,
                area,
                artifact,
                type,
                manifest,
                aliases=aliases,
                description=description,
                metadata=metadata,
                ttl=ttl,
                run_id=run_id,
                tags=tags,
            )
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


def _last_part(repo: Repo, path: str | os.PathLike[str] | None, extra_entries):  # type: ignore[no-untyped-def]
    """The entries function of the part ``finish`` itself adds (``path`` or ``extra_entries``)."""
    return extra_entries if path is None else _entries_of(repo, path)


def _require_included(
    repo: Repo, area: _Area, base: str, name: ArtifactName, kind: str, distributed_id: str, entries_fn
) -> None:  # type: ignore[no-untyped-def]
    """A re-run of an interrupted ``finish PATH``: the id is sealed or finished already, which
    refuses new parts; go on only if exactly these files are in it (the killed run added them)."""
    with _gc_guard(repo):
        entries = list(entries_fn())
    done = _finished(area, base)
    held = _version_manifest(repo, area, done) if done is not None else _merge(_read_parts(area, base, name))
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


def _version_manifest(repo: Repo, area: _Area, done: dict[str, Any]) -> Manifest | None:
    """The manifest a ``finished.json`` names, or None if it cannot be read here."""
    digest = done.get("manifest")
    if not isinstance(digest, str):
        return None
    if area.spec is None:
        try:
            return repo.repository.read_manifest(digest)
        except (ObjectNotFound, IntegrityError):
            return None
    from artctl.base.hashing import hash_bytes
    from artctl.format.layout import manifest_key

    data = area.backend.read_or_none(manifest_key(digest))
    if data is None or hash_bytes(data) != digest:
        return None
    return Manifest.parse(data, f"manifest {digest[:12]}")


def _complete(
    repo: Repo, area: _Area, base: str, name: ArtifactName, distributed_id: str, done: dict[str, Any]
) -> PutResult:
    """Finish a finish that was interrupted after ``finished.json``: delete the parts it left.

    With no part left there is nothing to resume: a second finish of the id is refused.
    """
    from artctl.api.repo import PutResult
    from artctl.format.names import version_index

    recorded = [p for p in done.get("parts", []) if isinstance(p, str)]
    present = set(filter(None, map(part_of_file, area.backend.listdir(distributed_parts(base)))))
    left = sorted(p for p in recorded if p in present)
    index = version_index(str(done.get("version", "")))
    if not left or index is None:
        raise Conflict(
            f"distributed version {distributed_id!r} of {name} was already finished as "
            f"{done.get('version', '?')}",
            hint="use a new --distributed-id for a new version",
        )
    if area.spec is not None:
        from artctl.ops.remote.transfer import pull

        pull(repo, area.spec.name, [str(name)])
    record = repo.registry.version(name, index)
    if record is None or record.manifest != done.get("manifest"):
        raise IntegrityError(
            f"{base}/finished.json names {name}:{done.get('version')}, which does not hold "
            "the finished manifest"
        )
    _delete_parts(area, base, left)
    return PutResult(record, repo.registry.aliases_of(record), False)


def _delete_parts(area: _Area, base: str, part_ids: list[str]) -> None:
    """Drop the parts a finished version includes (``finished.json`` exists already)."""
    for part_id in part_ids:
        crash_point(FINISH_DELETE_PART)
        area.backend.delete(distributed_part_key(base, part_id))


def _commit_local(repo: Repo, name: ArtifactName, kind: str, manifest: Manifest, **options: Any) -> PutResult:
    digests = {e.digest for e in manifest if e.digest is not None and e.ref is None}
    lacking = digests - repo.store.has_many(digests)
    if lacking:
        raise ObjectNotFound(
            f"{len(lacking)} object(s) of the parts are missing from the local store",
            hint="upserts from other machines must use --remote; finish there too",
        )
    return repo.commit_manifest(name, kind, manifest, **options)


def _commit_remote(
    repo: Repo,
    area: _Area,
    name: ArtifactName,
    kind: str,
    manifest: Manifest,
    *,
    aliases: Sequence[str],
    description: str | None,
    metadata: dict[str, Any] | None,
    ttl: str | timedelta | None,
    run_id: str | None,
    tags: Sequence[str] = (),
) -> PutResult:
    """Objects are on the remote already; write manifest → version record → aliases there,
    then pull the version's metadata so this repository knows it too."""
    from artctl.api.repo import PutResult, link_of, ttl_seconds
    from artctl.base.hashing import hash_bytes
    from artctl.format.layout import manifest_key
    from artctl.format.names import LATEST, validate_custom_alias, version_index
    from artctl.format.records import ArtifactRecord, VersionRecord
    from artctl.ops.remote import inventory
    from artctl.ops.remote.protocol import (
        ensure_artifact,
        publish_version,
        read_registry,
        update_aliases,
    )
    from artctl.ops.remote.transfer import pull

    assert area.spec is not None
    backend = area.backend
    if run_id:
        repo.repository.runs.require_running(run_id)
    custom = [validate_custom_alias(a) for a in aliases if a != LATEST and version_index(a) is None]
    inv = inventory.refresh(repo.repository, area.spec.name, backend)
    digests = {e.digest for e in manifest if e.digest is not None and e.ref is None}
    lacking = [d for d in digests if not inv.has(d)]
    if lacking:
        raise ObjectNotFound(
            f"{len(lacking)} object(s) named by the parts are not on remote {area.spec.name}",
            hint="an upsert may have been interrupted; re-run it, then finish",
        )
    data = manifest.canonical()
    digest = hash_bytes(data)
    backend.write(manifest_key(digest), data)
    ensure_artifact(backend, ArtifactRecord(str(name), kind, utcnow()))
    remote_art = read_registry(backend, {str(name)}).get(str(name))
    taken = dict(remote_art.versions) if remote_art else {}
    existing = [r for r in taken.values() if r.manifest == digest and r.live()]
    seconds = None if ttl == "none" else ttl_seconds(ttl) if ttl is not None else repo.default_ttl(name)
    if existing:
        record, created = existing[-1], False
    else:
        draft = VersionRecord(
            name=str(name),
            type=kind,
            index=max(taken, default=-1) + 1,
            manifest=digest,
            created_at=utcnow(),
            files=len(manifest),
            size=manifest.total_size,
            description=description,
            metadata=dict(metadata or {}),
            ttl_seconds=seconds,
            logged_by=run_id,
            tags=list(tags),
        )
        record, created = publish_version(backend, draft, taken), True
    if custom:
        update_aliases(backend, name, {a: record.version for a in custom})
    pull(repo, area.spec.name, [str(name)])
    local = [r for r in repo.registry.versions(name) if r.manifest == digest]
    record = local[-1] if local else record
    if run_id:
        repo.repository.runs.link(run_id, link_of(record), direction="output")
    return PutResult(record, repo.registry.aliases_of(record), created)
