"""Turning local files into manifest entries: scan, hash once, store, in one pass.

A stat cache (``state.db``) maps (path, inode, size, mtime, ctime) to a digest, so re-putting
an unchanged tree costs one ``stat`` per file. New or changed files go through a thread pool:
each file is read once, hashed and handed to the store (packed when small).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from artctl.base.crashpoints import crash_point, declare
from artctl.base.fsutil import DISK_FULL_HINT, disk_full_guard
from artctl.base.hashing import hash_bytes
from artctl.errors import ArtctlError, IntegrityError, InvalidInput
from artctl.format.ignore import SPECIAL_NAMES
from artctl.format.ignore import load as load_ignore
from artctl.format.manifest import Entry, validate_path, validate_segment
from artctl.repository.objects import PACK_THRESHOLD

if TYPE_CHECKING:
    from artctl.repository.objects import Store
    from artctl.repository.state import StateDB

AFTER_BLOBS = declare(
    "ingest.after-blobs",
    "every blob of the files durable (packs published), the stat cache not yet updated: "
    "unreferenced blobs; a re-run hashes the files again and stores nothing new",
)

#: A file modified this recently may change again within the same mtime tick: do not trust
#: the stat cache for it (git's "racily clean" rule).
RACY_SECONDS = 2.0

Progress = Callable[[int, int], None]  # (files done, bytes done) increments


class SourceFile(NamedTuple):
    """A local file to add: where it is and the path it gets inside the artifact.

    A named tuple, not a dataclass: a scan builds one per file, by the million, and a tuple is
    the cheapest object to build and to sort (by ``path``, its first field).
    """

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
    not descended into, so a link loop cannot make a scan run forever. A directory's
    ``.artctlignore`` (see :mod:`artctl.format.ignore`) leaves out what it matches, and itself.
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
        if not stat.S_ISREG(st.st_mode):  # a FIFO would block forever, /dev/zero never end
            raise InvalidInput(f"{local_path} is not a regular file or a directory")
        name = prefix or os.path.basename(root)
        return [SourceFile(validate_path(name), root, st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)]
    out: list[SourceFile] = []
    lstat = os.lstat  # on a path string: cheaper than DirEntry.stat() (no per-entry cache)
    ignore = load_ignore(root)
    skip = len(prefix) + 1 if prefix else 0  # logical path → path relative to root (for ignore)
    stack = [(root, prefix or "")]
    while stack:
        directory, logical_dir = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except PermissionError:
            raise InvalidInput(f"permission denied: {directory}") from None
        for entry in entries:
            name = entry.name
            validate_segment(name)
            logical = f"{logical_dir}/{name}" if logical_dir else name
            if ignore.spec is not None or name in SPECIAL_NAMES:
                relative = logical[skip:]
                if (
                    ignore.directory(relative, entry.path)
                    if entry.is_dir(follow_symlinks=False)
                    else ignore.file(relative)
                ):
                    continue
            if entry.is_file(follow_symlinks=False):  # the common case: one lstat, no more
                local = entry.path
                try:
                    st = lstat(local)
                except FileNotFoundError:
                    continue  # deleted since the directory was listed
                out.append(SourceFile(logical, local, st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns))
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, logical))
                    continue
                if entry.is_symlink() and entry.is_dir():
                    continue
                if not entry.is_file():
                    if entry.is_symlink():
                        raise InvalidInput(f"broken symbolic link: {entry.path}")
                    continue  # sockets, FIFOs, devices: not data
                st = entry.stat()
            except FileNotFoundError:
                if entry.is_symlink():
                    raise InvalidInput(f"broken symbolic link: {entry.path}") from None
                continue
            out.append(SourceFile(logical, entry.path, st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns))
    out.sort()  # by path: the first field, unique within one scan
    return out


def tree_signature(files: list[SourceFile]) -> str | None:
    """One digest of every file's path and stat, or None if any file is too recent to trust.

    Equal signatures mean the same files with the same stat as when a manifest was made, so
    an unchanged re-put can reuse that manifest after one ``stat`` per file.
    """
    from artctl.base.hashing import new_hasher

    limit = time.time_ns() - int(RACY_SECONDS * 1e9)
    hasher = new_hasher()
    lines: list[str] = []
    for f in files:
        if f.mtime_ns > limit or f.ctime_ns > limit:
            return None
        lines.append(f"{f.path}\0{f.local}\0{f.inode}\0{f.size}\0{f.mtime_ns}\0{f.ctime_ns}\n")
        if len(lines) >= 8192:  # hashed in pieces: a million files never make one huge string
            hasher.update("".join(lines).encode("utf-8", "surrogateescape"))
            lines.clear()
    hasher.update("".join(lines).encode("utf-8", "surrogateescape"))
    return hasher.hexdigest()


def default_workers() -> int:
    return max(2, min(16, (os.cpu_count() or 2) * 2))


def ingest(
    files: Iterable[SourceFile],
    store: Store,
    state: StateDB,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[Entry]:
    """Store every file's bytes (skipping unchanged ones via the stat cache); return entries."""
    files = list(files)
    now_ns = time.time_ns()
    known: dict[str, str] = {}
    for start in range(0, len(files), LOOKUP_BATCH):  # bounded lookups: no million-row dict
        part = files[start : start + LOOKUP_BATCH]
        cached = state.cached_digests([f.local for f in part])
        for f in part:
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
    small = [f for f in todo if f.size < SMALL_FILE]
    large = [f for f in todo if f.size >= SMALL_FILE]
    if todo:
        with store.writing():
            for batch, read, stored in _read_batches(small, store, workers):
                if stored is not None:  # read, hashed and packed by the helper process
                    _collect(
                        ((f, digest, f.size) for f, digest in zip(batch, stored, strict=True)),
                        entries,
                        remember,
                        now_ns,
                        progress,
                        state,
                    )
                    continue
                store.put_small_batch([(digest, data) for _, digest, data in read])
                _collect(
                    ((f, digest, len(data)) for f, digest, data in read),
                    entries,
                    remember,
                    now_ns,
                    progress,
                    state,
                )
            if large:
                pool_size = min(workers or default_workers(), len(large))
                if pool_size <= 1:
                    _collect(
                        map(lambda f: _put_large(store, f), large), entries, remember, now_ns, progress, state
                    )
                else:
                    from concurrent.futures import ThreadPoolExecutor

                    with ThreadPoolExecutor(max_workers=pool_size) as pool:
                        _collect(
                            pool.map(lambda f: _put_large(store, f), large),
                            entries,
                            remember,
                            now_ns,
                            progress,
                            state,
                        )
        crash_point(AFTER_BLOBS)
        state.remember_digests(remember)
    return [entries[f.path] for f in files]


#: Files whose stat-cache rows are looked up, or written, at once.
LOOKUP_BATCH = 5000
REMEMBER_BATCH = 50_000


#: Files below this size are read whole and packed; the rest are stored loose.
SMALL_FILE = PACK_THRESHOLD
#: Small files handled per index query and per progress update, and the most bytes read into
#: memory at once: memory stays bounded whatever the number and size of files.
BATCH = 1000
BATCH_BYTES = 16 * 1024 * 1024


def _read_batch(batch: list[SourceFile]) -> list[tuple[SourceFile, str, bytes]]:
    return [(f, *_read_small(f)) for f in batch]


def _read_batches(
    small: list[SourceFile], store: Store, workers: int | None
) -> Iterator[tuple[list[SourceFile], list[tuple[SourceFile, str, bytes]], list[str] | None]]:
    """``(batch, files read, None)`` for the batches to pack here, ``(batch, [], digests)`` for
    those a helper process stored (many small files on a machine with a core to spare)."""
    from artctl.ops.ingest_helper import MIN_FILES, share

    batches = _batches(small)
    if len(small) < MIN_FILES or min(workers or default_workers(), os.cpu_count() or 1) < 2:
        return ((batch, _read_batch(batch), None) for batch in batches)
    return share(list(batches), store.root, _read_batch, store.note_created_pack)


def _batches(files: list[SourceFile]) -> Iterator[list[SourceFile]]:
    """Consecutive groups of at most BATCH files and about BATCH_BYTES bytes."""
    batch: list[SourceFile] = []
    size = 0
    for f in files:
        if batch and (len(batch) >= BATCH or size + f.size > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(f)
        size += f.size
    if batch:
        yield batch


def _os_error(f: SourceFile, exc: OSError) -> ArtctlError:
    if isinstance(exc, FileNotFoundError):
        return InvalidInput(f"file disappeared while adding it: {f.local}")
    if isinstance(exc, PermissionError):
        return InvalidInput(f"permission denied: {f.local}")
    if disk_full_guard(exc) is not None:  # the store's disk is full, not the source's
        return ArtctlError(
            f"no space left on device for the repository while storing {f.local}", hint=DISK_FULL_HINT
        )
    return ArtctlError(f"cannot read {f.local}: {exc.strerror or exc}")


def _read_small(f: SourceFile) -> tuple[str, bytes]:
    """Read a small file in one call and hash it; refuse it if it changed since the scan."""
    try:
        fd = os.open(f.local, os.O_RDONLY)
        try:
            data = os.read(fd, f.size + 1)
            st = os.fstat(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise _os_error(f, exc) from None
    if len(data) != f.size or st.st_size != f.size or st.st_mtime_ns != f.mtime_ns:
        raise IntegrityError(
            f"{f.local} changed while it was being stored; nothing was recorded",
            hint="retry once the file is no longer being written",
        )
    return hash_bytes(data), data


def _put_large(store: Store, f: SourceFile) -> tuple[SourceFile, str, int]:
    try:
        digest, size = store.put_file(Path(f.local), f.size)
    except OSError as exc:
        if isinstance(exc, ArtctlError):
            raise
        raise _os_error(f, exc) from None
    return f, digest, size


def _collect(
    results: Iterable[tuple[SourceFile, str, int]],
    entries: dict[str, Entry],
    remember: list[tuple[str, int, int, int, int, str]],
    now_ns: int,
    progress: Progress | None,
    state: StateDB,
) -> None:
    for f, digest, size in results:
        entries[f.path] = Entry(f.path, digest, size)
        if now_ns - f.mtime_ns > RACY_SECONDS * 1e9:
            remember.append((f.local, f.inode, f.size, f.mtime_ns, f.ctime_ns, digest))
        if progress:
            progress(1, size)
    if len(remember) >= REMEMBER_BATCH:  # written as we go: memory stays flat for huge trees
        state.remember_digests(remember)
        remember.clear()
