"""``cache info`` / ``cache cleanup SIZE`` count and bound the remotes' metadata mirrors
(``--repo URL``) in the user cache: a mirror's fetched objects are evicted through a repository's
own cleanup (remote copy recorded and re-confirmed), least recently used mirror first; a mirror
in use is skipped, and one whose remote cannot be reached keeps its objects. Real CLI processes,
a file:// remote and a real S3 server (moto)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CLI, cli_env, make_tree
from servers import free_port, make_s3_bucket

BIG = 300_000


def publish(cli: CLI, where: Path, url: str, fill: bytes = b"\x05") -> None:
    """Push ``p/ds:v0`` (a small file and a ``BIG``-byte one) to ``url`` from a new repository."""
    make_tree(where / "data", {"a.txt": "alpha\n", "big.bin": fill * BIG})
    cli.ok("init", cwd=where)
    cli.ok("artifact", "put", "data", "-n", "p/ds", "-t", "dataset", cwd=where)
    cli.ok("remote", "add", "origin", url, "--default", cwd=where)
    cli.ok("push", cwd=where)


@pytest.fixture(params=["file", pytest.param("s3", marks=pytest.mark.servers)])
def remote(request: pytest.FixtureRequest, tmp_path: Path, cli: CLI) -> str:
    """A remote holding ``p/ds:v0``; ``cli`` runs in a directory with no repository."""
    if request.param == "file":
        url = (tmp_path / "remote").as_uri()
    else:
        server = request.getfixturevalue("s3_server")
        url = f"s3://{make_s3_bucket(server)}/team"
        cli.env.update(server.env)
    publish(cli, tmp_path / "publisher", url)
    return url


def mirror_blobs(cache: Path, url: str | None = None) -> list[Path]:
    """The loose objects and packs the mirrors (or the mirror of ``url``) hold."""
    found = []
    for mark in (cache / "mirrors").glob("*/MIRROR"):
        if url is None or mark.read_text().strip() == url:
            store = mark.parent / ".artifacts"
            found += [p for p in [*store.glob("objects/**/*"), *store.glob("packs/*.pack")] if p.is_file()]
    return found


def get_through(cli: CLI, url: str, root: Path, **kwargs) -> None:  # type: ignore[no-untyped-def]
    cli.ok("--repo", url, "artifact", "get", "p/ds:v0", "--root", str(root), **kwargs)
    assert (root / "big.bin").read_bytes()[:1] * BIG == (root / "big.bin").read_bytes()


def test_a_mirror_is_counted_and_cleanup_from_anywhere_frees_it(
    cli: CLI, remote: str, tmp_path: Path, own_user_cache: Path
) -> None:
    get_through(cli, remote, tmp_path / "one")
    assert mirror_blobs(own_user_cache, remote)
    info = cli.ok("cache", "info", "--json").json()["user_cache"]["mirrors"]
    assert info["count"] == 1
    (mirror,) = info["mirrors"]
    assert mirror["url"] == remote and mirror["cache_bytes"] >= BIG and mirror["pinned_bytes"] == 0
    assert mirror["metadata_bytes"] > 0
    assert mirror["total_bytes"] == info["total_bytes"] > BIG
    assert "mirrors of 1 remote (--repo URL)" in cli.ok("cache", "info").stdout

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = cli.ok("cache", "cleanup", "0", "--json", cwd=elsewhere).json()["user_cache"]
    assert done["mirrors"][0]["url"] == remote and done["mirrors"][0]["freed_bytes"] >= BIG
    assert mirror_blobs(own_user_cache) == []
    assert not list(own_user_cache.glob("packs/*.pack")) and not list(own_user_cache.glob("objects/*/*"))
    after = cli.ok("cache", "info", "--json", cwd=elsewhere).json()["user_cache"]["mirrors"]
    assert after["count"] == 1 and after["cache_bytes"] == 0 and after["metadata_bytes"] > 0

    get_through(cli, remote, tmp_path / "two")  # fetched again from the remote
    assert mirror_blobs(own_user_cache, remote)


def test_the_least_recently_used_mirror_is_shrunk_first(
    cli: CLI, tmp_path: Path, own_user_cache: Path
) -> None:
    old, new = (tmp_path / "old").as_uri(), (tmp_path / "new").as_uri()
    publish(cli, tmp_path / "pub-old", old, b"\x01")
    publish(cli, tmp_path / "pub-new", new, b"\x02")
    get_through(cli, old, tmp_path / "a")
    time.sleep(0.05)
    get_through(cli, new, tmp_path / "b")
    info = cli.ok("cache", "info", "--json").json()["user_cache"]
    by_url = {m["url"]: m["cache_bytes"] for m in info["mirrors"]["mirrors"]}
    # Room for everything but the old mirror's objects (which the user cache also holds).
    size = info["cache_bytes"] + by_url[new]
    done = cli.ok("cache", "cleanup", f"{size}B", "--json").json()["user_cache"]
    assert [m["url"] for m in done["mirrors"]] == [old]
    assert done["evicted"] == []
    assert mirror_blobs(own_user_cache, old) == [] and mirror_blobs(own_user_cache, new)
    get_through(cli, old, tmp_path / "c")  # from the user cache, linked in again


PAUSED = """
import sys, time
from pathlib import Path
from artctl.ops.remote.mirror import open_mirror

mirror = open_mirror(sys.argv[1])
with mirror.published():
    Path(sys.argv[2]).write_text("paused")
    time.sleep(300)
"""


@pytest.mark.parametrize("remote", ["file"], indirect=True)
def test_a_mirror_in_use_is_skipped_not_waited_for(
    cli: CLI, remote: str, tmp_path: Path, own_user_cache: Path
) -> None:
    get_through(cli, remote, tmp_path / "one")
    marker = tmp_path / "paused"
    env = cli_env(cli.env)
    proc = subprocess.Popen([sys.executable, "-c", PAUSED, remote, str(marker)], env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None and time.monotonic() < deadline, (
                "the command on the mirror never started"
            )
            time.sleep(0.05)
        started = time.monotonic()
        done = cli.ok("cache", "cleanup", "0", "--json", subprocess=True)
        assert time.monotonic() - started < 60
        (mirror,) = done.json()["user_cache"]["mirrors"]
        assert mirror["skipped"] == "in use by another process"
        assert "skipped" in done.stderr
        assert mirror_blobs(own_user_cache, remote)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait()
    cli.ok("cache", "cleanup", "0")  # the process is gone: now it is evicted
    assert mirror_blobs(own_user_cache, remote) == []


@pytest.mark.servers
@pytest.mark.parametrize("remote", ["s3"], indirect=True)
def test_an_unreachable_remote_keeps_its_mirrors_objects(
    cli: CLI, remote: str, tmp_path: Path, own_user_cache: Path
) -> None:
    get_through(cli, remote, tmp_path / "one")
    held = sorted(mirror_blobs(own_user_cache, remote))
    dead = {k: f"http://127.0.0.1:{free_port()}" for k in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")}
    done = cli.ok("cache", "cleanup", "0", "--json", env=dead)
    (mirror,) = done.json()["user_cache"]["mirrors"]
    assert mirror["evicted"] == [] and mirror["unreachable_remotes"], mirror
    assert "could not be checked" in done.stderr
    assert sorted(mirror_blobs(own_user_cache, remote)) == held
    get_through(cli, remote, tmp_path / "two")
