"""What one ``artctl://`` read from a remote with no clone costs (issue 18's bench goal): the
modules a fresh interpreter imports, the requests it makes, the SDK clients it builds — and
that the remote's FORMAT, now read alongside the first registry requests, still refuses a
location that is not an artctl remote before anything read there is used.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_filesystem import CountingProxy, fresh_fs, publish, s3_options

from conftest import cli_env, make_tree
from servers import StorageServer

#: A fresh interpreter reads one file through fsspec, as ``bench/remote_read.py`` does, then
#: reports what it imported and how many s3fs filesystems (each with its own client) it built.
READ_ONE_FILE = """
import gc, json, sys, fsspec
repo, path, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
with fsspec.open("artctl://" + path, "rb", repo=repo, remote_options=options) as fh:
    data = fh.read()
import s3fs
clients = sum(isinstance(o, s3fs.S3FileSystem) for o in gc.get_objects())
print(json.dumps({"size": len(data), "modules": sorted(sys.modules), "filesystems": clients}))
"""

#: Modules a read has no use for: the CLI and its terminal UI, the state database, the write
#: side and the run API (a run can only be active once ``artctl.init`` imported it).
NOT_FOR_A_READ = (
    "click",
    "rich",
    "sqlite3",
    "artctl.cli",
    "artctl.ui",
    "artctl.api.artifact",
    "artctl.api.run",
    "artctl.ops.put",
    "artctl.ops.cache",
    "artctl.repository.state",
    "artctl.repository.objects",
)


@pytest.fixture
def s3_proxy(s3_server: StorageServer):  # type: ignore[no-untyped-def]
    proxy = CountingProxy(s3_server.endpoint_url)
    yield proxy
    proxy.close()


def _kind(path: str) -> str:
    """A request to the remote ``/<bucket>/team`` without bucket and digests: ``FORMAT``,
    ``packs/*.idx``, ``LIST registry/bench/ds/``."""
    if "list-type=2" in path:
        prefix = path.split("prefix=", 1)[1].split("&", 1)[0].replace("%2F", "/")
        return "LIST " + prefix.removeprefix("team/")
    target = path.split("?", 1)[0].split("/team/", 1)[1]
    for kind in ("packs/", "manifests/"):
        if target.startswith(kind):
            return f"{kind}*{Path(target).suffix}"
    return target


@pytest.mark.servers
def test_a_fresh_read_from_s3_imports_only_the_read_path_and_makes_ten_requests(  # type: ignore[no-untyped-def]
    cli, repo_dir: Path, tmp_path: Path, s3_server: StorageServer, s3_bucket: str, s3_proxy: CountingProxy
) -> None:
    make_tree(tmp_path / "data", {f"f{i}.bin": os.urandom(4096) for i in range(20)})
    publish(cli, tmp_path / "data", "bench/ds", s3_bucket + "/team", s3_server.env)
    make_tree(tmp_path / "data", {"f3.bin": b"changed"})
    publish(cli, tmp_path / "data", "bench/ds", s3_bucket + "/team", s3_server.env)
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    s3_proxy.reset()

    proc = subprocess.run(
        [sys.executable, "-c", READ_ONE_FILE, s3_bucket + "/team", "bench/ds:latest/f3.bin"]
        + [json.dumps(s3_options(s3_proxy.url))],
        cwd=nowhere,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["size"] == len(b"changed")
    imported = set(out["modules"])
    assert not [m for m in imported if m.startswith(NOT_FOR_A_READ)]
    assert out["filesystems"] == 1  # the prefetch, FORMAT and resolving threads share one client

    kinds = sorted(f"{method} {_kind(path)}" for method, path, _n in s3_proxy.requests)
    assert kinds == sorted(
        [
            "GET FORMAT",  # read while the registry is listed and read
            "GET LIST packs/",  # the pack indexes, loaded in the background
            "GET packs/*.idx",  # (one pack per push)
            "GET packs/*.idx",
            "GET LIST registry/bench/ds/",  # the artifact's own directory only
            "GET registry/bench/ds/artifact.json",
            "GET registry/bench/ds/versions/v0.json",
            "GET registry/bench/ds/versions/v1.json",
            "GET manifests/*.jsonl",  # verified against its digest
            "GET packs/*.pack",  # one ranged read of the blob inside its pack
        ]
    ), s3_proxy.requests


@pytest.mark.servers
def test_a_location_without_format_is_refused_before_anything_read_there_is_used(  # type: ignore[no-untyped-def]
    cli, repo_dir: Path, tmp_path: Path, s3_server: StorageServer, s3_bucket: str
) -> None:
    make_tree(tmp_path / "data", {"a.txt": b"alpha\n"})
    publish(cli, tmp_path / "data", "p/ds", s3_bucket + "/team", s3_server.env)
    s3 = s3_server.filesystem()
    bucket = s3_bucket.split("://", 1)[1]
    for key in s3.find(f"{bucket}/team"):  # the same registry, manifests and packs, no FORMAT
        if not key.endswith("/FORMAT"):
            s3.pipe_file(key.replace("/team/", "/copy/", 1), s3.cat_file(key))
    os.chdir(tmp_path)

    from artctl.errors import ArtifactNotFound, RepositoryNotFound

    options = {"remote_options": dict(s3_server.storage_options)}
    fs = fresh_fs(repo=s3_bucket + "/copy", **options)  # an object store: checked on first use
    for _ in range(2):  # the verdict is kept
        with pytest.raises(RepositoryNotFound, match="neither a repository nor an artctl remote"):
            fs.cat_file("p/ds:v0/a.txt")
    with pytest.raises(RepositoryNotFound, match="neither a repository nor an artctl remote"):
        fresh_fs(repo=s3_bucket + "/nothing", **options).ls("p/ds:v0")  # not "artifact not found"
    s3.pipe_file(f"{bucket}/copy/FORMAT", b'{"kind": "something-else"}')
    with pytest.raises(Exception, match="not an artctl repository"):
        fresh_fs(repo=s3_bucket + "/copy", **options).cat_file("p/ds:v0/a.txt")
    with pytest.raises(ArtifactNotFound):  # an artctl remote: the registry's own answer
        fresh_fs(repo=s3_bucket + "/team", **options).ls("p/other:v0")
    assert fresh_fs(repo=s3_bucket + "/team", **options).cat_file("p/ds:v0/a.txt") == b"alpha\n"


def test_threads_opening_a_remote_whose_endpoint_hangs_fail_together() -> None:
    """One filesystem per backend is made under a lock; threads that waited for a failed attempt
    share its error instead of each waiting out the probe's timeout again, one after the other."""
    from artctl.backend import open_backend
    from artctl.errors import RemoteError

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)  # never accepted: once the queue is full, connects hang (SYNs are dropped)
    port = server.getsockname()[1]
    queued = []
    for _ in range(4):
        sock = socket.socket()
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            sock.connect(("127.0.0.1", port))
        queued.append(sock)
    options = {"key": "k", "secret": "s", "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}"}}
    backend = open_backend("s3://bucket/team", options, connect_timeout=1.0)
    errors: list[BaseException] = []

    def open_fs() -> None:
        try:
            backend.fs  # type: ignore[attr-defined]  # noqa: B018 - the property opens it
        except RemoteError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_fs) for _ in range(8)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    for sock in [*queued, server]:
        sock.close()
    assert len(errors) == 8 and "cannot reach remote" in str(errors[0])
    assert elapsed < 4.0, elapsed  # one probe's timeout (1 s), not eight in a row
