"""Byte ranges of reference entries (data logged by URI) for the ``artctl://`` filesystem.

A reference cannot be read by range where it lives (its source may have changed), so each one
is fetched once, whole, with ``get``'s rules — the trust check of ``references/trust.py``, the
local store first, verification against the logged BLAKE3 — into a private temporary
directory, and ranges are then served from that file. The directory goes with the reader.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import weakref
from pathlib import Path

from artctl.format.manifest import Entry
from artctl.repository.repo import Repository


class ReferenceFiles:
    """Reference entries fetched once per reader, then read by range from a local copy."""

    def __init__(self, cache_repo: Repository | None, *, cache: bool, allow_local: bool | None) -> None:
        self.cache_repo = cache_repo
        self.cache = cache
        self.allow_local = allow_local
        self._files: dict[str, Path] = {}
        self._lock = threading.RLock()
        self._tmp: str | None = None

    def read(self, entry: Entry, origin: str | None, what: str, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the reference ``entry`` of version ``what`` (whose manifest
        came from ``origin``, a remote's name, or None when it was made here)."""
        from artctl.references import state_key

        key = state_key(entry)
        with self._lock:
            local = self._files.get(key)
            if local is None:
                local = self._fetch(entry, origin, what)
                self._files[key] = local
        with open(local, "rb") as fh:
            fh.seek(start)
            return fh.read(max(0, end - start))

    def _fetch(self, entry: Entry, origin: str | None, what: str) -> Path:
        """The entry's recorded state in a private file, refused if it is not to be followed."""
        from artctl.references import adapter_for, is_checked
        from artctl.references.base import changed
        from artctl.references.trust import check_followable

        allow_local = self.allow_local
        if allow_local is None:
            repo = self.cache_repo
            allow_local = repo.settings.allow_local_references if repo is not None else False
        check_followable([entry], origin, allow_local=allow_local, what=what)
        if self._tmp is None:
            self._tmp = tempfile.mkdtemp(prefix="artctl-fs-")
            weakref.finalize(self, shutil.rmtree, self._tmp, ignore_errors=True)
        dst = Path(tempfile.mkdtemp(dir=self._tmp)) / "data"
        if self.cache_repo is not None and self.cache:
            from artctl.references.source import reference_source

            reference_source(self.cache_repo)(entry, dst)  # verifies and caches, as `get`
        elif not is_checked(entry):
            adapter_for(entry.ref).fetch_current(entry.ref, dst)  # type: ignore[arg-type]
        else:
            got = adapter_for(entry.ref).fetch(entry, dst)  # type: ignore[arg-type]
            if entry.digest is not None and got.digest != entry.digest:
                raise changed(entry, "its bytes differ from the logged BLAKE3")
        return dst
