"""upsert: one writer adds its files as one part of a distributed version.

The part's blobs are stored first (on the remote, for a remote area), then the part is created
exclusively; a part that raced a finish's seal waits to learn whether it made it in.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from artctl.base.crashpoints import crash_point, declare
from artctl.errors import Conflict, InvalidInput
from artctl.format.manifest import Entry
from artctl.format.names import ArtifactName, parse_name, validate_type
from artctl.ops.distributed.parts import (
    Area,
    base_rel,
    finished,
    gc_guard,
    part_bytes,
    refuse_finished,
    validate_id,
)
from artctl.ops.put import collect, store_files

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

UPSERT_AFTER_OBJECTS = declare(
    "upsert.after-objects",
    "the part's blobs stored, no part file: unreferenced blobs; the re-run writes the part",
)
UPSERT_AFTER_PART = declare(
    "upsert.after-part",
    "the part written (a gc root), not yet checked against a concurrent finish: the next finish "
    "includes it; a re-run adds an identical second part, which merges cleanly",
)

#: How long an upsert that raced a finish waits to learn whether its part was included.
CONFIRM_TIMEOUT_SECONDS = 60.0


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


def _check_remote_type(area: Area, name: ArtifactName, kind: str) -> None:
    if area.spec is None:
        return
    from artctl.format.layout import artifact_record_key
    from artctl.format.records import ArtifactRecord, loads

    data = area.backend.read_or_none(artifact_record_key(name))
    if data is not None:
        existing = ArtifactRecord.from_json(loads(data, f"remote artifact {name}"))
        if existing.type != kind:
            raise Conflict(f"artifact {name} already exists with type {existing.type!r}, not {kind!r}")


def upsert_entries(
    repo: Repository,
    entries_fn,
    *,
    name: str,
    type: str,
    distributed_id: str,
    remote: str | None = None,
) -> UpsertResult:
    """Store the entries ``entries_fn()`` produces and add them as one part."""
    artifact = parse_name(name, repo.names)
    validate_type(type)
    validate_id(distributed_id)
    from artctl.repository.commit import check_type

    check_type(repo, artifact, type)
    area = Area(repo, remote)
    _check_remote_type(area, artifact, type)
    base = base_rel(artifact, distributed_id)
    refuse_finished(area, base, artifact, distributed_id)
    part = uuid.uuid4().hex
    from artctl.ops.gc import discard_on_failure

    with discard_on_failure(repo), gc_guard(repo):
        entries = list(entries_fn())
        if not entries:
            raise InvalidInput("nothing to upsert: no files given")
        if area.spec is not None:
            _send_entries(repo, area, entries)
        crash_point(UPSERT_AFTER_OBJECTS)
        data = part_bytes(artifact, type, distributed_id, part, entries)
        if not area.backend.create(f"{base}/parts/{part}.jsonl", data):  # pragma: no cover - uuid clash
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


def _confirm_included(area: Area, base: str, name: ArtifactName, distributed_id: str, part: str) -> None:
    """The upsert raced a finish: wait for its outcome and fail unless our part made it in."""
    deadline = time.monotonic() + CONFIRM_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        doc = finished(area, base)
        if doc is not None:
            if part in doc.get("parts", []):
                return
            area.backend.delete(f"{base}/parts/{part}.jsonl")
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


def _send_entries(repo: Repository, area: Area, entries: list[Entry]) -> None:
    """Upload the blobs of a part to the remote before the part names them."""
    from artctl.ops.remote import inventory
    from artctl.ops.remote.send import send_blobs

    assert area.spec is not None
    needed = {e.digest: e.size for e in entries if e.digest is not None and e.ref is None}
    inv = inventory.refresh(repo, area.spec.name, area.backend)
    # as push (remote gc's protocol): a copy older than half the grace may be going away, so it
    # is sent again rather than relied on; the part is created right after this listing
    since = time.time() - repo.settings.remote_grace_seconds / 2
    send_blobs(repo, area.spec, area.backend, needed, inv, None, since)


def upsert(
    repo: Repository,
    path: str | os.PathLike[str],
    *,
    name: str,
    type: str,
    distributed_id: str,
    remote: str | None = None,
    progress=None,
) -> UpsertResult:
    """Add the files under ``path`` as one part of distributed version ``distributed_id``."""
    return upsert_entries(
        repo,
        entries_of(repo, path, progress),
        name=name,
        type=type,
        distributed_id=distributed_id,
        remote=remote,
    )


def entries_of(repo: Repository, path: str | os.PathLike[str], progress=None):
    """A function that stores the files under ``path`` and returns their entries."""

    def entries() -> list[Entry]:
        files = collect([(path, None)])
        if not files:
            raise InvalidInput(f"{path} contains no files")
        return store_files(repo, files, progress)

    return entries
