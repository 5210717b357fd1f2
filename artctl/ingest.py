"""Turning local files into manifest entries: scan, hash once, store, in one pass.

A stat cache (``state.db``) maps (path, inode, size, mtime, ctime) to a digest, so re-putting
an unchanged tree costs one ``stat`` per file. New or changed files go through a thread pool:
each file is read once, hashed and handed to the store (packed when small).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ArtctlError, InvalidInput
from .fsutil import disk_full_guard
from .manifest import Entry, validate_path

if TYPE_CHECKING:
    from .store import Store
    from .store.index import StateDB

#: A file modified this recently may change again within the same mtime tick: do not trust
#: the stat cache for it (git's "racily clean" rule).
RACY_SECONDS = 2.0

Progress = Callable[[int, int], None]  # (files done, bytes done) increments


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A local file to add: where it is and the path it gets inside the artifact."""

    path: str  # path inside the artifact
    local: str  # absolute local path
    size: int
    inode: int
    mtime_ns: int
    ctime_ns: int


def _stat_file(local: str, logical: str) -> SourceFile:
    st = os.stat(local)
    return SourceFile(logical, local, st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)


def scan(local_path: str | os.PathLike[str], prefix: str | None = None) -> list[SourceFile]:
    """Every regular file under ``local_path`` (or the file itself) with its artifact path.

    Symbolic links to files are followed (their content is stored); links to directories are
    not descended into, so a link loop cannot make a scan run forever.
    """
    root = os.path.abspath(os.fspath(local_path))
    if prefix is not None:
        prefix = prefix.strip("/")
        if prefix:
            validate_path(prefix)
    try:
        st = os.stat(root)
    except FileNotFoundError:
        raise InvalidInput(f"no such file or directory: {local_path}") from None
    except PermissionError:
        raise InvalidInput(f"permission denied: {local_path}") from None
    if not os.path.isdir(root):
        name = prefix or os.path.basename(root)
        return [SourceFile(validate_path(name), root, st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)]
    out: list[SourceFile] = []
    stack = [(root, prefix or "")]
    while stack:
        directory, logical_dir = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except PermissionError:
            raise InvalidInput(f"permission denied: {directory}") from None
        for entry in entries:
            logical = f"{logical_dir}/{entry.name}" if logical_dir else entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, logical))
                    continue
                if entry.is_symlink() and entry.is_dir():
                    continue
                if not entry.is_file():
                    continue
                st = entry.stat()
            except FileNotFoundError:
                if entry.is_symlink():
                    raise InvalidInput(f"broken symbolic link: {entry.path}") from None
                continue
            out.append(SourceFile(validate_path(logical), entry.path, st.st_size, st.st_ino,
                                  st.st_mtime_ns, st.st_ctime_ns))
    out.sort(key=lambda f: f.path)
    return out


def default_workers() -> int:
    return max(2, min(16, (os.cpu_count() or 2) * 2))


def ingest(files: Iterable[SourceFile], store: "Store", state: "StateDB", *,
           workers: int | None = None, progress: Progress | None = None) -> list[Entry]:
    """Store every file's bytes (skipping unchanged ones via the stat cache); return entries."""
    files = list(files)
    cached = state.cached_digests([f.local for f in files])
    now_ns = time.time_ns()
    known: dict[str, str] = {}
    for f in files:
        hit = cached.get(f.local)
        if hit and hit[:4] == (f.inode, f.size, f.mtime_ns, f.ctime_ns):
            known[f.local] = hit[4]
    present = store.has_many(set(known.values())) if known else set()
    entries: dict[str, Entry] = {}
    todo: list[SourceFile] = []
    for f in files:
        digest = known.get(f.local)
        if digest is not None and digest in present:
            entries[f.path] = Entry(f.path, digest, f.size)
            if progress:
                progress(1, f.size)
        else:
            todo.append(f)
    remember: list[tuple[str, int, int, int, int, str]] = []

    def one(f: SourceFile) -> tuple[SourceFile, str, int]:
        try:
            digest, size = store.put_file(Path(f.local), f.size)
        except FileNotFoundError:
            raise InvalidInput(f"file disappeared while adding it: {f.local}") from None
        except PermissionError:
            raise InvalidInput(f"permission denied: {f.local}") from None
        except OSError as exc:
            full = disk_full_guard(exc)
            if full:
                raise full from None
            raise ArtctlError(f"cannot read {f.local}: {exc.strerror or exc}") from None
        return f, digest, size

    if todo:
        with store.writing():
            if len(todo) == 1 or (workers or 2) <= 1:
                results = map(one, todo)
                _collect(results, entries, remember, now_ns, progress)
            else:
                with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
                    _collect(pool.map(one, todo), entries, remember, now_ns, progress)
        state.remember_digests(remember)
    return [entries[f.path] for f in files]


def _collect(results: Iterable[tuple[SourceFile, str, int]], entries: dict[str, Entry],
             remember: list[tuple[str, int, int, int, int, str]], now_ns: int,
             progress: Progress | None) -> None:
    for f, digest, size in results:
        entries[f.path] = Entry(f.path, digest, size)
        if now_ns - f.mtime_ns > RACY_SECONDS * 1e9:
            remember.append((f.local, f.inode, f.size, f.mtime_ns, f.ctime_ns, digest))
        if progress:
            progress(1, size)
