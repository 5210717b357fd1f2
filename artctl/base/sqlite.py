"""Opening a SQLite database that several processes share (``state.db``, the user cache's
``cache.db``): WAL mode, and a first open that survives processes starting together."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

#: How long an open waits for other processes (the busy timeout, and the retries below).
OPEN_TIMEOUT_SECONDS = 60.0


def connect_shared(
    path: Path, prepare: Callable[[sqlite3.Connection], object], *, autocommit: bool = False
) -> sqlite3.Connection:
    """A connection to ``path`` in WAL mode on which ``prepare`` (pragmas, the schema) has run.

    Switching a new database to WAL takes an exclusive lock for which SQLite does not call the
    busy handler, so processes opening a fresh database together can see "database is locked"
    once; they wait and retry (up to :data:`OPEN_TIMEOUT_SECONDS`) instead of failing. The
    connection may be used by other threads (callers serialize or keep one per thread).
    ``autocommit``: no implicit transactions (the caller writes ``BEGIN`` itself).
    """
    deadline = time.monotonic() + OPEN_TIMEOUT_SECONDS
    delay = 0.005
    while True:
        conn = sqlite3.connect(path, timeout=OPEN_TIMEOUT_SECONDS, check_same_thread=False)
        if autocommit:
            conn.isolation_level = None
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            prepare(conn)
            return conn
        except sqlite3.OperationalError as exc:
            conn.close()
            busy = "locked" in str(exc).lower() or "busy" in str(exc).lower()
            if not busy or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
        except BaseException:
            conn.close()
            raise
