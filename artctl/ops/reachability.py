"""What is live in a repository: the one answer ``gc`` and ``cache cleanup`` both act on.

Roots (docs/gc.md, "Mark"):

1. every version that is neither soft-deleted nor expired (at ``now``): its manifest and every
   blob it names;
2. every 64-hex digest in any file under ``drafts/`` (open drafts, the parts of open
   distributed versions), except the ``finished.json`` / ``sealed`` markers of finished
   distributed versions: the blob of that name and, when a manifest of that name is stored,
   that manifest and all its blobs. Feature code registers nothing: writing a digest into a
   file under ``drafts/`` is what keeps it.

Runs refer to versions, not blobs, so they add no roots of their own; reference entries are
live like any other entry (the bytes fetched for them are a cache of the reference, which
``cache cleanup`` may evict and ``get`` fetches again). Soft-deleted and expired versions are
not live: gc purges them, so cache cleanup does not protect them either.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from artctl.format.names import parse_name

if TYPE_CHECKING:
    from artctl.format.records import VersionRecord
    from artctl.repository.registry import Registry
    from artctl.repository.repo import Repository

#: Files under ``drafts/`` that mark a finished distributed version: its version record is
#: the root now, not the digests they name.
NOT_ROOTS = frozenset({"finished.json", "sealed"})
#: A digest is 64 lowercase hex characters standing alone (not part of a longer hex run).
_HEX64 = re.compile(rb"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")


@dataclass(frozen=True)
class ManifestBlobs:
    """The blobs one manifest names: all of them, and those stored as plain (non-reference)
    files. Manifests are immutable, so this can be kept between two marks."""

    blobs: frozenset[str]
    plain: frozenset[str]


@dataclass
class Live:
    """What must be kept, and the versions that stopped being live (gc purges them)."""

    manifests: set[str] = field(default_factory=set)
    #: Every live blob (the fetched bytes of reference entries included).
    blobs: set[str] = field(default_factory=set)
    #: Live blobs some live thing holds as a plain file: without a remote copy, the store's
    #: copy is the only one (digests named by drafts count as plain: a draft may be anything).
    plain: set[str] = field(default_factory=set)
    #: Soft-deleted versions not yet purged, and versions expired at ``now``.
    unpurged: list[VersionRecord] = field(default_factory=list)
    expired: list[VersionRecord] = field(default_factory=list)
    #: Live manifests that could not be read: their blobs are unknown, so nothing may be deleted.
    unreadable: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def live(
    repository: Repository,
    registry: Registry,
    now: datetime | None,
    cache: dict[str, ManifestBlobs] | None = None,
) -> Live:
    """Mark everything live in ``repository``. ``now``: versions expired by then are dead
    (None: none is). ``cache`` keeps manifests' blob sets between calls (gc marks twice)."""
    cache = {} if cache is None else cache
    out = Live()
    for artifact in registry.iter_artifacts():
        for record in registry.versions(parse_name(artifact.name), include_deleted=True):
            if record.deleted:
                if not record.purged_at:
                    out.unpurged.append(record)
            elif now is not None and record.expired(now):
                out.expired.append(record)
                out.unpurged.append(record)
            else:
                out.manifests.add(record.manifest)
    for digest in draft_digests(repository.layout.drafts):
        out.blobs.add(digest)
        out.plain.add(digest)
        if repository.manifest_path(digest).exists():
            out.manifests.add(digest)
    for digest in out.manifests:
        named = cache.get(digest)
        if named is None:
            try:
                named = cache[digest] = _blobs_of(repository, digest)
            except Exception as exc:  # noqa: BLE001 - reported; gc then refuses to delete anything
                out.problems.append(f"live manifest {digest[:12]}: {exc}")
                out.unreadable.append(digest)
                continue
        out.blobs |= named.blobs
        out.plain |= named.plain
    return out


def _blobs_of(repository: Repository, digest: str) -> ManifestBlobs:
    blobs: set[str] = set()
    plain: set[str] = set()
    for entry in repository.iter_manifest(digest):
        if entry.digest:
            blobs.add(entry.digest)
            if entry.ref is None:
                plain.add(entry.digest)
    return ManifestBlobs(frozenset(blobs), frozenset(plain))


def draft_digests(drafts_dir: Path) -> set[str]:
    """Every digest named in a file under ``drafts/`` that is a root (module docstring)."""
    out: set[str] = set()
    for path in _files(drafts_dir):
        if path.name in NOT_ROOTS:
            continue
        try:
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            continue
        out.update(match.group().decode() for match in _HEX64.finditer(data))
    return out


def _files(directory: Path) -> Iterator[Path]:
    for dirpath, _dirs, names in os.walk(directory):
        for name in names:
            yield Path(dirpath) / name
