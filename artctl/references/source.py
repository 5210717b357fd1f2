"""``get`` of a reference: fetch the recorded state, verify it, keep the bytes as cache.

The first fetcher ``get`` tries (``ops/sources.py``). For an entry with a ``ref``:

1. If the bytes of that exact recorded state were fetched before (``ref_objects`` in state.db,
   or the entry's own BLAKE3 digest) and are still in the local store, they are used.
2. Otherwise the adapter reads the recorded state (version id / generation when the provider
   keeps old versions) and verifies it (ETag, md5, size, BLAKE3). If that state is gone, it
   raises ReferenceChanged naming the path and what changed — never other bytes.
3. The verified bytes go into the local store (so ``verify`` and later ``get``s work offline)
   and are recorded as reference-backed: the reference is their other copy, so ``cache
   cleanup`` may evict them.

Entries logged with ``checksum=False`` have no state to verify: their current bytes are written
and not cached (a later ``get`` may see different bytes — that is what the user asked for).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from artctl.errors import ObjectNotFound
from artctl.format.manifest import Entry
from artctl.references import adapter_for, is_checked, state_key
from artctl.references.base import Adapter, changed
from artctl.repository import cache_state as db
from artctl.repository.user_cache import UserCache, user_cache_for

if TYPE_CHECKING:
    from artctl.repository.repo import Repository


def reference_source(repo: Repository) -> Callable[[Entry, Path], bool]:
    """A fetch function for reference entries of one ``get`` (one client per scheme)."""
    store = repo.store
    state = repo.state
    adapters: dict[str, Adapter] = {}
    lock = threading.Lock()

    def adapter(uri: str) -> Adapter:
        scheme = uri.partition("://")[0].lower()
        with lock:
            if scheme not in adapters:
                adapters[scheme] = adapter_for(uri)
            return adapters[scheme]

    def fetch(entry: Entry, dst: Path) -> bool:
        if entry.ref is None:
            return False
        if not is_checked(entry):
            adapter(entry.ref).fetch_current(entry.ref, dst)
            return True
        key = state_key(entry)
        digest = entry.digest or db.ref_objects(state, [key]).get(key)
        if digest is not None and store.has(digest):
            try:
                store.materialize(digest, dst, "auto")
                return True
            except ObjectNotFound:  # removed meanwhile (gc does not know reference caches): fetch
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(dst)
        cache = user_cache_for(repo)
        if cache is not None:
            digest = _through_user_cache(repo, cache, entry, key, digest, adapter(entry.ref))
            store.materialize(digest, dst, "auto")
            db.record_ref_object(state, key, digest)
            return True
        got = adapter(entry.ref).fetch(entry, dst)
        if entry.digest is not None and got.digest != entry.digest:
            raise changed(entry, "its bytes differ from the logged BLAKE3")
        store.put_file(dst, size=got.size, digest=got.digest)
        db.record_ref_object(state, key, got.digest)
        return True

    return fetch


def _through_user_cache(
    repo: Repository, cache: UserCache, entry: Entry, key: str, digest: str | None, source: Adapter
) -> str:
    """Bring the blob of the reference state ``key`` into the repository's store from the user
    cache, fetched into the cache first when it lacks it (the bytes land there once for every
    repository); returns its digest."""
    with cache.shared():
        digest = digest or cache.ref_digest(key)
        if digest is None or cache.lookup_object(digest) is None:
            tmp = cache.new_temp()
            try:
                got = source.fetch(entry, tmp)
                if entry.digest is not None and got.digest != entry.digest:
                    raise changed(entry, "its bytes differ from the logged BLAKE3")
                cache.publish_object(tmp, got.digest)  # got.digest: hashed while it was fetched
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            digest = got.digest
        cache.add_ref(key, digest)
        repo.store.link_in(cache.object_path(digest), digest)
        cache.register(repo.root)
    return digest
