"""Reading a remote through its compacted registry index (:mod:`artctl.ops.remote.index`).

:class:`IndexedBackend` wraps the remote's :class:`~artctl.backend.base.Backend` and answers
``read``/``read_many`` of registry files and manifests from the newest valid index, so the
registry readers (:mod:`artctl.ops.remote.protocol`) are unchanged: they list ``registry/`` and
read what they found, and only the files the index lacks cost a request. The hook is one line
where pull and push open their backend (``indexed(backend_for(…))``).

What is served from the index, and when:

* a registry file or pack index only when the wrapper's latest listing of it
  (``find``/``list_sizes``) shows it now, at the size the index holds — the listing is the
  truth of which files exist, so an index entry for a deleted file is never served;
* a manifest only when its bytes hash to its name (BLAKE3 = name), as every reader checks.

Everything else, and every write, goes to the wrapped backend unchanged. The index is read once,
on the first read it could serve; one that cannot be read or is damaged is ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from artctl.backend.base import MAX_RECORD_BYTES, Backend, FileStat
from artctl.errors import RemoteError
from artctl.format.layout import MANIFESTS
from artctl.ops.remote import index as index_mod

_PREFIXES = index_mod.PREFIXES


def _top(rel: str) -> str | None:
    """``registry``, ``manifests`` or ``packs`` when ``rel`` is (under) one of them, else None."""
    top = rel.split("/", 1)[0]
    return top if top in _PREFIXES else None


class IndexedBackend(Backend):
    """A backend whose registry, manifest and pack-index reads come from the compacted index
    when it can.

    ``requests_saved`` counts the reads answered from the index (for messages and tests).
    """

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.url = inner.url
        self.jobs = inner.jobs
        self._index: index_mod.Index | None = None
        self._loaded = False
        self._listed: dict[str, int] = {}  # key -> size, from this wrapper's listings and writes
        self._listed_tops: set[str] = set()  # prefixes listed whole
        self._known: dict[str, bytes] = {}  # small files written or read directly here
        self.requests_saved = 0

    # the index ---------------------------------------------------------------------------------
    @property
    def index(self) -> index_mod.Index | None:
        """The newest valid index, read on first use (None when there is none)."""
        if not self._loaded:
            self._loaded = True
            self._index = index_mod.newest(self.inner)
        return self._index

    def current_listing(self) -> dict[str, int]:
        """Every indexable file as this wrapper knows it now: its listings of ``registry/``,
        ``manifests/`` and ``packs/`` (made here when a reader has not made them) plus its own
        writes."""
        for top in _PREFIXES:
            if top not in self._listed_tops:
                self.list_sizes(top)
        return {k: s for k, s in self._listed.items() if index_mod.indexable(k, s)}

    def _served(self, rel: str, limit: int) -> bytes | None:
        """The indexed bytes of ``rel`` when they may stand for the file (module docstring)."""
        top = _top(rel)
        if top is None or (top != MANIFESTS and rel not in self._listed):
            return None
        index = self.index
        data = index.entries.get(rel) if index is not None else None
        if data is None or len(data) > limit or not index_mod.valid_entry(rel, data, self._listed.get(rel)):
            return None
        self.requests_saved += 1
        return data

    def _seen(self, rel: str, found: dict[str, int]) -> None:
        """Remember a listing of ``rel``: it replaces what was known under it."""
        if _top(rel) is None and rel != "":
            return
        prefix = f"{rel}/" if rel else ""
        self._listed = {k: s for k, s in self._listed.items() if not k.startswith(prefix)}
        self._listed.update(found)
        if rel in _PREFIXES or rel == "":
            self._listed_tops.add(rel)
        if rel == "":
            self._listed_tops.update(_PREFIXES)

    # reading -----------------------------------------------------------------------------------
    def read(self, rel: str, limit: int = MAX_RECORD_BYTES) -> bytes:
        data = self._served(rel, limit)
        if data is None:
            data = self.inner.read(rel, limit)
            self._keep(rel, data)
        return data

    def read_many(self, rels: Iterable[str], limit: int = MAX_RECORD_BYTES) -> dict[str, bytes | None]:
        out: dict[str, bytes | None] = {}
        rest = []
        for rel in rels:
            data = self._served(rel, limit)
            if data is None:
                rest.append(rel)
            else:
                out[rel] = data
        for rel, data in self.inner.read_many(rest, limit).items():
            out[rel] = data
            if data is not None:
                self._keep(rel, data)
        return out

    def read_range(self, rel: str, start: int, end: int) -> bytes:
        return self.inner.read_range(rel, start, end)

    def download(self, rel: str, local: Path, limit: int) -> int:
        return self.inner.download(rel, local, limit)

    # listing -----------------------------------------------------------------------------------
    def sizes(self, rels: Iterable[str]) -> dict[str, int | None]:
        return self.inner.sizes(rels)

    def list_sizes(self, rel: str) -> dict[str, int]:
        found = self.inner.list_sizes(rel)
        self._seen(rel, found)
        return found

    def list_stats(self, rel: str) -> dict[str, FileStat]:
        found = self.inner.list_stats(rel)
        self._seen(rel, {k: v.size for k, v in found.items()})
        return found

    def listdir(self, rel: str) -> list[str]:
        return self.inner.listdir(rel)

    def find(self, rel: str) -> list[str]:
        if _top(rel) is None:
            return self.inner.find(rel)
        return sorted(self.list_sizes(rel))  # the sizes tell a stale index entry from the file

    # writing -----------------------------------------------------------------------------------
    def write(self, rel: str, data: bytes) -> None:
        self.inner.write(rel, data)
        self._wrote(rel, data)

    def create(self, rel: str, data: bytes) -> bool:
        created = self.inner.create(rel, data)
        if created:
            self._wrote(rel, data)
        return created

    def upload(self, rel: str, local: Path, verify: Callable[[], bool] | None = None) -> bool:
        return self.inner.upload(rel, local, verify)

    def delete(self, rel: str) -> None:
        self.inner.delete(rel)
        self._listed.pop(rel, None)
        self._known.pop(rel, None)

    def _wrote(self, rel: str, data: bytes) -> None:
        if _top(rel) is not None:
            self._listed[rel] = len(data)
            self._keep(rel, data)

    def _keep(self, rel: str, data: bytes) -> None:
        """Remember a small file's bytes for :func:`maybe_compact` (checked again there)."""
        if _top(rel) is not None and index_mod.indexable(rel, len(data)):
            self._known[rel] = data

    @property
    def known(self) -> dict[str, bytes]:
        """Bytes of indexable files this wrapper wrote or read from the storage itself."""
        return dict(self._known)

    def check_location(self) -> bool:
        return self.inner.check_location()


def indexed(backend: Backend) -> Backend:
    """``backend`` read through the remote's compacted registry index (the pull/push hook)."""
    return backend if isinstance(backend, IndexedBackend) else IndexedBackend(backend)


def maybe_compact(backend: Backend, threshold: int | None = None) -> index_mod.CompactReport | None:
    """After a push: compact when more than ``threshold`` (default
    :data:`~artctl.ops.remote.index.THRESHOLD`) files are not in the newest index, so a reader
    never needs more than about that many extra GETs. Uses what an :class:`IndexedBackend`
    already listed and read when it can."""
    threshold = index_mod.THRESHOLD if threshold is None else threshold
    known: dict[str, bytes] = {}
    if isinstance(backend, IndexedBackend):
        files, index, target, known = backend.current_listing(), backend.index, backend.inner, backend.known
    else:
        files, index, target = index_mod.listing(backend), index_mod.newest(backend), backend
    if len(index_mod.unindexed(files, index)) <= threshold:
        return None
    try:
        return index_mod.compact(target, known=known)
    except RemoteError:  # the push itself succeeded; readers read the files one by one
        return None
