"""The cache's bookkeeping in ``state.db``: last use of each object, and reference-fetched bytes.

* ``object_use(digest, last_used)`` — when a ``get`` last materialized the object (Unix time).
  Written once per ``get`` in one batched statement, never per file.
* ``ref_objects(key, digest)`` — the bytes of a reference in a recorded state (``key`` =
  :func:`artctl.references.state_key`) are the local object ``digest``. It lets a later ``get``
  reuse them, and marks the object as having another copy (the reference), hence evictable.

The tables are part of ``state.db``'s one schema (:data:`artctl.repository.state.SCHEMA`). Like
the rest of ``state.db`` this is a cache: if it is lost, objects count as pinned (never
evicted) and references are fetched again — safe, only slower.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from artctl.repository.state import StateDB


def record_use(state: StateDB, digests: Iterable[str], when: float | None = None) -> None:
    """Mark objects as used now (one transaction for the whole batch)."""
    rows = [(d, when if when is not None else time.time()) for d in set(digests)]
    if not rows:
        return
    with state.transaction() as conn:
        conn.executemany(
            "INSERT INTO object_use VALUES (?,?) ON CONFLICT(digest) "
            "DO UPDATE SET last_used=max(last_used, excluded.last_used)",
            rows,
        )


def last_used(state: StateDB, digests: Iterable[str]) -> dict[str, float]:
    return dict(
        state.select_in("SELECT digest, last_used FROM object_use WHERE digest IN ({marks})", digests)
    )


def forget_use(state: StateDB, digests: Iterable[str]) -> None:
    items = list(digests)
    if not items:
        return
    with state.transaction() as conn:
        conn.executemany("DELETE FROM object_use WHERE digest=?", [(d,) for d in items])


def record_ref_object(state: StateDB, key: str, digest: str) -> None:
    """The reference state ``key`` was fetched and stored as object ``digest``."""
    with state.transaction() as conn:
        conn.execute("INSERT OR REPLACE INTO ref_objects VALUES (?,?)", (key, digest))


def ref_objects(state: StateDB, keys: Iterable[str]) -> dict[str, str]:
    """``key → digest`` for the reference states whose bytes were fetched before."""
    return dict(state.select_in("SELECT key, digest FROM ref_objects WHERE key IN ({marks})", keys))


def reference_backed(state: StateDB, digests: Iterable[str]) -> set[str]:
    """The subset of ``digests`` that were fetched from a reference (the reference is a copy)."""
    return {
        r[0]
        for r in state.select_in("SELECT DISTINCT digest FROM ref_objects WHERE digest IN ({marks})", digests)
    }
