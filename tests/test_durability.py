"""``core.fsync``: writes are flushed to disk unless a repository says otherwise."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import make_tree, run_killed_at


def test_puts_are_flushed_by_default_and_not_with_core_fsync_false(
    cli, repo_dir: Path, fsync_calls: list[int]
) -> None:
    from artctl.api.repo import Repo

    make_tree(repo_dir / "one", {"small.txt": "a\n", "big.bin": os.urandom(3 << 20)})
    make_tree(repo_dir / "two", {"small.txt": "b\n", "big.bin": os.urandom(3 << 20)})
    Repo(repo_dir).put(repo_dir / "one", name="p/one", type="dataset")
    assert len(fsync_calls) >= 3  # the pack, the loose object, the manifest (and records)

    cli.ok("config", "core.fsync", "false")
    assert cli.ok("config", "core.fsync").stdout.strip() == "false"
    fsync_calls.clear()
    repo = Repo(repo_dir)
    repo.put(repo_dir / "two", name="p/two", type="dataset")
    assert fsync_calls == []
    repo.get("p/two:latest", root=repo_dir / "out")
    assert (repo_dir / "out" / "small.txt").read_text() == "b\n"
    assert cli.ok("artifact", "verify", "--json").json()["ok"] is True

    cli.ok("config", "core.fsync", "true")
    Repo(repo_dir).put(repo_dir / "one", name="p/three", type="dataset")
    assert fsync_calls  # back on for the next process that opens the repository


def test_core_fsync_takes_only_booleans(cli, repo_dir: Path, data_dir: Path) -> None:
    bad = cli.fails("config", "core.fsync", "maybe", code=2)
    assert "core.fsync" in bad.stderr and "true or false" in bad.stderr
    env = {"ARTCTL_CORE_FSYNC": "nope"}
    bad_env = cli.fails("artifact", "put", "data", "--name", "p/d", "--type", "dataset", env=env, code=2)
    assert "true or false" in bad_env.stderr
    off = {"ARTCTL_CORE_FSYNC": "0"}
    assert (
        cli.ok("artifact", "put", "data", "--name", "p/d", "--type", "dataset", "--json", env=off).json()[
            "files"
        ]
        == 3
    )


def test_killed_put_without_fsync_still_leaves_a_consistent_repository(
    cli, repo_dir: Path, tmp_path: Path
) -> None:
    """Turning fsync off gives up safety against power loss, not against a killed process."""
    cli.ok("config", "core.fsync", "false")
    src = make_tree(
        tmp_path / "many",
        {f"d{i % 10}/f{i}.bin": os.urandom(2048) for i in range(3000)} | {"large.bin": os.urandom(4 << 20)},
    )
    put = ("artifact", "put", str(src), "--name", "p/killed", "--type", "dataset")
    for point in (
        "store.loose-object",
        "store.pack-before-index",
        "store.pack-before-rows",
        "commit.after-manifest",
    ):
        run_killed_at(point, *put, cwd=repo_dir)
        assert cli.ok("artifact", "verify", "--json").json()["ok"] is True
    done = cli.ok("artifact", "put", str(src), "--name", "p/killed", "--type", "dataset", "--json")
    assert json.loads(done.stdout)["files"] == 3001
