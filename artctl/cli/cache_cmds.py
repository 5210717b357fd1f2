"""``artctl cache info`` / ``artctl cache cleanup SIZE``: keep downloaded objects in bounds.

Both work from any directory on the user cache (``cache.dir``); inside a repository they also
cover that repository's own store, as before (its keys stay at the top of ``--json``; the user
cache's are under ``user_cache``, null when it is turned off).
"""

from __future__ import annotations

import os
from typing import Any

import click

from artctl.base.units import count, human_size
from artctl.cli.common import get_output, json_option, open_repo


def _repo_or_none():
    """The repository around the working directory, or None outside one (``ARTCTL_DIR``
    naming no repository stays an error: the user asked for one)."""
    from artctl.errors import RepositoryNotFound

    if os.environ.get("ARTCTL_DIR"):
        return open_repo()
    try:
        return open_repo()
    except RepositoryNotFound:
        return None


def _user_cache(repo):
    """The user cache that ``repo`` uses (its ``cache.dir``), or outside a repository the one
    of the user config and ``ARTCTL_CACHE_DIR``; None when turned off."""
    from artctl.repository.user_cache import open_user_cache, user_cache_for

    if repo is not None:
        return user_cache_for(repo.repository)
    from artctl.repository.config import Config
    from artctl.repository.settings import user_cache_dir

    return open_user_cache(user_cache_dir(Config(None)))


def _nothing_to_do(repo, cache) -> None:
    if repo is None and cache is None:
        from artctl.errors import InvalidInput

        raise InvalidInput(
            "not inside a repository, and the user cache is turned off (cache.dir = none)",
            hint="run it inside a repository, or set cache.dir (`artctl config --user cache.dir DIR`)",
        )


@click.group("cache")
def cache_group() -> None:
    """Inspect and shrink the user cache (cache.dir) and a repository's downloaded objects.

    The user cache holds what every repository of the user downloaded from remotes and
    references, once; a repository's own store keeps objects that also exist on a remote or
    reference. `cache info` and `cache cleanup SIZE` work from any directory.

    \b
    Examples:
      artctl cache info
      artctl cache cleanup 20GB
    """


@cache_group.command("info")
@json_option
def info_cmd() -> None:
    """Size of the caches (evictable objects) and of the pinned data (the only copies).

    Works from any directory: the user cache (cache.dir, default ~/.cache/artctl) shared by
    every repository, with the mirrors of remotes opened by --repo URL; inside a repository,
    also that repository's store. Reports from the records alone, without the network.

    \b
    Example:
      artctl cache info --json
    """
    from artctl.ops import user_cache

    repo = _repo_or_none()
    cache = _user_cache(repo)
    _nothing_to_do(repo, cache)
    shared = user_cache.info(cache) if cache is not None else None
    out = get_output()
    if out.json:
        document: dict[str, Any] = {}
        if repo is not None:
            from artctl.ops.cache_evict import info

            document.update(info(repo).to_json())
        document["user_cache"] = shared.to_json() if shared is not None else None
        out.emit_json(document)
        return
    if repo is not None:
        _repo_info(repo)
    if shared is not None:
        _user_info(shared)
    elif repo is not None:
        out.result("user cache: off (cache.dir = none)")


def _user_info(result) -> None:
    from rich.table import Table

    out = get_output()
    table = Table("user cache", "size", "objects", "")
    table.add_row(
        "cache",
        human_size(result.cache_bytes),
        str(result.cache_objects),
        "evictable: a repository, a remote or a reference has another copy",
    )
    table.add_row(
        "pinned", human_size(result.pinned_bytes), str(result.pinned_objects), "no other copy is known"
    )
    if result.temp_files:
        table.add_row(
            "temp",
            human_size(result.temp_bytes),
            count(result.temp_files, "file"),
            "removed by the next cleanup",
        )
    out.table(table)
    out.result(
        f"user cache: {count(result.loose_objects, 'loose object')}, {count(result.packs, 'pack')}, used by "
        f"{count(result.repositories, 'repository', 'repositories')}, at {result.location}"
    )
    _mirrors_info(result.mirrors)


def _mirrors_info(mirrors) -> None:
    """The remotes' mirrors (``--repo URL``) in the user cache, one row each."""
    if not mirrors:
        return
    from rich.table import Table

    out = get_output()
    table = Table("mirror of", "cache", "pinned", "metadata")
    for mirror in mirrors:
        table.add_row(
            mirror.url,
            human_size(mirror.cache_bytes),
            human_size(mirror.pinned_bytes),
            human_size(mirror.metadata_bytes),
        )
    out.table(table)
    total = sum(m.total_bytes for m in mirrors)
    out.result(
        f"mirrors of {count(len(mirrors), 'remote')} (--repo URL): {human_size(total)}; "
        "`cache cleanup` evicts their cache"
    )


def _repo_info(repo) -> None:
    from artctl.ops.cache_evict import info

    result = info(repo)
    out = get_output()
    from rich.markup import escape
    from rich.table import Table

    table = Table("", "size", "objects", "")
    table.add_row(
        "cache",
        human_size(result.cache_bytes),
        str(result.cache_objects),
        "evictable: also on a remote or at a reference",
    )
    table.add_row(
        "pinned",
        human_size(result.pinned_bytes),
        str(result.pinned_objects),
        "only copy; push them to make them evictable",
    )
    if result.temp_files:
        table.add_row(
            "temp",
            human_size(result.temp_bytes),
            count(result.temp_files, "file"),
            escape("older than 1 hour: `artctl cache cleanup SIZE --remove-temp`"),
        )
    out.table(table)
    out.result(
        f"store: {count(result.loose_objects, 'loose object')}, {count(result.packs, 'pack')} "
        f"at {result.location}"
    )


@cache_group.command("cleanup", context_settings={"ignore_unknown_options": True})
@click.argument("size", metavar="SIZE")
@click.option("--dry-run", is_flag=True, help="Only print what would be evicted.")
@click.option(
    "--remove-temp",
    is_flag=True,
    help="Also delete leftover temp files older than 1 hour (from killed processes).",
)
@json_option
def cleanup_cmd(size: str, dry_run: bool, remove_temp: bool) -> None:
    """Evict least-recently-used cached objects until each cache fits in SIZE.

    Works from any directory (cron): it bounds the user cache (cache.dir, default
    ~/.cache/artctl) shared by every repository of the user; inside a repository, that
    repository's store too, each to SIZE. SIZE is e.g. 0, 500MiB, 1GB (1 GB = 10^9 bytes,
    1 GiB = 2^30). Only objects with another copy are evicted, never the only copy of anything,
    never while a `get` is reading; a later `get` fetches them again. In a repository a remote
    copy counts only if this machine pushed or fetched those bytes; in the user cache, a
    repository holding the object, the remote it was downloaded from, or its reference counts.
    A remote copy is checked on the remote first. The mirrors of remotes opened by --repo URL
    count towards SIZE too: their objects go first, least recently used mirror first; a mirror
    in use is skipped, one whose remote cannot be reached keeps its objects. Prints nothing
    and exits 0 when there is nothing to do, so it fits a cron line.

    \b
    Examples:
      artctl cache cleanup 1GB
      artctl cache cleanup 0 --dry-run
      artctl artifact cache cleanup 1GB     # the same, as W&B spells it
      0 3 * * * artctl cache cleanup 20GB   # the user cache, from anywhere
      0 3 * * * cd /data && artctl cache cleanup 20GB --remove-temp
    """
    from artctl.base.units import parse_size
    from artctl.ops import user_cache

    limit = parse_size(size)
    repo = _repo_or_none()
    cache = _user_cache(repo)
    _nothing_to_do(repo, cache)
    shared = user_cache.cleanup(cache, limit, dry_run=dry_run) if cache is not None else None
    out = get_output()
    if repo is None:
        assert shared is not None  # _nothing_to_do: outside a repository the user cache is on
        _report_user_cleanup(shared, {"user_cache": shared.to_json()} if out.json else None)
        return
    from artctl.ops.cache_evict import cleanup

    result = cleanup(repo, limit, dry_run=dry_run, remove_temp=remove_temp)
    for remote, why in sorted(result.unreachable.items()):
        out.warn(f"remote {remote} could not be checked, its copies count as absent: {why}")
    if result.unconfirmed_bytes:
        out.warn(
            f"kept {human_size(result.unconfirmed_bytes)} whose remote copy is not confirmed "
            "(missing, cut short or unreachable); `artctl push` sends it again"
        )
    if out.json:
        _report_user_cleanup(shared, {**result.to_json(), "user_cache": shared.to_json() if shared else None})
        return
    _report_evictions(result, source="", summary="", now="cache now")
    _report_user_cleanup(shared, None)


def _report_evictions(result, *, source: str, summary: str, now: str) -> None:
    """What one cache's cleanup evicted: with --dry-run each unit on stdout (``source`` names the
    cache: " from the user cache"), then one line on stderr of what it freed (``summary``
    prefixes it, ``now`` introduces the size left), unless nothing was done."""
    out = get_output()
    if result.dry_run:
        for unit in result.evicted:
            kind = "pack" if unit.pack else "object"
            out.result(
                f"would evict {kind} {unit.id[:16]}{source} "
                f"({human_size(unit.size)}, {count(len(unit.blobs), 'object')})"
            )
    if result.nothing_done:
        return
    verb = "would free" if result.dry_run else "freed"
    objects = sum(len(u.blobs) for u in result.evicted)
    extra = f", {result.temp_files_removed} temp files" if result.temp_files_removed else ""
    out.info(
        f"{summary}{verb} {human_size(result.freed_bytes)} ({count(objects, 'object')}{extra}); {now} "
        f"{human_size(result.cache_bytes_after)}, pinned {human_size(result.pinned_bytes)}"
    )


def _report_user_cleanup(result, document: dict[str, Any] | None) -> None:
    """The user cache's part of ``cache cleanup``: warnings, then the JSON ``document`` (when
    given) or its lines."""
    out = get_output()
    if result is not None:
        _report_mirrors(result.mirrors, lines=document is None)
        for url, why in sorted(result.unreachable.items()):
            out.warn(f"remote {url} could not be checked, its copies in the user cache are kept: {why}")
        if result.unconfirmed_bytes:
            out.warn(
                f"kept {human_size(result.unconfirmed_bytes)} in the user cache whose remote copy is "
                "not confirmed (missing, cut short or unreachable)"
            )
    if document is not None:
        out.emit_json(document)
        return
    if result is not None:
        _report_evictions(result, source=" from the user cache", summary="user cache: ", now="now")


def _report_mirrors(mirrors, *, lines: bool) -> None:
    """Each mirror's part of ``cache cleanup``: why one was skipped or kept bytes (warnings),
    and (with ``lines``) what was freed in it."""
    out = get_output()
    for mirror in mirrors:
        if mirror.skipped is not None:
            out.warn(f"mirror of {mirror.url} skipped, its objects are kept: {mirror.skipped}")
            continue
        result = mirror.result
        for remote, why in sorted(result.unreachable.items()):
            out.warn(
                f"mirror of {mirror.url}: remote {remote} could not be checked, its objects are kept: {why}"
            )
        if lines:
            label = f"mirror of {mirror.url}"
            _report_evictions(result, source=f" from the {label}", summary=f"{label}: ", now="now")


@click.group("cache")
def artifact_cache_group() -> None:
    """Shrink the download cache: `artctl cache cleanup`, as W&B spells it."""


artifact_cache_group.add_command(cleanup_cmd)


def register(group: click.Group) -> None:
    from artctl.cli.artifact_cmds import artifact_group

    group.add_command(cache_group)
    artifact_group.add_command(artifact_cache_group)
