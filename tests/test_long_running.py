"""A long-running process (a notebook, the UI server, this test suite running the CLI in-process)
must not pile up what a short ``artctl`` process would have dropped at exit (issue 15).

Each test disables the cyclic garbage collector while it runs: a repository's parts refer to
each other (and a SQLite connection to its own statement cache), so without an explicit close
what they hold stays open until a collection happens to run, which is what these tests check.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from artctl.api.repo import Repo

from conftest import make_tree


def open_under(root: Path) -> list[str]:
    """The files under ``root`` this process has open (from ``/proc/self/fd``)."""
    base = str(root.resolve()) + os.sep
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the descriptor listdir itself used, closed meanwhile
            continue
        if target.startswith(base):
            found.append(target)
    return sorted(found)


@pytest.fixture
def no_gc() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def test_a_cli_command_closes_the_repository_it_opened(cli, repo_dir: Path, data_dir: Path, no_gc) -> None:  # type: ignore[no-untyped-def]
    cli.ok("artifact", "put", "data", "--name", "p/d", "--type", "dataset")
    cli.ok("artifact", "get", "p/d", "--root", "out")
    cli.ok("artifact", "ls")
    assert open_under(repo_dir / ".artifacts") == []


def test_clone_and_init_close_their_repositories(
    cli, repo_dir: Path, data_dir: Path, tmp_path: Path, no_gc
) -> None:  # type: ignore[no-untyped-def]
    remote = tmp_path / "remote"
    remote.mkdir()
    cli.ok("artifact", "put", "data", "--name", "p/d", "--type", "dataset")
    cli.ok("remote", "add", "origin", remote.as_uri())
    cli.ok("push")
    cli.ok("clone", remote.as_uri(), str(tmp_path / "copy"), cwd=tmp_path)
    cli.ok("init", str(tmp_path / "fresh"), cwd=tmp_path)
    assert open_under(tmp_path) == []


def test_closing_the_state_closes_the_worker_threads_connections(repo_dir: Path, no_gc) -> None:
    """``put`` of many small files hashes them in a pool; each worker thread opened its own
    connection, which outlived the thread."""
    make_tree(repo_dir / "many", {f"f{i}.txt": f"file {i}\n" for i in range(400)})
    repo = Repo(repo_dir)
    repo.put(repo_dir / "many", name="p/many", type="dataset")
    repo.get("p/many", root=repo_dir / "out")
    repo.repository.state.close()
    assert open_under(repo_dir / ".artifacts") == []
    assert repo.get("p/many", root=repo_dir / "again").root  # usable again: reopened on use


def test_repo_is_a_context_manager_that_closes(repo_dir: Path, data_dir: Path, no_gc) -> None:
    with Repo(repo_dir) as repo:
        repo.put(data_dir, name="p/d", type="dataset")
        assert open_under(repo_dir / ".artifacts") != []
    assert open_under(repo_dir / ".artifacts") == []
