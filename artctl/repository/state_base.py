"""The connection to ``state.db`` (SQLite) and its one schema: opening it in WAL mode, creating
the tables, setting a damaged file aside, standing in for it in memory on a full disk, and the
transaction and error helpers every table's accessors share (see :mod:`artctl.repository.state`).
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from artctl.base.sqlite import connect_shared
from artctl.errors import ArtctlError

SCHEMA = """
CREATE TABLE IF NOT EXISTS pack_blobs (
    digest TEXT PRIMARY KEY, pack TEXT NOT NULL, offset INTEGER NOT NULL, length INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pack_blobs_pack ON pack_blobs(pack);
CREATE TABLE IF NOT EXISTS packs (id TEXT PRIMARY KEY, blobs INTEGER NOT NULL, size INTEGER NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS remote_files (
    digest TEXT NOT NULL, remote TEXT NOT NULL, file TEXT NOT NULL, size INTEGER NOT NULL,
    PRIMARY KEY (digest, remote, file)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS remote_listed (
    digest TEXT NOT NULL, remote TEXT NOT NULL, PRIMARY KEY (digest, remote)
) WITHOUT ROWID;
DROP TABLE IF EXISTS remote_copies;
CREATE TABLE IF NOT EXISTS tree_cache (signature TEXT PRIMARY KEY, manifest TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS workdirs (
    path TEXT PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL, manifest TEXT NOT NULL,
    at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tree_placement (
    manifest TEXT PRIMARY KEY, packs TEXT NOT NULL, loose TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stat_cache (
    path TEXT PRIMARY KEY, inode INTEGER, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER,
    digest TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS object_use (digest TEXT PRIMARY KEY, last_used REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ref_objects (key TEXT PRIMARY KEY, digest TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ref_objects_digest ON ref_objects(digest);
"""
"""Every table of ``state.db``, in one place (the cache's ``object_use``/``ref_objects`` too).
Created when a connection opens, so no caller ever finds a table missing."""

SCHEMA_VERSION = 3
"""``PRAGMA user_version`` of a ``state.db`` whose tables match :data:`SCHEMA`. Bump it with
every change to SCHEMA; a file stamped with an older number gets the missing tables added."""


class StateBase:
    """A per-process connection to ``state.db`` (never pushed; safe to delete)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._memory: sqlite3.Connection | None = None  # the stand-in on a full disk
        self._memory_lock = threading.Lock()
        self._opened: list[tuple[threading.Thread, sqlite3.Connection]] = []  # for close()

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                conn = self._connect()
            except sqlite3.DatabaseError as exc:
                if _no_space(exc):
                    # The disk is full (SQLite cannot even create its -wal/-shm files). This is
                    # a cache of files that are the truth: reads (a `get` to another disk) go on
                    # with one rebuilt in memory from packs/*.idx, and what would have been
                    # remembered (stat cache, LRU times) is lost, which only costs time later.
                    conn = self._in_memory()
                    self._local.conn = conn
                    return conn
                if not _unreadable(exc):
                    raise state_error(self.path, exc) from None
                # Only a cache (rebuilt from packs/*.idx): a damaged file is set aside, not fatal.
                self._set_aside()
                try:
                    conn = self._connect()
                except sqlite3.DatabaseError as again:
                    raise state_error(self.path, again) from None
            self._local.conn = conn
            self._remember(conn)
        return conn

    def create(self) -> None:
        """Open the database now, creating it if it is missing (``conn`` does it on first use)."""
        self.conn.execute("SELECT 1")

    def _remember(self, conn: sqlite3.Connection) -> None:
        """Keep this thread's new connection for :meth:`close`, and close those of threads that
        have ended: nothing can use them any more, and dropped they would stay open until a
        garbage collection (a connection is in a reference cycle with its statement cache)."""
        with self._memory_lock:
            kept = []
            for thread, old in self._opened:
                if thread.is_alive():
                    kept.append((thread, old))
                else:
                    old.close()
            kept.append((threading.current_thread(), conn))
            self._opened = kept

    def _connect(self) -> sqlite3.Connection:
        """Open (WAL, retrying while another process switches a fresh file to it) and create
        the schema (``artctl.base.sqlite``)."""

        def prepare(conn: sqlite3.Connection) -> None:
            # A cache of files that are the truth (pack indexes, stats): durability of the last
            # transaction is not needed, and a crash of the process never corrupts a WAL database.
            conn.execute("PRAGMA synchronous=OFF")
            if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                # BEGIN IMMEDIATE takes the write lock up front (waiting politely), so two
                # processes creating the tables at once cannot fail on a lock upgrade.
                conn.executescript(f"BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")

        # Each connection serves one thread; close() may run on another once they are done.
        return connect_shared(self.path, prepare, autocommit=True)

    @property
    def in_memory(self) -> bool:
        """True when ``state.db`` could not be opened (a full disk) and a stand-in in memory
        serves: fine for reads, but what it remembered (which blobs have remote copies) is gone."""
        return self.conn is self._memory

    def _in_memory(self) -> sqlite3.Connection:
        """One in-memory database shared by this object's threads (each must see the same)."""
        with self._memory_lock:
            if self._memory is None:
                self._memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
                self._memory.executescript(SCHEMA)
            return self._memory

    def _set_aside(self) -> None:
        """Move a damaged ``state.db`` to ``state.db.corrupt`` (kept for a post-mortem)."""
        import os

        with contextlib.suppress(OSError):
            os.replace(self.path, self.path.with_name(self.path.name + ".corrupt"))
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(self.path.with_name(self.path.name + suffix))

    def close(self) -> None:
        """Close the connections of every thread (call when no thread uses them any more); the
        next use opens a new one. A long-running process (a notebook, the UI server) calls it
        through ``Repo.close``, so that its file descriptors and ``-wal`` file do not linger."""
        with self._memory_lock:
            opened, self._opened = self._opened, []
            memory, self._memory = self._memory, None
        self._local = threading.local()
        for conn in [conn for _thread, conn in opened] + ([memory] if memory is not None else []):
            conn.close()

    # -- helpers ----------------------------------------------------------------------------
    def select_in(self, sql: str, items: Iterable[object], batch: int = 4000) -> Iterator[tuple[Any, ...]]:
        """The rows of ``sql`` (``… IN ({marks})``) for all ``items``, queried ``batch`` at a time.

        One query per 4,000 keys instead of one per key, while staying below SQLite's limit on
        ``?`` parameters in one statement (32,766 since SQLite 3.32, 999 before).
        """
        if sys.version_info >= (3, 11):
            limit = self.conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        else:
            limit = 999
        batch = max(1, min(batch, limit))
        part: list[object] = []
        for item in items:
            part.append(item)
            if len(part) >= batch:
                yield from self.conn.execute(sql.format(marks=",".join("?" * len(part))), part)
                part = []
        if part:
            yield from self.conn.execute(sql.format(marks=",".join("?" * len(part))), part)

    def transaction(self) -> _Transaction:
        return _Transaction(self.conn)


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT``: one writer at a time, others wait (busy timeout)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.OperationalError as failed:
                with _suppress_db_errors():
                    self.conn.execute("ROLLBACK")
                raise state_error(None, failed) from None
        else:
            with _suppress_db_errors():
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError):
                raise state_error(None, exc) from None


def _suppress_db_errors() -> contextlib.suppress:
    return contextlib.suppress(sqlite3.Error)


def _no_space(exc: sqlite3.Error) -> bool:
    """The database could not be opened or written for lack of space (or an I/O error)."""
    text = str(exc).lower()
    return "full" in text or "disk i/o error" in text


def _unreadable(exc: sqlite3.DatabaseError) -> bool:
    """Garbage or a damaged file (as opposed to a busy, full or read-only one)."""
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text


def state_error(path: Path | None, exc: sqlite3.Error) -> StateDBError:
    """One clear error for a failure of ``state.db`` (most often a full disk), not a bug report."""
    text = str(exc)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return StateDBError(
            f"the repository's state database is busy: {text}",
            hint="another artctl process is busy; retry when it has finished",
        )
    if _no_space(exc):
        from artctl.base.fsutil import DISK_FULL_HINT

        return StateDBError(
            "no space left on device (or I/O error) writing the repository's state.db "
            f"(this machine's disk): {text}",
            hint=DISK_FULL_HINT,
        )
    where = f" {path}" if path is not None else ""
    return StateDBError(
        f"cannot use the repository's state database{where}: {text}",
        hint="state.db is only a cache: if this persists, delete it and retry",
    )


class StateDBError(ArtctlError, sqlite3.OperationalError):
    """``state.db`` failed; still an ``OperationalError`` for callers that treat it as best effort."""
