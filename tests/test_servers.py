"""The test servers work, and the storage behaviour artctl relies on holds on each backend.

These double as executable documentation of TEST-SERVERS.md: which exclusive-create call is
enforced where, how old versions are read, and which environment variables let the artctl
CLI (a subprocess) reach each server with no flags.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import fsspec
import pytest

from servers import Remote, ServerStartError, StorageServer, start_server, stop_process


def fresh_fs(remote: Remote, **extra: Any) -> Any:
    """An uncached filesystem: behaves like a separate machine would."""
    return fsspec.filesystem(remote.protocol, skip_instance_cache=True, **remote.storage_options, **extra)


def test_write_then_read(remote_url: Remote) -> None:
    url, _, _ = remote_url
    fs = fresh_fs(remote_url)
    if remote_url.protocol == "file":
        fs.makedirs(f"{url}/dir", exist_ok=True)  # local: parents must exist (object stores: no dirs)
    fs.pipe_file(f"{url}/dir/obj", b"hello")
    assert fresh_fs(remote_url).cat_file(f"{url}/dir/obj") == b"hello"
    assert fs.info(f"{url}/dir/obj")["size"] == 5


# Which exclusive-create calls each backend enforces (see TEST-SERVERS.md):
# gs only enforces pipe(mode="create") of one small request (open("xb") is ignored by the
# emulator); file only "xb" is atomic (pipe(mode="create") is check-then-write).
EXCLUSIVE_METHODS = {
    "file": ["xb"],
    "s3": ["pipe", "xb"],
    "gs": ["pipe"],
    "az": ["pipe", "xb"],
}


def create_exclusive(fs: Any, path: str, data: bytes, method: str) -> None:
    """Write ``path`` only if it does not exist yet; FileExistsError otherwise."""
    if method == "pipe":
        fs.pipe(path, data, mode="create")
    else:
        with fs.open(path, "xb") as f:
            f.write(data)


def test_exclusive_create_refuses_second_writer(remote_url: Remote) -> None:
    for method in EXCLUSIVE_METHODS[remote_url.protocol]:
        path = f"{remote_url.url}/lock-{method}"
        create_exclusive(fresh_fs(remote_url), path, b"first", method)
        with pytest.raises(FileExistsError):
            create_exclusive(fresh_fs(remote_url), path, b"second", method)
        assert fresh_fs(remote_url).cat_file(path) == b"first", method


def test_s3_versioned_bucket_keeps_old_version(s3_server: StorageServer, s3_versioned_bucket: str) -> None:
    fs = s3_server.filesystem(version_aware=True)
    path = f"{s3_versioned_bucket}/obj"
    fs.pipe_file(path, b"v1")
    old = fs.info(path)["VersionId"]
    fs.pipe_file(path, b"v2")
    assert fs.info(path)["VersionId"] != old
    with fs.open(path, "rb", version_id=old) as f:
        assert f.read() == b"v1"
    assert fs.cat_file(path) == b"v2"


def test_gcs_versioned_bucket_keeps_old_generation(
    gcs_server: StorageServer, gcs_versioned_bucket: str
) -> None:
    fs = gcs_server.filesystem(version_aware=True)  # without it gcsfs treats "#gen" as part of the key
    path = f"{gcs_versioned_bucket}/obj"
    fs.pipe_file(path, b"v1")
    old = fs.info(path)["generation"]
    fs.pipe_file(path, b"v2")
    with fs.open(f"{path}#{old}", "rb") as f:  # not generation=...: use the URL fragment
        assert f.read() == b"v1"
    assert gcs_server.filesystem().cat_file(path) == b"v2"


def test_gcsfs_fast_mode_is_forced() -> None:
    """The plugin turned gcsfs's emulator-stalling experimental mode off before import."""
    import gcsfs

    assert os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] == "false"
    assert gcsfs.GCSFileSystem.__name__ == "GCSFileSystem"


CHILD = textwrap.dedent(
    """
    import sys, fsspec
    url = sys.argv[1]
    fs = fsspec.filesystem(url.split("://")[0])   # no options: standard credential chain only
    fs.pipe_file(url + "/from-child", b"child")
    sys.stdout.write(fs.cat_file(url + "/from-child").decode())
    """
)


@pytest.mark.servers
@pytest.mark.parametrize("fixture", ["s3_bucket", "gcs_bucket", "azure_container"])
def test_env_lets_a_subprocess_reach_the_server(request: pytest.FixtureRequest, fixture: str) -> None:
    """What the artctl CLI will see: ``{**os.environ, **server.env}`` and a URL, nothing else."""
    url: str = request.getfixturevalue(fixture)
    server_fixture = {"s3_bucket": "s3_server", "gcs_bucket": "gcs_server", "azure_container": "azure_server"}
    server: StorageServer = request.getfixturevalue(server_fixture[fixture])
    result = subprocess.run(
        [sys.executable, "-c", CHILD, url],
        env={**os.environ, **server.env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == "child"
    assert server.filesystem().cat_file(f"{url}/from-child") == b"child"


def test_start_server_reports_log_tail_of_a_dead_server(tmp_path: Path) -> None:
    """A server that dies says why: the error carries the command's own output."""
    argv = [sys.executable, "-c", "import sys; print('boom: cannot bind'); sys.exit(3)"]
    with pytest.raises(ServerStartError, match="boom: cannot bind"):
        start_server("broken", lambda port: argv, tmp_path, timeout_s=10, attempts=1)


def test_start_and_stop_a_server(tmp_path: Path) -> None:
    argv = lambda port: [sys.executable, "-m", "http.server", "-b", "127.0.0.1", str(port)]  # noqa: E731
    proc, port, log_path = start_server("http", argv, tmp_path, timeout_s=20)
    assert log_path.parent == tmp_path and port > 0
    stop_process(proc)
    assert proc.poll() is not None
