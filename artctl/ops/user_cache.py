"""``cache info`` / ``cache cleanup`` of the user cache (``cache.dir``), from any directory.

The user cache (:mod:`artctl.repository.user_cache`) holds bytes downloaded from remotes and
references. A cached file (a blob, or a whole pack) may be evicted only when every blob in it
has another copy, one of:

* a **repository** that used the cache (``repos`` in ``cache.db``) holds it in its own store
  (loose or packed; a hard link to the cache's file counts: deleting the cache's name leaves
  the repository's);
* the **remote** it was downloaded from still holds that file at the size it had when the
  download was verified (``origins``; a pack together with its index) — re-confirmed on the
  remote right before eviction, with :mod:`artctl.ops.remote.confirm`'s check. The remote is
  reached with the storage options of a registered repository (or of the user config) that
  names the same URL, else with none (credentials from the environment);
* the **reference** it was fetched from (``refs``), as in a repository's own cache: not
  re-checked (a reference's past state cannot be listed cheaply).

Everything else is pinned. Like a repository's cleanup, ``SIZE`` bounds the evictable bytes,
least recently used first (last use = the file's mtime, set on every fill and every link into
a repository). Eviction runs under the cache's exclusive lock: no process fills or links from
the cache meanwhile; temp files and half-published packs are removed then (no fill is running).

The remotes' metadata mirrors in the cache (``--repo URL``, :mod:`artctl.ops.mirror_cache`) are
counted and bounded with it: ``SIZE`` bounds their evictable bytes and the cache's own together,
the mirrors shrunk first (:func:`cleanup`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from artctl.base.locks import CLEANUP_TIMEOUT_SECONDS
from artctl.errors import ArtctlError, RemoteError
from artctl.ops.cache_evict import CacheInfo, CleanupResult, Unit, confirmed_plan
from artctl.ops.mirror_cache import BUSY_TIMEOUT_SECONDS, MirrorCleanup, MirrorInfo, shrink, summary, survey
from artctl.ops.remote.confirm import Confirmation, holds, sizes_of
from artctl.repository.config import Config
from artctl.repository.state import RemoteCopy
from artctl.repository.user_cache import CachedFile, UserCache
from artctl.repository.user_cache_db import Origin


@dataclass(frozen=True)
class UserCacheInfo(CacheInfo):
    """What the user cache holds (a repository's ``cache info``, plus the repositories using it
    and the remotes' mirrors in it, least recently used first)."""

    repositories: int = 0
    mirrors: tuple[MirrorInfo, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "mirrors": summary(list(self.mirrors))}


@dataclass(frozen=True)
class UserCacheCleanup(CleanupResult):
    """What a cleanup of the user cache evicted (or, with ``dry_run``, would evict): a
    repository's cleanup result, plus where the cache is and what was done to each mirror."""

    location: str = ""
    mirrors: tuple[MirrorCleanup, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "location": self.location,
            **super().to_json(),
            "mirrors": [m.to_json() for m in self.mirrors],
        }


def held_by_repositories(cache: UserCache, digests: set[str]) -> set[str]:
    """The subset of ``digests`` that some registered repository stores. A registered
    directory that is no longer a repository is forgotten; one that cannot be read counts as
    holding nothing (safe: its copies are just not counted)."""
    from artctl.format.layout import FORMAT_FILE
    from artctl.repository.repo import Repository

    held: set[str] = set()
    for root in cache.repositories():
        if not (root / FORMAT_FILE).is_file():
            cache.forget_repository(root)
            continue
        if not digests - held:
            break
        try:
            repository = Repository(root)
            try:
                held |= repository.store.has_many(digests - held)
            finally:
                repository.state.close()
        except (ArtctlError, OSError):
            continue
    return held


def scan(cache: UserCache) -> tuple[list[Unit], dict[str, CachedFile]]:
    """Every cached file as a :class:`~artctl.ops.cache_evict.Unit` (evictable when another
    copy is recorded; ``remote_backed`` = its own id when only a remote's copy is, to be
    confirmed), and the files by id."""
    files = {f.id: f for f in cache.files()}
    blobs = {d for f in files.values() for d in f.blobs}
    held = held_by_repositories(cache, blobs)
    by_ref = cache.reference_backed(blobs - held)
    origins = cache.origins(files)
    units = []
    for f in files.values():
        local = all(d in held or d in by_ref for d in f.blobs)
        remote = not local and bool(origins.get(f.id))
        units.append(
            Unit(f.id, f.pack, f.size, f.blobs, f.last_used, local or remote, (f.id,) if remote else ())
        )
    return units, files


def info(cache: UserCache) -> UserCacheInfo:
    """The user cache's size, split by the records alone (no network)."""
    units, _files = scan(cache)
    temps = _sizes(cache.debris())
    cached = [u for u in units if u.evictable]
    pinned = [u for u in units if not u.evictable]
    return UserCacheInfo(
        location=str(cache.root),
        cache_bytes=sum(u.size for u in cached),
        cache_objects=sum(len(u.blobs) for u in cached),
        pinned_bytes=sum(u.size for u in pinned),
        pinned_objects=sum(len(u.blobs) for u in pinned),
        loose_objects=sum(1 for u in units if not u.pack),
        packs=sum(1 for u in units if u.pack),
        repositories=len(cache.repositories()),
        temp_files=len(temps),
        temp_bytes=sum(temps.values()),
        mirrors=tuple(survey(cache.root)),
    )


def cleanup(
    cache: UserCache, limit: int, *, dry_run: bool = False, lock_timeout: float = CLEANUP_TIMEOUT_SECONDS
) -> UserCacheCleanup:
    """Evict least recently used objects of the remotes' mirrors, then files of the user cache,
    until their evictable bytes together fit in ``limit``, never one whose other copy is not
    there (module docstring).

    Mirrors first, each before the user cache's lock is taken (THE LOCK ORDER: a mirror's locks
    come before the user cache's): an object a mirror holds is usually a hard link to the user
    cache's file, so only evicting both frees its disk space, and the user cache then counts the
    remote alone as the other copy, which it re-confirms."""
    mirrors, mirror_bytes = _shrink_mirrors(cache, limit, dry_run)
    own_limit = max(0, limit - mirror_bytes)
    if dry_run:
        return _cleanup_locked(cache, own_limit, True, mirrors)
    with cache.exclusive(lock_timeout):
        return _cleanup_locked(cache, own_limit, False, mirrors)


def _shrink_mirrors(cache: UserCache, limit: int, dry_run: bool) -> tuple[tuple[MirrorCleanup, ...], int]:
    """Shrink the mirrors, least recently used first, each just enough for the mirrors' and the
    user cache's evictable bytes to fit in ``limit``; the results, and the mirrors' evictable
    bytes left (a skipped mirror keeps all of its own)."""
    units, _files = scan(cache)
    own = sum(u.size for u in units if u.evictable)
    mirrors = survey(cache.root)
    left = {m.location: m.cache_bytes for m in mirrors}
    done = []
    for mirror in mirrors:
        total = own + sum(left.values())
        if total <= limit:
            break
        if not left[mirror.location]:
            continue
        outcome = shrink(
            mirror,
            max(0, limit - (total - left[mirror.location])),
            dry_run=dry_run,
            timeout=BUSY_TIMEOUT_SECONDS,
        )
        if outcome.result is not None:
            left[mirror.location] = outcome.result.cache_bytes_after
        done.append(outcome)
    return tuple(done), sum(left.values())


def _cleanup_locked(
    cache: UserCache, limit: int, dry_run: bool, mirrors: tuple[MirrorCleanup, ...] = ()
) -> UserCacheCleanup:
    units, files = scan(cache)
    units, chosen, unconfirmed, unreachable = confirmed_plan(
        units, limit, lambda ids: confirm_origins(cache, ids)
    )
    before = sum(u.size for u in units if u.evictable)
    temps = {} if dry_run else _sizes(cache.debris())
    if not dry_run:
        for unit in chosen:
            cache.evict(files[unit.id])
        for path in temps:
            with contextlib.suppress(OSError):
                path.unlink()
    return UserCacheCleanup(
        limit=limit,
        dry_run=dry_run,
        cache_bytes_before=before,
        cache_bytes_after=before - sum(u.size for u in chosen),
        pinned_bytes=sum(u.size for u in units if not u.evictable),
        evicted=chosen,
        temp_files_removed=len(temps),
        temp_bytes_removed=sum(temps.values()),
        unconfirmed_bytes=unconfirmed,
        unreachable=unreachable,
        location=str(cache.root),
        mirrors=mirrors,
    )


def confirm_origins(cache: UserCache, ids: set[str]) -> Confirmation:
    """Which cached files (by id) a remote they were downloaded from still holds at the
    recorded file and size; records the check disproves are forgotten."""
    out = Confirmation()
    by_url: dict[str, list[tuple[str, Origin]]] = {}
    for unit, origins in cache.origins(ids).items():
        for origin in origins:
            by_url.setdefault(origin.url, []).append((unit, origin))
    for url, items in sorted(by_url.items()):
        todo = [(unit, o, RemoteCopy(unit, o.file, o.size)) for unit, o in items if unit not in out.confirmed]
        if not todo:
            continue
        try:
            sizes = sizes_of(_backend(cache, url), [copy for _u, _o, copy in todo])
        except RemoteError as exc:
            out.unreachable[url] = exc.message
            continue
        for unit, origin, copy in todo:
            if holds(sizes, copy):
                out.confirmed.add(unit)
            else:
                cache.forget_origin(unit, origin)
    return out


def _backend(cache: UserCache, url: str):
    """A backend for ``url`` with the storage options of a remote that names it (a registered
    repository's, else the user config's), else none."""
    from artctl.backend import open_backend
    from artctl.format.layout import FORMAT_FILE

    configs = [
        Config(root / "config.toml") for root in cache.repositories() if (root / FORMAT_FILE).is_file()
    ]
    for config in [*configs, Config(None)]:
        try:
            remotes = config.table("remote")
        except ArtctlError:
            continue
        for spec in remotes.values():
            if isinstance(spec, dict) and spec.get("url") == url:
                options = spec.get("options")
                return open_backend(url, options if isinstance(options, dict) else {})
    return open_backend(url, {})


def _sizes(paths: list[Path]) -> dict[Path, int]:
    out = {}
    for path in paths:
        with contextlib.suppress(OSError):
            out[path] = path.stat().st_size
    return out
