"""The user cache's bookkeeping, ``cache.db`` (SQLite) beside the cached files.

Three tables: ``origins`` (where each cached file came from: remote URL, remote file, size —
what eviction re-confirms before it deletes), ``refs`` (which reference states were fetched:
:func:`artctl.references.state_key` → digest) and ``repos`` (which repositories use the cache:
eviction asks them whether they hold a copy). One connection per cache object, shared by the
threads of one ``get``. The files themselves are :mod:`artctl.repository.user_cache`'s.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artctl.base.sqlite import connect_shared

_SCHEMA = """
CREATE TABLE IF NOT EXISTS origins (unit TEXT NOT NULL, url TEXT NOT NULL, file TEXT NOT NULL,
    size INTEGER NOT NULL, PRIMARY KEY (unit, url, file));
CREATE TABLE IF NOT EXISTS refs (key TEXT PRIMARY KEY, digest TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS repos (root TEXT PRIMARY KEY, last_seen REAL NOT NULL);
"""


@dataclass(frozen=True)
class Origin:
    """A remote file the cached bytes were downloaded from and verified against: ``file`` at
    ``url`` had ``size`` bytes (a pack: its ``.idx`` beside it counts too)."""

    url: str
    file: str
    size: int


class CacheBook:
    """``cache.db`` of one user cache; mixed into :class:`~artctl.repository.user_cache.UserCache`,
    which provides ``root`` and ``_prepare()`` (creating the directory on first use)."""

    root: Path

    if TYPE_CHECKING:

        def _prepare(self) -> None: ...

    def _init_book(self) -> None:
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._registered: set[Path] = set()

    def _sql(self, sql: str, rows: Iterable[tuple[object, ...]] = ((),)) -> list[tuple[Any, ...]]:
        """Run ``sql`` once per parameter row (one transaction); return the last run's rows.
        One connection per cache object, shared by the threads of one ``get`` (serialized)."""
        with self._lock:
            if self._conn is None:
                self._prepare()
                self._conn = connect_shared(self.root / "cache.db", lambda conn: conn.executescript(_SCHEMA))
            out: list[tuple[Any, ...]] = []
            with self._conn:
                for params in rows:
                    out = self._conn.execute(sql, params).fetchall()
            return out

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def register(self, repo_root: Path) -> None:
        """Remember that the repository at ``repo_root`` uses the cache (its store may hold a
        copy of what the cache holds: eviction asks it). Written once per cache object."""
        if repo_root in self._registered:
            return
        self._sql(
            "INSERT INTO repos VALUES (?,?) ON CONFLICT(root) DO UPDATE SET last_seen=excluded.last_seen",
            [(str(repo_root), time.time())],
        )
        self._registered.add(repo_root)

    def repositories(self) -> list[Path]:
        return [Path(r[0]) for r in self._sql("SELECT root FROM repos ORDER BY root")]

    def forget_repository(self, repo_root: Path) -> None:
        self._sql("DELETE FROM repos WHERE root=?", [(str(repo_root),)])

    def add_origin(self, unit: str, origin: Origin) -> None:
        self._sql(
            "INSERT OR REPLACE INTO origins VALUES (?,?,?,?)", [(unit, origin.url, origin.file, origin.size)]
        )

    def origins(self, units: Iterable[str]) -> dict[str, list[Origin]]:
        out: dict[str, list[Origin]] = {}
        for unit in units:
            for url, file, size in self._sql("SELECT url, file, size FROM origins WHERE unit=?", [(unit,)]):
                out.setdefault(unit, []).append(Origin(url, file, size))
        return out

    def forget_origin(self, unit: str, origin: Origin) -> None:
        """A remote no longer holds that file (re-confirmation disproved it)."""
        self._sql("DELETE FROM origins WHERE unit=? AND url=? AND file=?", [(unit, origin.url, origin.file)])

    def add_ref(self, key: str, digest: str) -> None:
        """The reference state ``key`` was fetched, verified, and is the blob ``digest``."""
        self._sql("INSERT OR REPLACE INTO refs VALUES (?,?)", [(key, digest)])

    def ref_digest(self, key: str) -> str | None:
        rows = self._sql("SELECT digest FROM refs WHERE key=?", [(key,)])
        return rows[0][0] if rows else None

    def reference_backed(self, digests: Iterable[str]) -> set[str]:
        """Which of ``digests`` were fetched from a reference (that reference is their copy)."""
        return {d for d in digests if self._sql("SELECT 1 FROM refs WHERE digest=? LIMIT 1", [(d,)])}

    def _forget(self, unit: str, blobs: Iterable[str]) -> None:
        self._sql("DELETE FROM origins WHERE unit=?", [(unit,)])
        self._sql("DELETE FROM refs WHERE digest=?", [(d,) for d in blobs])
