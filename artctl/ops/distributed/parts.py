"""Where a distributed version's parts live (the "area": the local repository or a remote, behind
one backend), the part format and the bookkeeping files (``sealed``, ``finished.json``)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from artctl.backend.base import MAX_MANIFEST_BYTES, Backend
from artctl.backend.local import LocalBackend
from artctl.base.locks import writing
from artctl.errors import Conflict, IntegrityError, InvalidInput
from artctl.format.manifest import Entry, Manifest, entries_after_header
from artctl.format.names import ArtifactName
from artctl.format.records import utcnow

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

PART_KIND = "artctl-distributed-part"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def validate_id(distributed_id: str) -> str:
    """The id, checked: it names a folder in the area and is typed by users and schedulers."""
    if not isinstance(distributed_id, str) or not _ID.match(distributed_id):
        raise InvalidInput(
            f"invalid distributed id {distributed_id!r}: use letters, digits, '.', '_' "
            "or '-' (at most 128, starting with a letter or digit)"
        )
    return distributed_id


def base_rel(name: ArtifactName, distributed_id: str) -> str:
    """The area folder of one distributed version: ``drafts/distributed/<project>/<name>/<id>``."""
    return "drafts/distributed/" + "/".join(name.parts) + f"/{distributed_id}"


@contextlib.contextmanager
def gc_guard(repo: Repository) -> Iterator[None]:
    """Hold gc's writer guard while blobs are unreferenced."""
    with writing(repo.locks_dir, tmp_dir=repo.tmp_dir):
        yield


class Area:
    """Where the parts live: the local repository (written with its ``core.fsync``) or a remote
    (created if need be), behind one backend, so both follow the same protocol."""

    def __init__(self, repo: Repository, remote: str | None) -> None:
        self.repo = repo
        self.spec = None
        if remote is None:
            self.backend: Backend = LocalBackend(str(repo.root), str(repo.root), fsync=repo.fsync)
        else:
            from artctl.ops.remote.config import backend_for, get_remote
            from artctl.ops.remote.protocol import open_remote

            self.spec = get_remote(repo, remote)
            self.backend = backend_for(repo, self.spec)
            open_remote(self.backend, create=True)

    @property
    def remote_name(self) -> str | None:
        return self.spec.name if self.spec else None


def finished(area: Area, base: str) -> dict[str, Any] | None:
    """The ``finished.json`` of the version at ``base`` (None while it is not finished)."""
    data = area.backend.read_or_none(f"{base}/finished.json")
    if data is None:
        return None
    try:
        doc = json.loads(data)
    except ValueError:
        raise IntegrityError(f"{base}/finished.json is corrupt") from None
    return doc if isinstance(doc, dict) else {}


def refuse_finished(area: Area, base: str, name: ArtifactName, distributed_id: str) -> None:
    """Refuse a new part once the version is finished or being finished (sealed)."""
    doc = finished(area, base)
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


def part_bytes(name: ArtifactName, kind: str, distributed_id: str, part: str, entries: list[Entry]) -> bytes:
    """A part file: a header line (who wrote it, where, when), then its entries sorted by path."""
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


def merge_parts(parts: dict[str, tuple[dict[str, Any], list[Entry]]]) -> Manifest:
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


def read_parts(area: Area, base: str, name: ArtifactName) -> dict[str, tuple[dict[str, Any], list[Entry]]]:
    """Every part under ``base``: part id → (header, entries), each checked (:func:`_parse_part`)."""
    names = [n for n in area.backend.listdir(f"{base}/parts") if n.endswith(".jsonl")]
    datas = area.backend.read_many((f"{base}/parts/{n}" for n in names), MAX_MANIFEST_BYTES)
    out = {}
    for rel, data in datas.items():
        if data is not None:
            out[rel.rsplit("/", 1)[-1][:-6]] = _parse_part(data, rel, name)
    return out
