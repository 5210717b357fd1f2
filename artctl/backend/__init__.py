"""The backend layer: where a repository's files are stored (docs/remotes.md).

:class:`Backend` (``base``) is the one interface, with its contract per method;
:class:`LocalBackend` (``local``) serves ``file://`` and :class:`FsspecBackend` (``cloud``)
every object store; ``guard`` turns storage failures into one error line, ``endpoint`` fails
fast on a dead endpoint, ``url`` splits remote URLs. This layer imports only ``artctl.base``,
``artctl.format`` and ``artctl.errors``: what it needs from settings (durability, parallel
requests, timeouts) is passed in by the caller as typed values.
"""

from __future__ import annotations

from typing import Any

from artctl.backend.base import (
    DEFAULT_JOBS,
    MAX_INDEX_BYTES,
    MAX_MANIFEST_BYTES,
    MAX_RECORD_BYTES,
    Backend,
    too_large,
)
from artctl.backend.cloud import FsspecBackend
from artctl.backend.endpoint import CONNECT_TIMEOUT_SECONDS
from artctl.backend.local import LocalBackend
from artctl.backend.url import split_url

__all__ = [
    "DEFAULT_JOBS",
    "MAX_INDEX_BYTES",
    "MAX_MANIFEST_BYTES",
    "MAX_RECORD_BYTES",
    "Backend",
    "FsspecBackend",
    "LocalBackend",
    "open_backend",
    "split_url",
    "too_large",
]


def open_backend(
    url: str,
    options: dict[str, Any] | None = None,
    *,
    jobs: int | None = None,
    fsync: bool = True,
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
) -> Backend:
    """The backend for ``url`` with fsspec storage ``options`` (nothing is contacted yet).

    ``fsync`` is the durability of a ``file://`` storage (object stores are durable once a
    PUT returns); ``jobs`` bounds parallel requests (default :data:`DEFAULT_JOBS`).
    """
    protocol, root = split_url(url)
    if protocol == "file":
        return LocalBackend(root, url, jobs or DEFAULT_JOBS, fsync=fsync)
    return FsspecBackend(
        protocol, root, url, options or {}, jobs or DEFAULT_JOBS, connect_timeout=connect_timeout
    )
