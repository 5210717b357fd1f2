"""Where bytes come from when the local store lacks them: the fetchers ``get`` composes.

``get`` asks :func:`make_fetcher` for one function that writes an entry's bytes to a path. It
tries, in this order: the entry's reference (an external URL, read at its recorded state:
``references/source.py``), then the configured remotes (``ops/remote/source.py``). Before the
per-entry fetchers run, :func:`prefetch` lets the remotes bring many missing blobs at once
(whole packs). A new kind of source is one more line here, not a plug-in registered at import.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from artctl.errors import ObjectNotFound
from artctl.format.manifest import Entry
from artctl.references.source import reference_source
from artctl.repository.repo import Repository

#: A per-entry fetcher: writes the entry's bytes to the path and returns True, or returns False
#: when the entry is not its kind (the next fetcher is tried).
Fetcher = Callable[[Entry, Path], bool]


def _fetchers(repository: Repository) -> list[Fetcher]:
    """The fetchers of one ``get``, in order (remotes only when some are configured: no fsspec
    import otherwise)."""
    from artctl.ops.remote.source import remote_source

    remote = remote_source(repository)
    return [reference_source(repository), *([remote] if remote is not None else [])]


def prefetch(repository: Repository, entries: list[Entry]) -> None:
    """Bring in bulk (whole packs from a remote) what the local store lacks of ``entries``."""
    if not entries:
        return
    from artctl.ops.remote.source import remote_prefetch

    remote_prefetch(repository, entries)


def make_fetcher(repository: Repository) -> Callable[[Entry, Path], None]:
    """One fetch function trying every fetcher in order, then failing with a hint."""
    fetchers: list[Fetcher] | None = None

    def fetch(entry: Entry, dst: Path) -> None:
        nonlocal fetchers
        if fetchers is None:  # built at the first miss: a get served from the store needs none
            fetchers = _fetchers(repository)
        for fetcher in fetchers:
            if fetcher(entry, dst):
                return
        raise ObjectNotFound(
            f"the bytes of {entry.path} are not in the local store",
            hint="run `artctl pull --all` if they live on a remote",
        )

    return fetch
