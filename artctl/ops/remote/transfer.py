"""What push, pull and clone share: their result, bounded parallel requests, gc's writer guard.

Write order on the remote is the local one (docs/remotes.md): blobs (whole packs, then their
``.idx``; loose objects) → manifests → version records (exclusive create) → tombstones →
edit snapshots → alias snapshots (:mod:`~artctl.ops.remote.publish`) → run records
(:mod:`~artctl.ops.remote.push`, blobs by :mod:`~artctl.ops.remote.send`). A push
killed at any point leaves only unreferenced content on the remote, and re-running it sends
only what is missing, because "present" is decided by listing the remote.

Pull and clone (:mod:`~artctl.ops.remote.pull`, :mod:`~artctl.ops.remote.clone`) fetch
metadata (registry, runs, manifests, pack indexes); object bytes come when ``get`` needs them
(:mod:`artctl.ops.remote.source`), or all at once with ``fetch_all``
(:mod:`~artctl.ops.remote.fetch`). Every manifest is verified and parsed (paths validated)
before anything is written locally.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from artctl.backend.base import Backend
from artctl.ops.remote.config import RemoteSpec
from artctl.ops.remote.sync import Renumbered
from artctl.ops.remote.threeway import Disagreement, Replaced
from artctl.repository.state import RemoteCopy

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TransferResult:
    """What a push, pull or clone did: the ``--json`` summary."""

    direction: str  # "push", "pull" or "clone"
    remote: str
    url: str
    objects: int = 0  # blobs sent / fetched
    bytes: int = 0  # bytes of files sent / fetched
    files: int = 0  # files moved (packs + loose objects)
    objects_skipped: int = 0  # blobs the other side already had
    bytes_skipped: int = 0
    manifests: int = 0
    versions: list[str] = field(default_factory=list)  # refs created on the other side
    renumbered: list[Renumbered] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # push: versions marked deleted on the remote
    initialized: bool = False
    root: str | None = None  # clone: the new working directory
    skipped_records: list[str] = field(default_factory=list)  # damaged remote records left out, and why
    conflicts: list[Disagreement] = field(default_factory=list)  # push: changed on both sides, refused
    replaced: list[Replaced] = field(default_factory=list)  # local changes the remote's replaced

    def to_json(self) -> dict[str, Any]:
        verb = "sent" if self.direction == "push" else "fetched"
        out: dict[str, Any] = {
            "direction": self.direction,
            "remote": self.remote,
            "url": self.url,
            f"objects_{verb}": self.objects,
            f"bytes_{verb}": self.bytes,
            f"files_{verb}": self.files,
            "objects_skipped": self.objects_skipped,
            "bytes_skipped": self.bytes_skipped,
            f"manifests_{verb}": self.manifests,
            "versions": self.versions,
            "renumbered": [r.to_json() for r in self.renumbered],
        }
        if self.direction == "push":
            out["initialized"] = self.initialized
            out["deleted"] = self.deleted
        if self.root is not None:
            out["root"] = self.root
        out["skipped_records"] = self.skipped_records
        out["conflicts"] = [c.to_json() for c in self.conflicts]
        out["replaced"] = [r.to_json() for r in self.replaced]
        return out


def record_copies(repository: Repository, spec: RemoteSpec, copies: Iterable[RemoteCopy]) -> None:
    """Remember the verified copies a configured remote holds (``cache cleanup`` may then evict
    them); a URL used once is no backup: ``get`` could not fetch from it."""
    if spec.configured:
        repository.state.record_remote_copies(spec.name, copies)


def parallel(backend: Backend, func: Callable[[Any], None], items: Sequence[Any]) -> None:
    if not items:
        return
    with ThreadPoolExecutor(max_workers=min(backend.jobs, len(items))) as pool:
        for _ in pool.map(func, items):
            pass


@contextlib.contextmanager
def writer_guard(repository: Repository):
    """gc's shared writer guard (docs/gc.md): no pack we send or adopt is deleted meanwhile."""
    from artctl.base.locks import writing

    with writing(repository.locks_dir, tmp_dir=repository.tmp_dir):
        yield
