"""The download cache: objects in the local store that have another copy elsewhere.

An object fetched from a remote (``remote_copies`` in state.db, filled by push/pull) or from a
reference (``ref_objects``) can be deleted and fetched again; everything else is the only copy
and is *pinned*. ``cache cleanup SIZE`` evicts least-recently-used evictable objects until the
evictable bytes fit in SIZE. Design: ``docs/cache.md``.
"""

from __future__ import annotations

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


__all__ = ["cache_exclusive", "db", "record_get", "shared_use"]
