"""Capturing files when they are added to an ``Artifact`` (W&B's default ``policy="mutable"``).

W&B copies a "mutable" file to a staging area when it is added, so a change made to the file
before the artifact is logged does not change what is logged. Here the bytes are captured into
the repository's store instead, in the one pass ``put`` makes: a large file is hashed while it is
copied into a loose object; small files are read and hashed at once and held in memory until they
fill a pack (``BATCH_BYTES``), so that a thousand ``add_file`` calls make one pack, not a
thousand (a directory of thousands of small files takes ``put``'s parallel ingest instead).
Logging then reads nothing again: :meth:`Capture.secure` publishes the blobs still in memory
and checks that the stored ones are still there.

Nothing names a captured object until its version is committed: an artifact that is never logged
leaves unreferenced objects, which gc removes after its grace period like those of a killed
``put``. If gc removed them before the artifact was logged, the source file is stored again when
it still holds the captured bytes; otherwise logging fails — it never logs different bytes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from artctl.base.locks import shared_use, writing
from artctl.errors import ArtctlError, SourceChanged
from artctl.format.manifest import Entry
from artctl.ops.gc_discard import discard_on_failure
from artctl.ops.ingest.helper import MIN_FILES
from artctl.ops.ingest.read import BATCH_BYTES, SMALL_FILE, put_large, read_batch, small_batches
from artctl.ops.ingest.scan import SourceFile
from artctl.ops.ingest.store import collect_stored, ingest

if TYPE_CHECKING:
    from artctl.repository.repo import Repository


class Capture:
    """The bytes of the files added to one artifact, taken when they were added."""

    def __init__(self, repository: Repository) -> None:
        self.repository = repository
        self._pending: dict[str, bytes] = {}  # small blobs not yet packed: digest -> bytes
        self._pending_bytes = 0

    def add(self, files: Sequence[SourceFile]) -> list[Entry]:
        """Read, hash and keep every file's bytes now; their entries, in the order of ``files``.

        A file the stat cache knows unchanged, whose blob is kept already, is not read again.
        """
        repo = self.repository
        with (
            discard_on_failure(repo),
            shared_use(repo.locks_dir),
            writing(repo.locks_dir, tmp_dir=repo.tmp_dir),
        ):
            return self.add_held(files)

    def add_held(self, files: Sequence[SourceFile]) -> list[Entry]:
        """:meth:`add`, for a caller that holds the cache lock and the gc guard (a commit)."""
        repo = self.repository
        entries: dict[str, Entry] = {}
        remember: list[tuple[str, int, int, int, int, str]] = []
        now_ns = time.time_ns()
        todo = self._known(files, entries)
        if sum(f.size < SMALL_FILE for f in todo) >= MIN_FILES:  # a big tree: put's parallel path
            for entry in ingest(todo, repo.store, repo.state, workers=repo.workers()):
                entries[entry.path] = entry
            return [entries[f.path] for f in files]
        large = [f for f in todo if f.size >= SMALL_FILE]
        if large:
            collect_stored(self._store_large(large), entries, remember, now_ns, None, repo.state)
        for batch in small_batches([f for f in todo if f.size < SMALL_FILE]):
            read = read_batch(batch)
            for _, digest, data in read:
                if digest not in self._pending:
                    self._pending[digest] = data
                    self._pending_bytes += len(data)
            collect_stored(
                ((f, d, len(data)) for f, d, data in read), entries, remember, now_ns, None, repo.state
            )
            if self._pending_bytes >= BATCH_BYTES:
                self._flush(repo)
        repo.state.remember_digests(remember)
        return [entries[f.path] for f in files]

    def _known(self, files: Sequence[SourceFile], entries: dict[str, Entry]) -> list[SourceFile]:
        """Fill ``entries`` with the files the stat cache knows and whose blob is kept; the rest."""
        repo = self.repository
        cached = repo.state.cached_digests([f.local for f in files])
        known = {
            f.local: hit[4]
            for f in files
            if (hit := cached.get(f.local)) is not None
            and hit[:4] == (f.inode, f.size, f.mtime_ns, f.ctime_ns)
        }
        kept = repo.store.has_many(set(known.values())) | (set(known.values()) & set(self._pending))
        todo = []
        for f in files:
            digest = known.get(f.local)
            if digest is not None and digest in kept:
                entries[f.path] = Entry(f.path, digest, f.size)
            else:
                todo.append(f)
        return todo

    def _store_large(self, large: list[SourceFile]) -> Iterator[tuple[SourceFile, str, int]]:
        store = self.repository.store
        if len(large) == 1:
            return iter([put_large(store, large[0])])
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(self.repository.workers(), len(large))) as pool:
            return iter(list(pool.map(lambda f: put_large(store, f), large)))

    def _flush(self, repository: Repository) -> None:
        """Pack the small blobs held in memory into ``repository``'s store (under the gc guard)."""
        if self._pending:
            with repository.store.writing():
                repository.store.put_small_batch(sorted(self._pending.items()))
        self._pending.clear()
        self._pending_bytes = 0

    def secure(self, target: Repository, captured: Sequence[tuple[Entry, SourceFile]]) -> None:
        """Make every captured blob of ``captured`` present in ``target``'s store, before the
        version that names them is committed (the caller holds the gc guard).

        A blob gc removed meanwhile (or one captured into another repository) is stored again
        from the source file only if that still holds the same bytes; else ``SourceChanged``.
        """
        wanted = {e.digest: f for e, f in captured if e.digest is not None}
        keep = {d: data for d, data in self._pending.items() if d in wanted}
        self._pending = keep
        self._flush(target)
        missing = set(wanted) - target.store.has_many(wanted)
        for digest in sorted(missing):
            self._restore(target, digest, wanted[digest])

    def _restore(self, target: Repository, digest: str, source: SourceFile) -> None:
        home = self.repository.store
        if home.root != target.store.root and home.has(digest):
            loose = home.object_path(digest)
            if loose.exists():
                target.store.put_file(loose, digest=digest)
            else:
                target.store.put_bytes(home.read_bytes(digest), digest)
            return
        try:
            got, _ = target.store.put_file(Path(source.local))
        except (OSError, ArtctlError):
            got = None
        if got != digest:
            raise SourceChanged(
                f"{source.local} changed (or went) after it was added to the artifact, and the copy "
                "taken when it was added is gone: gc removed it, as the artifact was not logged "
                "within gc's grace period",
                hint="add the file again (add_file/add_dir), then log the artifact",
            )
