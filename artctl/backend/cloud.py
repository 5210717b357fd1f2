"""Object stores (S3, GCS, Azure, …) through fsspec.

fsspec and the cloud libraries are imported lazily, the first time a remote is actually
touched, so ``artctl --help`` stays fast.

Credentials: the storage options are exactly what the user configured (``-o KEY=VALUE``);
anything not given comes from each cloud's standard chain (env vars, profiles, metadata
servers), never from artctl's config unless the user put it there.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from artctl.backend.base import DEFAULT_JOBS, MAX_RECORD_BYTES, Backend, FileStat, too_large
from artctl.backend.clients import shared_filesystem
from artctl.backend.endpoint import CONNECT_TIMEOUT_SECONDS, probe_endpoint
from artctl.backend.guard import guard, http_status, names_error, short
from artctl.base import extras  # sets gcsfs' environment before anything can import gcsfs
from artctl.errors import ArtctlError, RemoteError

#: Bytes per request of a bounded streaming download from an object store.
DOWNLOAD_CHUNK = 16 * 1024 * 1024


def _empty_range(exc: BaseException) -> bool:
    """An object store refusing a range (HTTP 416): it starts at or past the object's end.
    Known by the status the SDK attached or the error's name, never by digits in a message."""
    return http_status(exc) == 416 or names_error(exc, "invalidrange", "not satisfiable")


def _lost_create_race(exc: BaseException) -> bool:
    """An exclusive create refused because the file exists (HTTP 409/412: S3's and GCS's failed
    precondition, Azure's BlobAlreadyExists)."""
    return http_status(exc) in (409, 412) or names_error(
        exc, "precondition", "already exists", "alreadyexists", "conditionnotmet"
    )


#: Where each fsspec backend puts an object's modification time in ``info``/``find(detail=True)``:
#: s3fs ``LastModified``, adlfs ``last_modified``, gcsfs ``updated`` (also ``mtime``).
_MTIME_KEYS = ("LastModified", "last_modified", "updated", "mtime")


def _mtime(info: dict[str, Any], where: str) -> float:
    """An object's modification time (POSIX seconds) from its listing entry."""
    for key in _MTIME_KEYS:
        value = info.get(key)
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and value:
            with contextlib.suppress(ValueError):
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
                return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()
    raise RemoteError(
        f"the listing of {where} gives no modification time", hint="this store cannot be garbage-collected"
    )


class FsspecBackend(Backend):
    """Object stores through fsspec (s3fs, gcsfs, adlfs …).

    One PUT is atomic on an object store, so :meth:`write` and :meth:`upload` need no temp
    name; :meth:`create` is one conditional request. ``connect_timeout`` bounds the probe of an
    explicit endpoint made before the first request (:func:`probe_endpoint`).
    """

    def __init__(
        self,
        protocol: str,
        root: str,
        url: str,
        options: dict[str, Any],
        jobs: int = DEFAULT_JOBS,
        *,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
    ) -> None:
        self.protocol = protocol
        self.root = root
        self.url = url
        self.options = dict(options)
        self.jobs = jobs
        self.connect_timeout = connect_timeout
        self._fs: Any = None
        self._fs_lock = threading.Lock()
        self._attempts = 0  # openings finished (under the lock), and how the last one failed
        self._open_error: BaseException | None = None

    @property
    def fs(self) -> Any:
        """The one fsspec filesystem of this backend, made on first use (and shared with every
        other backend of this process on the same configuration: :mod:`artctl.backend.clients`).

        Made under a lock: threads that touch a new backend at once (a reader's pack-index
        prefetch and its registry read, a pool of transfers) share one client — each filesystem
        builds its own SDK client and session on its first request, ~0.1 s of CPU for botocore.
        Threads that waited for an attempt that failed (a dead endpoint's probe) raise its error
        instead of probing again one after the other; a later call tries afresh.
        """
        if self._fs is None:
            seen = self._attempts
            with self._fs_lock:
                if self._fs is None:
                    if self._attempts != seen and self._open_error is not None:
                        raise self._open_error  # failed while this thread waited for it
                    try:
                        self._fs = self._open_fs()
                    except BaseException as exc:
                        self._open_error = exc
                        raise
                    finally:
                        self._attempts += 1
        return self._fs

    def _open_fs(self) -> Any:
        extras.require(self.protocol)  # before the probe: a missing extra is the first problem
        probe_endpoint(self.url, self.protocol, self.options, self.connect_timeout)
        with guard(self.url, "opening the remote"):
            try:
                return shared_filesystem(
                    self.protocol, self.options, lambda: extras.filesystem(self.protocol, **self.options)
                )
            except (ImportError, ValueError) as exc:
                if isinstance(exc, ArtctlError):
                    raise
                raise RemoteError(f"no fsspec backend for {self.protocol}:// ({short(exc)})") from None

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
        # A range that starts at or past the end (an empty or a cut object) is refused with
        # HTTP 416 by S3 and GCS: that is no bytes, as a read past the end of a local file.
        try:
            with guard(self.url, f"reading {rel}"):
                return bytes(self.fs.cat_file(self._p(rel), start=start, end=end))
        except RemoteError as exc:
            if _empty_range(exc):
                return b""
            raise

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
        return {key: int(info.get("size") or 0) for key, info in self._files_under(rel).items()}

    def list_stats(self, rel: str) -> dict[str, FileStat]:
        return {
            key: FileStat(int(info.get("size") or 0), _mtime(info, f"{self.url}/{key}"))
            for key, info in self._files_under(rel).items()
        }

    def _files_under(self, rel: str) -> dict[str, dict[str, Any]]:
        """Every file under ``rel`` (one fresh listing) → the store's details of it; private
        names (``.``-prefixed temps of writes in progress) are not listed."""
        with guard(self.url, f"listing {rel}"):
            self.fs.invalidate_cache()
            try:
                found = self.fs.find(self._p(rel), detail=True)
            except FileNotFoundError:
                return {}
        return {
            self._rel(n): info
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
            if _lost_create_race(exc):
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
