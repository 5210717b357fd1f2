"""The download cache: objects in the local store that have another copy elsewhere.

An object fetched from a remote (``remote_copies`` in state.db, filled by push/pull) or from a
reference (``ref_objects``) can be deleted and fetched again; everything else is the only copy
and is *pinned*. ``cache cleanup SIZE`` evicts least-recently-used evictable objects until the
evictable bytes fit in SIZE. Design: ``docs/cache.md``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from artctl.base.locks import cache_exclusive, shared_use
from artctl.repository import cache_state as db

if TYPE_CHECKING:
    from artctl.format.manifest import Entry
    from artctl.repository.repo import Repository


def record_get(repository: Repository, entries: Iterable[Entry]) -> None:
    """After a ``get``: mark the objects of ``entries`` as just used (one batched write).

    Reference entries without a digest are resolved through the fetched-bytes map.
    """
    import sqlite3

    from artctl.references import is_checked, state_key

    entries = list(entries)
    digests = [e.digest for e in entries if e.digest is not None]
    keys = [state_key(e) for e in entries if e.digest is None and is_checked(e)]
    try:
        if keys:
            digests.extend(db.ref_objects(repository.state, keys).values())
        db.record_use(repository.state, digests)
    except sqlite3.OperationalError:
        # Best effort: the files are written; a missed timestamp only makes these objects look
        # older to the next cleanup (they are re-fetched if evicted), never loses data.
        pass


class UseLog:
    """Blobs read, for ``cache cleanup``'s least-recently-used order: written in batches (one
    transaction per :data:`BATCH` files or :data:`EVERY` seconds, and at :meth:`flush`), so
    reading 20,000 small files through ``artctl://`` does not cost 20,000 database writes."""

    BATCH = 1000
    EVERY = 5.0

    def __init__(self, local: Repository | None) -> None:
        self.local = local
        self.pending: dict[str, Entry] = {}
        self.seen: set[str] = set()
        self.last = time.monotonic()
        self.lock = threading.Lock()

    def add(self, entry: Entry) -> None:
        """Note one read entry (once); write the batch when it is due."""
        with self.lock:
            if entry.digest in self.seen:
                return
            self.seen.add(entry.digest)  # type: ignore[arg-type]
            self.pending[entry.digest] = entry  # type: ignore[index]
            due = len(self.pending) >= self.BATCH or time.monotonic() - self.last > self.EVERY
        if due:
            self.flush()

    def flush(self) -> None:
        """Write what is pending (the reader calls it when it goes away)."""
        with self.lock:
            entries, self.pending = list(self.pending.values()), {}
            self.last = time.monotonic()
        if entries and self.local is not None:
            record_get(self.local, entries)


__all__ = ["UseLog", "cache_exclusive", "db", "record_get", "shared_use"]
