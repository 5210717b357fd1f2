"""A remote location as seen by artctl: a handful of whole-file operations on relative paths.

Two backends share one interface: :class:`LocalBackend` for ``file://`` (plain ``os`` calls, so
writes are temp + fsync + rename and exclusive create is ``os.link`` — fsspec's local
``pipe(mode="create")`` is not atomic) and :class:`FsspecBackend` for everything else (S3, GCS,
Azure, …). fsspec and the cloud libraries are imported lazily, the first time a remote is
actually touched, so ``artctl --help`` stays fast.

Credentials: the storage options are exactly what the user configured (``-o KEY=VALUE``);
anything not given comes from each cloud's standard chain (env vars, profiles, metadata
servers), never from artctl's config unless the user put it there.

Every backend error that is not "missing" or "already exists" becomes one :class:`RemoteError`
with a hint, so the CLI prints one line instead of a botocore traceback.
"""

from __future__ import annotations

import abc
import contextlib
import errno
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from artctl.base import extras  # first: sets gcsfs' environment before anything can import gcsfs
from artctl.base.fsutil import atomic_write_bytes, copy_bounded, fsync_dir
from artctl.errors import ArtctlError, IntegrityError, InvalidInput, RemoteError

#: Parallel requests per transfer (bounded so a 100k-object push does not open 100k sockets).
DEFAULT_JOBS = 8

# Every read of a remote file is bounded: by the size a manifest or pack index declares for
# it (objects, packs), else by one of these caps, so a damaged or hostile remote (a 150 MB
# file behind a 100-byte entry, an endless file) can neither fill memory nor the disk.
#: Records: FORMAT, artifact/version/alias/run records, distributed bookkeeping.
MAX_RECORD_BYTES = 16 * 1024 * 1024
#: Manifests and distributed parts (a million entries is ~200 MB of JSON lines).
MAX_MANIFEST_BYTES = 1024 * 1024 * 1024
#: Pack indexes (48 bytes per blob).
MAX_INDEX_BYTES = 256 * 1024 * 1024
#: Bytes per request of a bounded streaming download from an object store.
DOWNLOAD_CHUNK = 16 * 1024 * 1024


def too_large(url: str, rel: str, limit: int) -> IntegrityError:
    """The one error for a remote file longer than its declared or allowed size."""
    return IntegrityError(
        f"remote file {url.rstrip('/')}/{rel} is larger than the {limit} bytes "
        "expected; the download was stopped and nothing was stored",
        hint="the remote is damaged or was tampered with; push the data again from a clone that has it",
    )


def _empty_range(exc: BaseException) -> bool:
    """An object store refusing a range from byte 0 (HTTP 416): the object is empty."""
    text = str(exc).lower()
    return "not satisfiable" in text or "416" in text or "invalidrange" in text


def split_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix/`` → ``("s3", "bucket/prefix")``; a plain path is ``file``."""
    if "://" not in url:
        return "file", os.path.abspath(os.path.expanduser(url))
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    if not scheme.isalnum() and scheme not in ("gs", "az", "abfs"):
        raise InvalidInput(f"invalid remote URL {url!r}")
    if scheme == "file":
        parsed = urlparse(url)
        if parsed.netloc not in ("", "localhost"):
            raise InvalidInput(f"file:// URL {url!r} names a host; use file:///absolute/path")
        return "file", unquote(parsed.path).rstrip("/") or "/"
    if scheme == "gcs":
        scheme = "gs"
    root = rest.strip("/")
    if not root:
        raise InvalidInput(f"remote URL {url!r} names no bucket or container")
    return scheme, root


@contextlib.contextmanager
def guard(url: str, what: str, local: Path | None = None) -> Iterator[None]:
    """Turn backend exceptions into one RemoteError; let "missing"/"exists" through.

    ``local`` is the local file a download writes: a full disk there is this machine's
    problem, reported as such (not as a failing remote).
    """
    try:
        yield
    except (FileNotFoundError, FileExistsError, ArtctlError):
        raise
    except OSError as exc:
        if local is not None and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            from artctl.base.fsutil import DISK_FULL_HINT

            raise ArtctlError(
                f"no space left on device writing {local.parent} (this machine's disk) "
                f"while {what} from {url}",
                hint=DISK_FULL_HINT,
            ) from None
        if isinstance(exc, PermissionError):
            raise RemoteError(
                f"access denied to {url} while {what}: {_short(exc)}",
                hint="check the credentials (environment, profile or -o options) "
                "and the permissions on the bucket",
            ) from None
        raise classify(exc, url, what) from None
    except Exception as exc:  # noqa: BLE001 - cloud SDKs raise many unrelated types
        raise classify(exc, url, what) from None


def classify(exc: BaseException, url: str, what: str) -> RemoteError:
    """A RemoteError with a helpful hint for a backend exception."""
    text = _short(exc)
    lowered = f"{type(exc).__name__} {text}".lower()
    if any(
        k in lowered
        for k in ("connect", "unreachable", "name resolution", "timed out", "timeout", "refused", "nodename")
    ):
        return RemoteError(
            f"cannot reach remote {url} while {what}: {text}",
            hint="check the URL and endpoint_url option, and that the server is up",
        )
    if any(
        k in lowered
        for k in (
            "accessdenied",
            "access denied",
            "forbidden",
            "403",
            "401",
            "invalidaccesskeyid",
            "signaturedoesnotmatch",
            "authentication",
            "authorization",
            "credential",
            "unauthorized",
        )
    ):
        return RemoteError(
            f"access denied to {url} while {what}: {text}",
            hint="check the credentials (environment, profile or -o options)",
        )
    if any(
        k in lowered
        for k in (
            "nosuchbucket",
            "containernotfound",
            "bucket does not exist",
            "specified container does not exist",
            "not found",
        )
    ):
        return RemoteError(
            f"remote {url} does not exist ({text})",
            hint="create the bucket or container first, or fix the URL",
        )
    return RemoteError(f"remote {url} failed while {what}: {type(exc).__name__}: {text}")


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


class Backend(abc.ABC):
    """Whole-file operations on paths relative to the remote's root (``a/b/c``)."""

    url: str
    jobs: int = DEFAULT_JOBS

    # Implemented by subclasses -------------------------------------------------------------
    @abc.abstractmethod
    def read(self, rel: str, limit: int = MAX_RECORD_BYTES) -> bytes:
        """The whole file; IntegrityError (:func:`too_large`) past ``limit`` bytes, having read
        at most ``limit + 1``."""

    @abc.abstractmethod
    def read_range(self, rel: str, start: int, end: int) -> bytes: ...

    @abc.abstractmethod
    def write(self, rel: str, data: bytes) -> None: ...

    @abc.abstractmethod
    def upload(self, rel: str, local: Path, verify: Callable[[], bool] | None = None) -> bool:
        """Store the file ``local`` at ``rel``. ``verify`` (re-hashing ``local``) must pass before
        anything becomes visible there; False means it failed and nothing was written."""

    @abc.abstractmethod
    def download(self, rel: str, local: Path, limit: int) -> int:
        """Copy the file to ``local``; return its size. Stops after ``limit + 1`` bytes with
        IntegrityError (:func:`too_large`): ``limit`` is the size the caller expects."""

    @abc.abstractmethod
    def sizes(self, rels: Iterable[str]) -> dict[str, int | None]:
        """The size of each file (None when it is missing or not a regular file)."""

    @abc.abstractmethod
    def list_sizes(self, rel: str) -> dict[str, int]:
        """Every file under ``rel`` (recursively) → its size; keys are relative to the root."""

    @abc.abstractmethod
    def create(self, rel: str, data: bytes) -> bool: ...

    @abc.abstractmethod
    def listdir(self, rel: str) -> list[str]: ...

    @abc.abstractmethod
    def find(self, rel: str) -> list[str]: ...

    @abc.abstractmethod
    def delete(self, rel: str) -> None: ...

    @abc.abstractmethod
    def check_location(self) -> bool: ...

    # Shared ---------------------------------------------------------------------------------
    def exists(self, rel: str) -> bool:
        try:
            self.read_range(rel, 0, 1)
            return True
        except FileNotFoundError:
            return False

    def read_or_none(self, rel: str, limit: int = MAX_RECORD_BYTES) -> bytes | None:
        try:
            return self.read(rel, limit)
        except FileNotFoundError:
            return None

    def read_many(self, rels: Iterable[str], limit: int = MAX_RECORD_BYTES) -> dict[str, bytes | None]:
        """Many small files at once (bounded concurrency); a missing one maps to None."""
        rels = list(rels)
        if not rels:
            return {}
        with ThreadPoolExecutor(max_workers=min(self.jobs, len(rels))) as pool:
            return dict(zip(rels, pool.map(lambda r: self.read_or_none(r, limit), rels), strict=True))


class LocalBackend(Backend):
    """``file://`` remotes: a directory, written like the local repository is.

    ``fsync`` is the remote's own durability (default true; ``-o fsync=false`` turns it off),
    never the pushing repository's ``core.fsync``: a scratch clone must not weaken a shared
    remote.
    """

    def __init__(self, root: str, url: str, jobs: int = DEFAULT_JOBS, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.url = url
        self.jobs = jobs
        self.fsync = fsync

    def _p(self, rel: str) -> Path:
        return self.root / rel if rel else self.root

    def _tmp_beside(self, path: Path) -> Path:
        return path.parent / f".{uuid.uuid4().hex}.artctl-tmp"

    def read(self, rel: str, limit: int = MAX_RECORD_BYTES) -> bytes:
        with guard(self.url, f"reading {rel}"), open(self._p(rel), "rb") as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise too_large(self.url, rel, limit)
        return data

    def read_range(self, rel: str, start: int, end: int) -> bytes:
        with guard(self.url, f"reading {rel}"), open(self._p(rel), "rb") as fh:
            fh.seek(start)
            return fh.read(max(0, end - start))

    def write(self, rel: str, data: bytes) -> None:
        with guard(self.url, f"writing {rel}"):
            path = self._p(rel)
            atomic_write_bytes(path, data, tmp_dir=path.parent, fsync=self.fsync)

    def upload(self, rel: str, local: Path, verify: Callable[[], bool] | None = None) -> bool:
        from artctl.base.fsutil import copy_durably
        from artctl.base.overlap import side_by_side

        with guard(self.url, f"writing {rel}"):
            path = self._p(rel)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._tmp_beside(path)
            try:
                # The file is verified while it is copied; only a verified copy is renamed in.
                _, ok = side_by_side(lambda: copy_durably(local, tmp, self.fsync), verify or (lambda: True))
                if not ok:
                    return False
                os.replace(tmp, path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            fsync_dir(path.parent, self.fsync)
        return True

    def download(self, rel: str, local: Path, limit: int) -> int:
        with guard(self.url, f"reading {rel}", local):
            copied = copy_bounded(self._p(rel), local, limit)
        if copied > limit:
            raise too_large(self.url, rel, limit)
        return copied

    def sizes(self, rels: Iterable[str]) -> dict[str, int | None]:
        import stat

        out: dict[str, int | None] = {}
        if not self.root.is_dir():  # an unmounted disk is not proof that the files are gone
            raise RemoteError(
                f"remote {self.url} is not reachable (no directory {self.root})",
                hint="mount it, or fix the remote's URL",
            )
        with guard(self.url, "checking files"):
            for rel in rels:
                try:
                    st = os.stat(self._p(rel))
                except (FileNotFoundError, NotADirectoryError):
                    out[rel] = None
                    continue
                out[rel] = st.st_size if stat.S_ISREG(st.st_mode) else None
        return out

    def list_sizes(self, rel: str) -> dict[str, int]:
        found = self.find(rel)
        return {r: size for r, size in self.sizes(found).items() if size is not None}

    def create(self, rel: str, data: bytes) -> bool:
        from artctl.base.fsutil import create_exclusive

        with guard(self.url, f"creating {rel}"):
            path = self._p(rel)
            return create_exclusive(path, data, tmp_dir=path.parent, fsync=self.fsync)

    def listdir(self, rel: str) -> list[str]:
        with guard(self.url, f"listing {rel or '/'}"):
            try:
                return sorted(n for n in os.listdir(self._p(rel)) if not n.startswith("."))
            except (FileNotFoundError, NotADirectoryError):
                return []

    def find(self, rel: str) -> list[str]:
        base = self._p(rel)
        out: list[str] = []
        with guard(self.url, f"listing {rel}"):
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                for name in filenames:
                    if not name.startswith("."):
                        out.append(
                            os.path.relpath(os.path.join(dirpath, name), self.root).replace(os.sep, "/")
                        )
        return sorted(out)

    def delete(self, rel: str) -> None:
        with guard(self.url, f"deleting {rel}"), contextlib.suppress(FileNotFoundError):
            os.unlink(self._p(rel))

    def check_location(self) -> bool:
        """True if the directory exists; creates it when its parent exists (like ``git init``)."""
        if self.root.is_dir():
            return True
        if self.root.exists():
            raise RemoteError(f"remote {self.url} is a file, not a directory")
        if not self.root.parent.is_dir():
            raise RemoteError(
                f"remote {self.url} does not exist and neither does its parent directory",
                hint=f"create {self.root.parent} first, or fix the URL",
            )
        return False


class FsspecBackend(Backend):
    """Object stores through fsspec (s3fs, gcsfs, adlfs …)."""

    def __init__(
        self, protocol: str, root: str, url: str, options: dict[str, Any], jobs: int = DEFAULT_JOBS
    ) -> None:
        self.protocol = protocol
        self.root = root
        self.url = url
        self.options = dict(options)
        self.jobs = jobs
        self._fs: Any = None

    @property
    def fs(self) -> Any:
        if self._fs is None:
            extras.require(self.protocol)  # before the probe: a missing extra is the first problem
            probe_endpoint(self.url, self.protocol, self.options)
            with guard(self.url, "opening the remote"):
                try:
                    self._fs = extras.filesystem(self.protocol, **self.options)
                except (ImportError, ValueError) as exc:
                    if isinstance(exc, ArtctlError):
                        raise
                    raise RemoteError(f"no fsspec backend for {self.protocol}:// ({_short(exc)})") from None
        return self._fs

    def _p(self, rel: str) -> str:
        return f"{self.root}/{rel}" if rel else self.root

    def _rel(self, full: str) -> str:
        full = full.split("://", 1)[-1].strip("/")
        prefix = self.root + "/"
        return full[len(prefix) :] if full.startswith(prefix) else full

    def read(self, rel: str, limit: int = MAX_RECORD_BYTES) -> bytes:
        # One ranged GET: the store sends at most limit + 1 bytes, whatever the object holds.
        try:
            with guard(self.url, f"reading {rel}"):
                data = bytes(self.fs.cat_file(self._p(rel), start=0, end=limit + 1))
        except RemoteError as exc:
            if _empty_range(exc):
                return b""
            raise
        if len(data) > limit:
            raise too_large(self.url, rel, limit)
        return data

    def read_range(self, rel: str, start: int, end: int) -> bytes:
        with guard(self.url, f"reading {rel}"):
            return bytes(self.fs.cat_file(self._p(rel), start=start, end=end))

    def read_many(self, rels: Iterable[str], limit: int = MAX_RECORD_BYTES) -> dict[str, bytes | None]:
        """One batched request set through fsspec's async ``cat`` when the backend has it."""
        rels = list(rels)
        if not rels:
            return {}
        paths = [self._p(r) for r in rels]
        with guard(self.url, "reading records"):
            found = self.fs.cat(paths, on_error="return", start=0, end=limit + 1)
        out: dict[str, bytes | None] = {}
        for rel, path in zip(rels, paths, strict=True):
            value = found.get(path)
            if value is None:
                # fsspec may key results without the protocol or with it; look both ways
                value = found.get(f"{self.protocol}://{path}")
            if isinstance(value, FileNotFoundError) or value is None:
                out[rel] = None
            elif isinstance(value, BaseException) and _empty_range(value):
                out[rel] = b""
            elif isinstance(value, BaseException):
                with guard(self.url, f"reading {rel}"):
                    raise value
            elif len(value) > limit:
                raise too_large(self.url, rel, limit)
            else:
                out[rel] = bytes(value)
        return out

    def write(self, rel: str, data: bytes) -> None:
        with guard(self.url, f"writing {rel}"):
            self.fs.pipe_file(self._p(rel), data)

    def upload(self, rel: str, local: Path, verify: Callable[[], bool] | None = None) -> bool:
        # One PUT (or multipart upload) is atomic on object stores: a killed upload leaves
        # nothing visible under the final key. Verified first: a PUT cannot be taken back.
        if verify is not None and not verify():
            return False
        with guard(self.url, f"writing {rel}"):
            self.fs.put_file(str(local), self._p(rel))
        return True

    def download(self, rel: str, local: Path, limit: int) -> int:
        """Stream in ranged requests of DOWNLOAD_CHUNK, stopping after ``limit + 1`` bytes; an
        object the store already says is too long is refused before any byte moves."""
        copied = 0
        with guard(self.url, f"reading {rel}", local):
            with self.fs.open(self._p(rel), "rb", cache_type="none", block_size=DOWNLOAD_CHUNK) as src:
                if src.size is not None and src.size > limit:
                    raise too_large(self.url, rel, limit)
                with open(local, "wb") as dst:
                    while copied <= limit:
                        chunk = src.read(min(DOWNLOAD_CHUNK, limit + 1 - copied))
                        if not chunk:
                            break
                        dst.write(chunk)
                        copied += len(chunk)
        if copied > limit:
            raise too_large(self.url, rel, limit)
        return copied

    def sizes(self, rels: Iterable[str]) -> dict[str, int | None]:
        rels = list(rels)
        if not rels:
            return {}

        def size(rel: str) -> int | None:
            try:
                with guard(self.url, f"checking {rel}"):
                    info = self.fs.info(self._p(rel))
            except FileNotFoundError:
                return None
            return int(info["size"]) if info.get("type") == "file" else None

        self.fs.invalidate_cache()
        with ThreadPoolExecutor(max_workers=min(self.jobs, len(rels))) as pool:
            return dict(zip(rels, pool.map(size, rels), strict=True))

    def list_sizes(self, rel: str) -> dict[str, int]:
        with guard(self.url, f"listing {rel}"):
            self.fs.invalidate_cache()
            try:
                found = self.fs.find(self._p(rel), detail=True)
            except FileNotFoundError:
                return {}
        return {
            self._rel(n): int(info.get("size") or 0)
            for n, info in found.items()
            if info.get("type", "file") == "file" and not n.rsplit("/", 1)[-1].startswith(".")
        }

    def create(self, rel: str, data: bytes) -> bool:
        """Exclusive create in ONE request (S3 If-None-Match: *, GCS ifGenerationMatch=0,
        Azure If-None-Match: *): the store itself decides the single winner."""
        path = self._p(rel)
        try:
            with guard(self.url, f"creating {rel}"):
                if self.protocol in ("az", "abfs", "abfss"):
                    self.fs.pipe_file(path, data, overwrite=False)
                else:
                    self.fs.pipe_file(path, data, mode="create")
            return True
        except FileExistsError:
            return False
        except RemoteError as exc:
            text = str(exc).lower()
            if "precondition" in text or "412" in text or "already exists" in text or "409" in text:
                return False
            raise

    def listdir(self, rel: str) -> list[str]:
        path = self._p(rel)
        with guard(self.url, f"listing {rel or '/'}"):
            self.fs.invalidate_cache()
            try:
                names = self.fs.ls(path, detail=False)
            except FileNotFoundError:
                return []
        out = set()
        for full in names:
            name = full.rstrip("/").rsplit("/", 1)[-1]
            if name and not name.startswith(".") and self._rel(full) != rel:
                out.add(name)
        return sorted(out)

    def find(self, rel: str) -> list[str]:
        with guard(self.url, f"listing {rel}"):
            self.fs.invalidate_cache()
            try:
                names = self.fs.find(self._p(rel))
            except FileNotFoundError:
                return []
        return sorted(self._rel(n) for n in names if not n.rsplit("/", 1)[-1].startswith("."))

    def delete(self, rel: str) -> None:
        with guard(self.url, f"deleting {rel}"), contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._p(rel))

    def check_location(self) -> bool:
        """True when the bucket (and prefix) exist; a missing bucket is a clear error."""
        bucket = self.root.split("/", 1)[0]
        with guard(self.url, "checking the bucket"):
            self.fs.invalidate_cache()
            try:
                self.fs.ls(bucket, detail=False)
            except FileNotFoundError:
                raise RemoteError(
                    f"bucket or container {bucket!r} of remote {self.url} does not exist",
                    hint="create it first (artctl never creates buckets), or fix the URL",
                ) from None
        return True


def explicit_endpoint(protocol: str, options: dict[str, Any]) -> str | None:
    """The endpoint a client will talk to, when the user (or environment) named one."""
    if protocol == "s3":
        client = options.get("client_kwargs") or {}
        return (
            options.get("endpoint_url")
            or client.get("endpoint_url")
            or os.environ.get("AWS_ENDPOINT_URL_S3")
            or os.environ.get("AWS_ENDPOINT_URL")
        )
    if protocol in ("gs", "gcs"):
        return options.get("endpoint_url") or os.environ.get("STORAGE_EMULATOR_HOST")
    if protocol in ("az", "abfs", "abfss"):
        if options.get("account_url"):
            return str(options["account_url"])
        conn = options.get("connection_string") or (
            None if options.get("account_name") else os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
        )
        for part in str(conn or "").split(";"):
            key, _, value = part.partition("=")
            if key.strip().lower() == "blobendpoint":
                return value.strip()
    return None


def probe_endpoint(url: str, protocol: str, options: dict[str, Any], timeout: float = 5.0) -> None:
    """Fail in seconds, not minutes, when an explicit endpoint refuses connections.

    The SDKs retry a refused connection with backoff for 15-90 s; one TCP connect tells us
    the same thing at once. Endpoints chosen by the SDK itself (real clouds) are not probed.
    """
    import socket

    endpoint = explicit_endpoint(protocol, options)
    if not endpoint:
        return
    parsed = urlparse(endpoint if "://" in endpoint else f"http://{endpoint}")
    if not parsed.hostname:
        return
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        socket.create_connection((parsed.hostname, port), timeout=timeout).close()
    except OSError as exc:
        raise RemoteError(
            f"cannot reach remote {url}: endpoint {parsed.scheme}://{parsed.hostname}:{port} "
            f"does not answer ({exc.strerror or exc})",
            hint="check the URL and endpoint_url option, and that the server is up",
        ) from None


def _fsync_option(options: dict[str, Any]) -> bool:
    """A ``file://`` remote's durability: its ``fsync`` option (``-o fsync=false``), default true."""
    from artctl.repository.config import parse_bool

    value = options.get("fsync")
    return True if value is None else parse_bool(value, "the fsync option of a file:// remote")


def open_backend(url: str, options: dict[str, Any] | None = None, *, jobs: int | None = None) -> Backend:
    """The backend for ``url`` with fsspec storage ``options`` (nothing is contacted yet)."""
    protocol, root = split_url(url)
    if protocol == "file":
        return LocalBackend(root, url, jobs or DEFAULT_JOBS, fsync=_fsync_option(options or {}))
    return FsspecBackend(protocol, root, url, options or {}, jobs or DEFAULT_JOBS)
