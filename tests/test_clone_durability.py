"""A clone is built out of sight, so it is flushed once at the end, not file by file.

A 10,000-version clone writes ~60,000 files; flushed one by one that took 90 s of a 100 s clone
(the bench's registry-scale figure). The staging directory is discarded whole by a kill (see
test_crash_remotes), so per-file flushes bought nothing; one ``syncfs`` before the rename makes it
durable. The settings that say whether to flush are not re-read for every one of those writes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from artctl.api.repo import Repo
from artctl.ops.remote.clone import clone
from artctl.ops.remote.config import add_remote
from artctl.ops.remote.push import push
from artctl.repository.repo import SETTINGS_RECHECK_SECONDS, Repository

from conftest import make_tree

VERSIONS = 30


def _remote_with_versions(tmp_path: Path) -> str:
    repo, _ = Repo.init(tmp_path / "src")
    for i in range(VERSIONS):
        data = make_tree(tmp_path / f"d{i}", {"f.txt": f"content {i}\n"})
        repo.put(data, name="p/ds", type="dataset")
    url = (tmp_path / "remote").as_uri()
    add_remote(repo, "origin", url, default=True)
    push(repo, "origin")
    repo.close()
    return url


def test_a_clone_flushes_once_not_per_file(tmp_path: Path, fsync_calls: list[int]) -> None:
    url = _remote_with_versions(tmp_path)
    fsync_calls.clear()  # the clone's own, from here
    calls = fsync_calls
    repository, result = clone(url, tmp_path / "clone")
    assert len(result.versions) == VERSIONS
    assert len(calls) < 20, f"{len(calls)} fsync calls for a clone of {VERSIONS} versions"
    assert repository.fsync  # the clone's own durability is untouched: its next writes flush
    assert repository.resolve("p/ds:latest").index == VERSIONS - 1
    repository.close()


def test_deferred_durability_is_scoped_and_off_leaves_no_flush(
    tmp_path: Path, fsync_calls: list[int]
) -> None:
    repository, _ = Repository.init(tmp_path / "r")
    assert repository.fsync
    with repository.deferred_durability():
        assert not repository.fsync and not repository.store.fsync
    assert repository.fsync and repository.store.fsync
    repository.config.set("core.fsync", False)
    fsync_calls.clear()
    calls = fsync_calls
    with repository.deferred_durability():
        pass
    assert calls == [] and not repository.fsync  # core.fsync = false: no flush at the end either
    repository.close()


def test_settings_follow_a_config_write_at_once_and_the_environment_soon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    repository, _ = Repository.init(tmp_path / "r")
    assert repository.fsync
    repository.config.set("core.fsync", False)  # this process wrote the file: seen at once
    assert not repository.fsync
    monkeypatch.setenv("ARTCTL_CORE_FSYNC", "true")  # the environment: within the re-check period
    time.sleep(SETTINGS_RECHECK_SECONDS + 0.05)
    assert repository.fsync
    repository.close()
