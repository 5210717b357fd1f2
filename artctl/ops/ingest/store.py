"""``ingest``: turn scanned files into manifest entries, storing each file's bytes once.

A stat cache (``state.db``) maps (path, inode, size, mtime, ctime) to a digest, so re-putting
an unchanged tree costs one ``stat`` per file. New or changed files go through a thread pool (or,
for many small files, a second process: ``helper.py``): each file is read once, hashed and
handed to the store (packed when small).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from artctl.base.crashpoints import crash_point, declare
from artctl.format.manifest import Entry

if TYPE_CHECKING:
    from artctl.repository.objects import Store
from artctl.ops.ingest.helper import MIN_FILES, share
from artctl.ops.ingest.read import SMALL_FILE, put_large, read_batch, small_batches
from artctl.ops.ingest.scan import RACY_SECONDS, SourceFile
from artctl.repository.settings import default_workers
from artctl.repository.state import StateDB

AFTER_BLOBS = declare(
    "ingest.after-blobs",
    "every blob of the files durable (packs published), the stat cache not yet updated: "
    "unreferenced blobs; a re-run hashes the files again and stores nothing new",
)


Progress = Callable[[int, int], None]  # (files done, bytes done) increments

#: Files whose stat-cache rows are looked up, or written, at once.
LOOKUP_BATCH = 5000

REMEMBER_BATCH = 50_000


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
                    collect_stored(
                        ((f, digest, f.size) for f, digest in zip(batch, stored, strict=True)),
                        entries,
                        remember,
                        now_ns,
                        progress,
                        state,
                    )
                    continue
                store.put_small_batch([(digest, data) for _, digest, data in read])
                collect_stored(
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
                    collect_stored(
                        map(lambda f: put_large(store, f), large), entries, remember, now_ns, progress, state
                    )
                else:
                    from concurrent.futures import ThreadPoolExecutor

                    with ThreadPoolExecutor(max_workers=pool_size) as pool:
                        collect_stored(
                            pool.map(lambda f: put_large(store, f), large),
                            entries,
                            remember,
                            now_ns,
                            progress,
                            state,
                        )
        crash_point(AFTER_BLOBS)
        state.remember_digests(remember)
    return [entries[f.path] for f in files]


def _read_batches(
    small: list[SourceFile], store: Store, workers: int | None
) -> Iterator[tuple[list[SourceFile], list[tuple[SourceFile, str, bytes]], list[str] | None]]:
    """``(batch, files read, None)`` for the batches to pack here, ``(batch, [], digests)`` for
    those a helper process stored (many small files on a machine with a core to spare)."""
    batches = small_batches(small)
    if len(small) < MIN_FILES or min(workers or default_workers(), os.cpu_count() or 1) < 2:
        return ((batch, read_batch(batch), None) for batch in batches)
    return share(list(batches), store.root, read_batch, store.note_created_pack)


def collect_stored(
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
