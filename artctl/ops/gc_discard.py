"""Taking back at once what a failed write stored (``discard_on_failure``), with gc's locks and
its mark instead of waiting for the grace period (see :mod:`artctl.ops.gc`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from artctl.base.locks import cache_exclusive, gc_exclusive, holds_shared
from artctl.ops.gc_plan import Plan, mark
from artctl.repository.repack import pack_blobs

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

#: How long a failed put waits for gc's locks to take back what it stored; if other writers
#: are in flight that long, the leftovers stay for the next gc (they are unreferenced).
DISCARD_TIMEOUT_SECONDS = 2.0


@contextlib.contextmanager
def discard_on_failure(repo: Repository) -> Iterator[None]:
    """Wrap a write (put, draft add, upsert) so that, if it fails, the objects and packs it
    created and nothing references are removed at once instead of after the grace period.

    This matters most after ENOSPC: the bytes of a put that will never be committed would
    otherwise fill the disk for an hour. The block must not hold gc's guard itself (the
    removal takes it exclusively, like gc: no other write is in flight while it decides).
    """
    with repo.store.recording_created() as created:
        try:
            yield
        except BaseException:
            loose, packs = created()
            if loose or packs:
                with contextlib.suppress(Exception):  # best effort: never hides the real error
                    discard_created(repo, loose, packs)
            raise


def discard_created(repo: Repository, loose: set[str], packs: set[str]) -> int | None:
    """Delete those of ``loose`` objects and ``packs`` that no version or draft references;
    return the bytes freed, or None when gc's locks were not free within a moment."""
    from artctl.errors import LockTimeout

    locks = repo.locks_dir
    if holds_shared(locks):  # inside another write of this process: its version may need them
        return None
    try:
        with (
            cache_exclusive(locks, timeout=DISCARD_TIMEOUT_SECONDS),
            gc_exclusive(locks, timeout=DISCARD_TIMEOUT_SECONDS, tmp_dir=repo.tmp_dir),
        ):
            plan = Plan(grace=0)
            _live_manifests, live = mark(repo, plan, {}, None)
            if plan.unreadable:
                return None
            freed = 0
            for digest in sorted(loose - live):
                freed += repo.store.delete_loose(digest)
            for pack_id in sorted(packs):
                try:
                    blobs = pack_blobs(repo.store, pack_id)
                except Exception:  # noqa: BLE001 - gone or damaged: not ours to judge here
                    continue
                if not any(d in live for d, _, _ in blobs):
                    freed += repo.store.delete_pack(pack_id)
            return freed
    except LockTimeout:
        return None
