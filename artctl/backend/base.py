"""The one interface to a repository's storage: a few whole-file operations on relative paths.

Everything above this layer (the remote protocol, push/pull, distributed versions, and — issue
16 — the registry itself) is written against :class:`Backend` alone, so the same code serves
the local ``.artifacts/`` and every remote, as restic's repository serves every backend. Each
method's docstring is its contract: what is atomic, what "exists" means, which errors it raises.

Paths are relative to the backend's root, ``/``-separated, never starting with ``/``
(``objects/ab/cdef…``); ``""`` is the root itself. Names starting with ``.`` are private to a
backend (temporary files of writes in progress) and never listed.

Errors, for every method: a missing file is :class:`FileNotFoundError` where the method says
so; a file longer than the caller allows is :class:`~artctl.errors.IntegrityError`
(:func:`too_large`); anything else the storage reports becomes one
:class:`~artctl.errors.RemoteError` with a hint (:mod:`artctl.backend.guard`), or an
:class:`~artctl.errors.ArtctlError` when the local disk is full during a download.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from artctl.errors import IntegrityError

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


def too_large(url: str, rel: str, limit: int) -> IntegrityError:
    """The one error for a remote file longer than its declared or allowed size."""
    return IntegrityError(
        f"remote file {url.rstrip('/')}/{rel} is larger than the {limit} bytes "
        "expected; the download was stopped and nothing was stored",
        hint="the remote is damaged or was tampered with; push the data again from a clone that has it",
    )


@dataclass(frozen=True)
class FileStat:
    """A listed file: its size and its modification time by the storage's own clock (POSIX
    seconds). Remote gc ages files by this clock, never by the clock of the machine running it."""

    size: int
    mtime: float


class Backend(abc.ABC):
    """Whole-file operations on paths relative to the storage's root (``a/b/c``).

    ``url`` names the storage in messages; ``jobs`` bounds the requests one call (``sizes``,
    ``read_many``) and the callers' transfers run at once.
    """

    url: str
    jobs: int = DEFAULT_JOBS

    # Reading --------------------------------------------------------------------------------
    @abc.abstractmethod
    def read(self, rel: str, limit: int = MAX_RECORD_BYTES) -> bytes:
        """The whole file (``b""`` for an empty one).

        Reads at most ``limit + 1`` bytes whatever the file holds, and raises IntegrityError
        (:func:`too_large`) past ``limit``; FileNotFoundError when there is no file at ``rel``.
        """

    @abc.abstractmethod
    def read_range(self, rel: str, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` (exclusive) of the file: fewer when it ends sooner, none
        when it ends at or before ``start`` (an empty or cut file is not an error here).

        This is how a blob is read out of a big remote pack without downloading it, and how a
        remote object's length is checked without reading it. FileNotFoundError when there is
        no file at ``rel``.
        """

    def read_or_none(self, rel: str, limit: int = MAX_RECORD_BYTES) -> bytes | None:
        """:meth:`read`, with None for a missing file."""
        try:
            return self.read(rel, limit)
        except FileNotFoundError:
            return None

    def read_many(self, rels: Iterable[str], limit: int = MAX_RECORD_BYTES) -> dict[str, bytes | None]:
        """Many small files at once (at most ``jobs`` requests in flight): ``rel`` → its bytes,
        None when missing. Each is bounded by ``limit`` as in :meth:`read`."""
        rels = list(rels)
        if not rels:
            return {}
        with ThreadPoolExecutor(max_workers=min(self.jobs, len(rels))) as pool:
            return dict(zip(rels, pool.map(lambda r: self.read_or_none(r, limit), rels), strict=True))

    def exists(self, rel: str) -> bool:
        """True when a file (even an empty one) can be read at ``rel`` now: one small read,
        never a listing cache. Used for markers such as a distributed version's ``sealed``."""
        try:
            self.read_range(rel, 0, 1)
            return True
        except FileNotFoundError:
            return False

    @abc.abstractmethod
    def download(self, rel: str, local: Path, limit: int) -> int:
        """Copy the file to the local path ``local`` (created or truncated); return its size.

        ``limit`` is the size the caller expects: the copy stops after ``limit + 1`` bytes with
        IntegrityError (:func:`too_large`), so a hostile file cannot fill the disk. ``local``
        belongs to the caller, who removes it on any error and verifies the bytes before using
        them. FileNotFoundError when there is no file at ``rel``; a full local disk is an
        ArtctlError naming this machine, not the remote.
        """

    # Listing --------------------------------------------------------------------------------
    @abc.abstractmethod
    def sizes(self, rels: Iterable[str]) -> dict[str, int | None]:
        """Each ``rel`` → the size of the regular file there, None when there is none.

        Asked of the storage now (no listing cache). A storage that cannot be reached at all (an
        unmounted ``file://`` disk) is a RemoteError, never "every file is missing": callers
        decide from this what may be evicted locally.
        """

    @abc.abstractmethod
    def list_sizes(self, rel: str) -> dict[str, int]:
        """Every file under ``rel`` (recursively) → its size; keys are relative to the root.

        A missing ``rel`` is an empty dict. Hidden names (a write in progress) are left out.
        """

    @abc.abstractmethod
    def list_stats(self, rel: str) -> dict[str, FileStat]:
        """Every file under ``rel`` (recursively) → its size and modification time, as
        :meth:`list_sizes` (one listing; the time is the store's: S3 ``LastModified``, GCS
        ``updated``, Azure ``last_modified``, a file's ``st_mtime``)."""

    @abc.abstractmethod
    def listdir(self, rel: str) -> list[str]:
        """The names (not paths) of the files and folders directly under ``rel``, sorted.

        A missing ``rel`` is an empty list; hidden names are left out. On object stores a
        "folder" is any common prefix of the keys.
        """

    @abc.abstractmethod
    def find(self, rel: str) -> list[str]:
        """The paths (relative to the root) of every file under ``rel``, recursively, sorted.

        A missing ``rel`` is an empty list; hidden names are left out.
        """

    # Writing --------------------------------------------------------------------------------
    @abc.abstractmethod
    def write(self, rel: str, data: bytes) -> None:
        """Create or replace the file at ``rel`` with ``data``; folders are made as needed.

        Atomic: a reader sees the old bytes or the new ones, never a part, and a killed writer
        leaves the old state (``file://``: temp file + fsync + rename; object stores: one PUT).
        The last writer wins, so use it only for content-named files (objects, manifests:
        every writer writes the same bytes) and files with a single owner (a run record);
        anything that needs one winner among racing writers uses :meth:`create`.
        """

    @abc.abstractmethod
    def create(self, rel: str, data: bytes) -> bool:
        """Create the file at ``rel`` with ``data`` only if no file is there; never overwrite.

        True when this call created it, False when a file already existed (whatever its
        bytes). The storage itself picks the single winner among racing writers (``link(2)``,
        S3 and Azure ``If-None-Match: *``, GCS ``ifGenerationMatch=0``), and the file appears
        complete or not at all. This is the only concurrency control of the remote format:
        version records and alias snapshots are built on it.
        """

    @abc.abstractmethod
    def upload(self, rel: str, local: Path, verify: Callable[[], bool] | None = None) -> bool:
        """Store a copy of the local file ``local`` at ``rel`` (create or replace, as
        :meth:`write`, and as atomic: a killed upload leaves nothing under ``rel``).

        ``verify`` (re-hashing ``local``) must pass before anything becomes visible at ``rel``;
        False means it failed and nothing was written.
        """

    @abc.abstractmethod
    def delete(self, rel: str) -> None:
        """Remove the file at ``rel``; a file already gone is not an error (idempotent)."""

    # The location ---------------------------------------------------------------------------
    @abc.abstractmethod
    def check_location(self) -> bool:
        """Whether the storage's root exists: True if it does; False if it does not but may be
        created by writing into it (a ``file://`` folder whose parent exists). A RemoteError
        when it can never be (no bucket or container, no parent folder, a file in the way)."""
