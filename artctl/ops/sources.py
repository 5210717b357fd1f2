"""Where bytes come from when the local store lacks them.

``get`` asks :func:`make_fetcher` for one function that writes an entry's bytes to a path.
Each source (a reference's external storage, a remote holding the object) is tried in order;
features add themselves to :data:`SOURCES` rather than special-casing ``get``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from artctl.errors import ObjectNotFound
from artctl.format.manifest import Entry

if TYPE_CHECKING:
    from artctl.api.repo import Repo

#: A source: given the repo, returns a fetch function for entries it can serve, or None.
Source = Callable[["Repo"], "Callable[[Entry, Path], bool] | None"]
SOURCES: list[Source] = []
#: Feature modules that register a source when imported; loaded on the first fetch.
FEATURE_MODULES: list[str] = ["artctl.references.source"]


def load_features() -> None:
    """Import every feature module listed in :data:`FEATURE_MODULES` (idempotent)."""
    from importlib import import_module

    for module in FEATURE_MODULES:
        import_module(module)


#: Prefetchers: given the repo and the entries a `get` lacks, bring many of them in bulk
#: (e.g. whole packs from a remote) before the per-entry sources run.
Prefetcher = Callable[["Repo", "list[Entry]"], None]
PREFETCHERS: list[Prefetcher] = []


def prefetch(repo: Repo, entries: list[Entry]) -> None:
    """Run every prefetcher on the entries whose bytes the local store lacks."""
    if not entries:
        return
    load_features()
    for prefetcher in PREFETCHERS:
        prefetcher(repo, entries)


def make_fetcher(repo: Repo) -> Callable[[Entry, Path], None]:
    """One fetch function trying every registered source, then failing with a hint."""
    fetchers: list[Callable[[Entry, Path], bool]] | None = None

    def fetch(entry: Entry, dst: Path) -> None:
        nonlocal fetchers
        if fetchers is None:
            load_features()
            fetchers = [f for f in (source(repo) for source in SOURCES) if f is not None]
        for fetcher in fetchers:
            if fetcher(entry, dst):
                return
        raise ObjectNotFound(
            f"the bytes of {entry.path} are not in the local store",
            hint="run `artctl pull --all` if they live on a remote",
        )

    return fetch


def _remote_source(repo: Repo) -> Callable[[Entry, Path], bool] | None:
    """Blobs missing locally come from the configured remotes (lazy: no fsspec import otherwise)."""
    from artctl.ops.remote.source import remote_source

    return remote_source(repo)


SOURCES.append(_remote_source)


def _remote_prefetch(repo: Repo, entries: list[Entry]) -> None:
    from artctl.ops.remote.source import remote_prefetch

    remote_prefetch(repo, entries)


PREFETCHERS.append(_remote_prefetch)
