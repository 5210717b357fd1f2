"""The remotes' metadata mirrors (``--repo URL``) as part of the user cache's size and bound.

A mirror (:mod:`artctl.ops.remote.mirror`) is a repository under ``<cache.dir>/mirrors/``. The
objects a ``get`` through it fetched stay in its store; they are on its remote by definition
(a mirror's writes are published before the command returns), and ``get`` recorded that
remote copy, so they are a repository's cache like any other: they are evicted by the very
cleanup a repository's own ``cache cleanup`` runs (:func:`artctl.ops.cache_evict.cleanup`: an
object goes only when its copy is recorded and re-confirmed on the remote). Its metadata
(registry, manifests, ``state.db``) is counted, never evicted: the next command refreshes it.

A mirror some process is using — its lock held (a refresh or publish), a live session file (a
command running on it), its store's cache lock held (a ``get`` reading) — is skipped after a
short wait, never waited for. The least recently used mirror (its last opening, or its last
``get``) is shrunk first.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from artctl.errors import ArtctlError, LockTimeout
from artctl.format.layout import DIRNAME
from artctl.ops import cache_evict
from artctl.ops.cache_evict import CleanupResult
from artctl.ops.remote.mirror import MIRROR_MARK, MIRRORS_DIR, live_sessions, mirror_lock
from artctl.repository.repo import Repository

#: How long a cleanup waits for a mirror's locks before skipping it as in use.
BUSY_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class MirrorInfo:
    """One mirror's size: its store split as ``cache info`` splits a repository's, plus the
    rest of its directory (metadata)."""

    url: str
    location: str
    cache_bytes: int
    pinned_bytes: int
    metadata_bytes: int
    last_used: float

    @property
    def total_bytes(self) -> int:
        return self.cache_bytes + self.pinned_bytes + self.metadata_bytes

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "total_bytes": self.total_bytes}


@dataclass(frozen=True)
class MirrorCleanup:
    """What a cleanup did to one mirror: its repository cleanup's result, or why it was skipped
    (``skipped``: in use, or unreadable)."""

    url: str
    location: str
    result: CleanupResult | None = None
    skipped: str | None = None

    def to_json(self) -> dict[str, Any]:
        body = self.result.to_json() if self.result is not None else {}
        return {"url": self.url, "location": self.location, "skipped": self.skipped, **body}


def summary(mirrors: list[MirrorInfo]) -> dict[str, Any]:
    """The ``mirrors`` part of ``cache info --json``: counts, totals and each mirror."""
    return {
        "count": len(mirrors),
        "total_bytes": sum(m.total_bytes for m in mirrors),
        "cache_bytes": sum(m.cache_bytes for m in mirrors),
        "pinned_bytes": sum(m.pinned_bytes for m in mirrors),
        "metadata_bytes": sum(m.metadata_bytes for m in mirrors),
        "mirrors": [m.to_json() for m in mirrors],
    }


def mirror_directories(cache_root: Path) -> list[tuple[Path, str]]:
    """Every mirror under ``<cache_root>/mirrors`` and the URL it mirrors (its mark file)."""
    found: list[tuple[Path, str]] = []
    base = cache_root / MIRRORS_DIR
    if not base.is_dir():
        return found
    for directory in sorted(p for p in base.iterdir() if p.is_dir()):
        try:
            url = (directory / MIRROR_MARK).read_text().strip()
        except OSError:
            continue  # being created (the mark comes last), or not a mirror
        found.append((directory, url))
    return found


def survey(cache_root: Path) -> list[MirrorInfo]:
    """Every readable mirror's size, least recently used first (from the records alone)."""
    out = []
    for directory, url in mirror_directories(cache_root):
        try:
            with _opened(directory) as repository:
                units = cache_evict.scan(repository)
        except (ArtctlError, OSError):
            continue  # being created, or damaged: nothing to count that can be trusted
        store = sum(u.size for u in units)
        last = max([_mtime(directory / MIRROR_MARK), *(u.last_used for u in units)])
        out.append(
            MirrorInfo(
                url=url,
                location=str(directory),
                cache_bytes=sum(u.size for u in units if u.evictable),
                pinned_bytes=sum(u.size for u in units if not u.evictable),
                metadata_bytes=max(0, _directory_bytes(directory) - store),
                last_used=last,
            )
        )
    return sorted(out, key=lambda m: (m.last_used, m.location))


def shrink(mirror: MirrorInfo, limit: int, *, dry_run: bool, timeout: float) -> MirrorCleanup:
    """Evict the mirror's least recently used objects until its cache fits in ``limit`` —
    unless a process is using it (then skipped, after at most ``timeout`` per lock)."""
    directory = Path(mirror.location)
    try:
        with mirror_lock(directory, mirror.url, timeout):
            if live_sessions(directory):
                return MirrorCleanup(mirror.url, mirror.location, skipped="in use by another process")
            with _opened(directory) as repository:
                result = cache_evict.cleanup(repository, limit, dry_run=dry_run, lock_timeout=timeout)
    except LockTimeout:
        return MirrorCleanup(mirror.url, mirror.location, skipped="in use by another process")
    except ArtctlError as exc:
        return MirrorCleanup(mirror.url, mirror.location, skipped=exc.message)
    except OSError as exc:
        return MirrorCleanup(mirror.url, mirror.location, skipped=str(exc))
    return MirrorCleanup(mirror.url, mirror.location, result=result)


def _opened(directory: Path) -> contextlib.AbstractContextManager[Repository]:
    return contextlib.closing(Repository(directory / DIRNAME))


def _directory_bytes(directory: Path) -> int:
    total = 0
    for dirpath, _dirs, names in os.walk(directory):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
