"""A version against a working directory: files added, removed and modified since.

Fast because it trusts what it may: the scan costs one ``lstat`` per file; a file whose
(inode, size, mtime, ctime) matches the stat cache (``state.db``) has the digest cached there;
a size change is a modification without reading. Only the remaining files are read and hashed
(and then cached). If the whole tree's stat signature is one already known to hold exactly
this version, nothing is looked up at all.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artctl.base.hashing import hash_file
from artctl.errors import InvalidInput
from artctl.format.manifest import Entry
from artctl.format.records import VersionRecord
from artctl.ops.ingest.scan import RACY_SECONDS, SourceFile, scan, tree_signature
from artctl.ops.ingest.store import LOOKUP_BATCH

if TYPE_CHECKING:
    from artctl.repository.repo import Repository


@dataclass(frozen=True)
class WorktreeDiff:
    """From version ``name:version`` to ``directory``: what ``status`` and ``diff REF DIR`` show.

    ``added``: in the directory, not in the version; ``removed``: in the version, not in the
    directory; ``changed``: different content. ``hashed`` counts files read because the stat
    cache could not vouch for them (0 on a second look at an unchanged tree).
    """

    name: str
    version: str
    directory: Path
    added: list[str]
    removed: list[str]
    changed: list[str]
    unchanged: int
    hashed: int

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "directory": str(self.directory),
            "clean": self.empty,
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "hashed": self.hashed,
        }


def scan_directory(directory: str | os.PathLike[str]) -> list[SourceFile]:
    """The files of a working directory as ``put`` would take them (``.artctlignore`` honoured)."""
    if not os.path.isdir(directory):
        raise InvalidInput(
            f"{directory} is not a directory"
            if os.path.lexists(directory)
            else f"no such directory: {directory}"
        )
    return scan(directory)


def compare(repo: Repository, record: VersionRecord, directory: str | os.PathLike[str]) -> WorktreeDiff:
    """Compare ``record`` with the files under ``directory`` (see the module docstring)."""
    files = scan_directory(directory)
    state = repo.state
    root = Path(directory).resolve()
    signature = tree_signature(files)
    if signature is not None and state.tree_manifest(signature) == record.manifest:
        return WorktreeDiff(record.name, record.version, root, [], [], [], len(files), 0)
    result = diff_files(repo, record, files, root)
    if signature is not None and result.empty:
        state.remember_tree(signature, record.manifest)  # next time: no lookup at all
    return result


def diff_files(repo: Repository, record: VersionRecord, files: list[SourceFile], root: Path) -> WorktreeDiff:
    """:func:`compare` of ``record`` with already scanned ``files`` (sorted by path)."""
    added: list[str] = []
    removed: list[str] = []
    changed: list[str] = []
    unknown: list[tuple[SourceFile, Entry]] = []
    unchanged = 0
    for entry, file, cached in _pairs(repo.iter_entries(record), files, repo.state):
        if file is None:
            removed.append(entry.path)  # type: ignore[union-attr]
        elif entry is None:
            added.append(file.path)
        elif entry.size != file.size:
            changed.append(entry.path)
        elif entry.digest is None or cached == entry.digest:
            unchanged += 1  # a reference without a content digest: its size is all we know
        elif cached is not None:
            changed.append(entry.path)
        else:
            unknown.append((file, entry))
    for (_, entry), digest in zip(unknown, _hash_all(repo, [f for f, _ in unknown]), strict=True):
        if digest == entry.digest:
            unchanged += 1
        else:
            changed.append(entry.path)
    changed.sort()
    return WorktreeDiff(record.name, record.version, root, added, removed, changed, unchanged, len(unknown))


def _pairs(
    entries: Iterator[Entry], files: list[SourceFile], state: Any
) -> Iterator[tuple[Entry | None, SourceFile | None, str | None]]:
    """Merge two path-sorted streams into ``(entry, file, cached digest of file)`` triples."""
    index = 0
    cache: dict[str, tuple[int, int, int, int, str]] = {}
    loaded_to = 0

    def cached(f: SourceFile) -> str | None:
        nonlocal cache, loaded_to
        if index >= loaded_to:  # looked up a batch at a time, in scan order
            cache = state.cached_digests([x.local for x in files[index : index + LOOKUP_BATCH]])
            loaded_to = index + LOOKUP_BATCH
        hit = cache.get(f.local)
        return hit[4] if hit is not None and hit[:4] == (f.inode, f.size, f.mtime_ns, f.ctime_ns) else None

    entry = next(entries, None)
    while entry is not None or index < len(files):
        file = files[index] if index < len(files) else None
        if file is None or (entry is not None and entry.path < file.path):
            yield entry, None, None
            entry = next(entries, None)
        elif entry is None or file.path < entry.path:
            yield None, file, None
            index += 1
        else:
            yield entry, file, cached(file)
            entry = next(entries, None)
            index += 1


def _hash_all(repo: Repository, files: list[SourceFile]) -> list[str]:
    """Digests of ``files`` (read in parallel), remembered in the stat cache when not racy."""
    if not files:
        return []
    from concurrent.futures import ThreadPoolExecutor

    def one(f: SourceFile) -> str:
        try:
            return hash_file(f.local, f.size)
        except FileNotFoundError:
            return ""  # deleted since the scan: differs from every digest
        except PermissionError:
            raise InvalidInput(f"permission denied: {f.local}") from None

    with ThreadPoolExecutor(max_workers=min(repo.workers(), len(files))) as pool:
        digests = list(pool.map(one, files))
    limit = time.time_ns() - int(RACY_SECONDS * 1e9)
    repo.state.remember_digests(
        [
            (f.local, f.inode, f.size, f.mtime_ns, f.ctime_ns, d)
            for f, d in zip(files, digests, strict=True)
            if d and f.mtime_ns < limit
        ]
    )
    return digests
