"""state.db has one schema, created when a connection opens (stamped with user_version)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from artctl.api.repo import Repo
from artctl.repository import cache_state as cache_db
from artctl.repository.state import SCHEMA_VERSION


def test_many_repositories_in_one_process_each_have_their_cache_tables(tmp_path: Path) -> None:
    """Python reuses object ids: a table-creation memo keyed by id() skipped new databases."""
    for i in range(50):
        root = tmp_path / f"r{i}"
        root.mkdir()
        repo, _ = Repo.init(root)
        state = repo.repository.store.state
        cache_db.record_use(state, ["ab" * 32])
        assert cache_db.last_used(state, ["ab" * 32])
        cache_db.record_ref_object(state, f"key{i}", "cd" * 32)
        assert cache_db.reference_backed(state, ["cd" * 32]) == {"cd" * 32}
        state.close()


def test_state_db_is_stamped_and_an_old_one_gets_the_missing_tables(tmp_path: Path) -> None:
    repo, _ = Repo.init(tmp_path)
    state = repo.repository.store.state
    path = state.path
    state.conn  # noqa: B018 - opening creates the schema
    state.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        conn.execute("DROP TABLE object_use")
        conn.execute("PRAGMA user_version=0")
    cache_db.record_use(Repo(tmp_path).repository.store.state, ["ef" * 32])
