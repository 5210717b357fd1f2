"""Removing dead blobs from packs: delete packs that hold nothing live, rewrite the rest.

A pack is immutable, so dropping some of its blobs means copying the live ones into a new pack
and then deleting the old one. The order keeps every live blob reachable at every instant:
new pack durable (``.pack`` then ``.idx``) → index rows moved to it → old ``.idx`` removed →
old rows forgotten → old ``.pack`` unlinked. Each copied blob is re-hashed on the way, so a
repack never turns a corrupt blob into a "verified" one; a pack with a corrupt live blob is
left alone and reported.

Callers (gc) must hold the gc guard exclusively (``artctl.base.locks.gc_exclusive``) so no writer reuses
a blob that is being dropped.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from artctl.base.crashpoints import crash_point, declare
from artctl.base.hashing import hash_bytes
from artctl.errors import IntegrityError
from artctl.repository.packs import PackWriter, decode_index, read_slice

if TYPE_CHECKING:
    from artctl.repository.objects import Store


REPACK_BEFORE_RENAME = declare(
    "gc.repack-before-rename",
    "the new pack complete under tmp/ only, every old pack intact: the next writer or gc removes "
    "the temp file; the re-run repacks again",
)
REPACK_BEFORE_INDEX = declare(
    "gc.repack-before-index",
    "the new .pack without its .idx, every old pack intact: the re-run writes the same pack "
    "and its index (or removes it as an interrupted pack)",
)
REPACK_BEFORE_ROWS = declare(
    "gc.repack-before-rows",
    "the new pack complete, state.db still pointing at the old packs (also complete): every "
    "blob readable from either; the re-run deletes the old packs",
)
REPACK_AFTER_NEW_PACK = declare(
    "gc.repack-after-new-pack",
    "the new pack complete and indexed, old packs not yet deleted: live blobs in two packs; "
    "the re-run deletes the old packs",
)
DELETE_PACK_AFTER_INDEX = declare(
    "gc.delete-pack-after-index",
    "an old pack's .idx removed, its .pack not yet: an interrupted pack, which the re-run of gc "
    "removes (it holds no blob any index points to)",
)
DELETE_PACK = declare(
    "gc.delete-pack",
    "some dead or repacked packs deleted (@N: after the N-th): the rest are deleted by the re-run",
)


@dataclass(frozen=True)
class RepackResult:
    """What ``repack`` did: packs written and removed, bytes freed, packs it had to skip."""

    new_packs: list[str] = field(default_factory=list)
    removed_packs: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # pack id → why


def pack_blobs(store: Store, pack_id: str) -> list[tuple[str, int, int]]:
    """``(digest, offset, length)`` of every blob a pack holds, from its ``.idx`` (the truth)."""
    path = store.index_path(pack_id)
    return decode_index(path.read_bytes(), path.name)


def pack_file_size(store: Store, pack_id: str) -> int:
    with contextlib.suppress(FileNotFoundError):
        return store.pack_path(pack_id).stat().st_size
    return 0


def _move_rows(store: Store, pack_id: str, blobs: list[tuple[str, int, int]], size: int) -> None:
    """Point the index at the new pack for these blobs (replacing their old location)."""
    rows = [(d, pack_id, off, ln) for d, off, ln in blobs]
    with store.state.transaction() as conn:
        conn.executemany("INSERT OR REPLACE INTO pack_blobs VALUES (?,?,?,?)", rows)
        conn.execute("INSERT OR REPLACE INTO packs VALUES (?,?,?)", (pack_id, len(rows), size))


def repack(store: Store, packs: dict[str, set[str]]) -> RepackResult:
    """Rewrite each pack keeping only the digests in ``packs[pack_id]``; delete the old packs.

    A pack whose keep-set is empty is simply deleted. Live blobs of all packs go into shared
    new packs (closed at the usual target size), so many half-dead packs become few full ones.
    """
    skipped: dict[str, str] = {}
    store.tmp_dir.mkdir(parents=True, exist_ok=True)
    writer = PackWriter(
        store.packs_dir,
        store.tmp_dir,
        lambda pid, blobs, size: _move_rows(store, pid, blobs, size),
        points=(REPACK_BEFORE_RENAME, REPACK_BEFORE_INDEX, REPACK_BEFORE_ROWS),
        fsync=store.fsync,
    )
    done: list[str] = []
    try:
        for pack_id, keep in sorted(packs.items()):
            if keep:
                try:
                    staged = _copy_live(store, pack_id, keep)
                except (IntegrityError, FileNotFoundError) as exc:
                    skipped[pack_id] = str(exc)
                    continue
                for digest, data in staged:
                    writer.add(digest, data)
            done.append(pack_id)
        writer.flush()
    except BaseException:
        writer.abort()
        raise
    if writer.published:
        crash_point(REPACK_AFTER_NEW_PACK)
    freed = 0
    for pack_id in done:
        freed += store.delete_pack(pack_id, point=DELETE_PACK_AFTER_INDEX)
        crash_point(DELETE_PACK)
    new_size = sum(pack_file_size(store, p) for p in writer.published)
    return RepackResult(list(writer.published), done, max(0, freed - new_size), skipped)


def _copy_live(store: Store, pack_id: str, keep: set[str]) -> list[tuple[str, bytes]]:
    """The verified bytes of the blobs to keep from one pack."""
    path = store.pack_path(pack_id)
    out = []
    for digest, offset, length in pack_blobs(store, pack_id):
        if digest not in keep:
            continue
        data = read_slice(path, offset, length)
        if hash_bytes(data) != digest:
            raise IntegrityError(f"pack {pack_id[:12]} holds a corrupt copy of {digest[:12]}; left as is")
        out.append((digest, data))
    return out
