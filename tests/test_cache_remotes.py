"""The cache with real remotes: objects downloaded from a remote are evictable and come back on
the next ``get``; objects not pushed anywhere are the only copy and survive ``cache cleanup 0``.
Driven through the CLI (``remote add``, ``push``, ``clone``) against a file:// remote and a real
S3 server (moto).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import make_tree
from servers import Remote

MiB = 1024 * 1024


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(params=["file", "s3"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Remote:
    if request.param == "file":
        location = tmp_path / "remote"
        location.mkdir()
        return Remote(location.as_uri(), {}, {})
    server = request.getfixturevalue("s3_server")
    bucket = request.getfixturevalue("s3_bucket")
    return Remote(bucket, {}, dict(server.env))


def test_cleanup_1mb_on_a_clone_that_downloaded_4mb(
    cli, repo_dir: Path, tmp_path: Path, remote: Remote
) -> None:  # type: ignore[no-untyped-def]
    data = make_tree(tmp_path / "data", {f"shard{i}.bin": os.urandom(MiB) for i in range(4)})
    env = remote.env
    cli.ok("artifact", "put", str(data), "--name", "p/shards", "--type", "dataset")
    cli.ok("remote", "add", "origin", remote.url, "--default", env=env)
    cli.ok("push", env=env)

    clone = tmp_path / "clone"
    cli.ok("clone", remote.url, str(clone), env=env)
    cli.ok("artifact", "get", "p/shards", "--root", "first", cwd=clone, env=env)
    assert read_tree(clone / "first") == read_tree(data)
    before = cli.ok("cache", "info", "--json", cwd=clone).json()
    assert before["cache_bytes"] >= 4 * MiB and before["pinned_bytes"] == 0

    result = cli.ok("cache", "cleanup", "1MB", "--json", cwd=clone, env=env).json()
    assert result["freed_bytes"] >= 3 * 10**6
    assert cli.ok("cache", "info", "--json", cwd=clone).json()["cache_bytes"] <= 10**6

    cli.ok("artifact", "get", "p/shards", "--root", "second", cwd=clone, env=env)
    assert read_tree(clone / "second") == read_tree(data)
    cli.ok("artifact", "verify", "p/shards", cwd=clone)


def test_unpushed_data_survives_cleanup_0(cli, repo_dir: Path, tmp_path: Path, remote: Remote) -> None:  # type: ignore[no-untyped-def]
    env = remote.env
    pushed = make_tree(tmp_path / "pushed", {"a.bin": os.urandom(MiB + 1), "small.txt": "pushed\n"})
    local = make_tree(tmp_path / "local", {"b.bin": os.urandom(MiB + 2), "small.txt": "only here\n"})
    cli.ok("artifact", "put", str(pushed), "--name", "p/one", "--type", "dataset")
    cli.ok("remote", "add", "origin", remote.url, "--default", env=env)
    cli.ok("push", env=env)
    cli.ok("artifact", "put", str(local), "--name", "p/two", "--type", "dataset")  # never pushed

    info = cli.ok("cache", "info", "--json").json()
    assert info["pinned_bytes"] >= MiB + 2 and info["cache_bytes"] >= MiB + 1
    result = cli.ok("cache", "cleanup", "0", "--json", env=env).json()
    assert result["freed_bytes"] >= MiB + 1 and result["pinned_bytes"] == info["pinned_bytes"]
    assert cli.ok("cache", "cleanup", "0", env=env).stdout == ""

    # The unpushed version is intact without any network; the pushed one comes back from the remote.
    cli.ok("artifact", "get", "p/two", "--root", "two")
    assert read_tree(repo_dir / "two") == read_tree(local)
    cli.ok("artifact", "get", "p/one", "--root", "one", env=env)
    assert read_tree(repo_dir / "one") == read_tree(pushed)
