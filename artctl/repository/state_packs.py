"""The pack index in ``state.db``: which pack holds which blob (a cache of ``packs/*.idx``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from artctl.repository.packs import PackLocation
from artctl.repository.state_base import StateBase

__all__ = ["PackLocation", "StatePacks"]


class StatePacks(StateBase):
    """The ``packs`` and ``pack_blobs`` tables (see :class:`artctl.repository.state.StateDB`)."""

    def known_packs(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT id FROM packs")}

    def add_pack(self, pack_id: str, blobs: Iterable[tuple[str, int, int]], size: int) -> None:
        # Sorted by digest, the B-tree inserts append instead of landing at random (2-3x faster).
        rows = sorted((d, pack_id, off, ln) for d, off, ln in blobs)
        with self.transaction() as conn:
            conn.executemany("INSERT OR IGNORE INTO pack_blobs VALUES (?,?,?,?)", rows)
            conn.execute("INSERT OR REPLACE INTO packs VALUES (?,?,?)", (pack_id, len(rows), size))

    def forget_pack(self, pack_id: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM pack_blobs WHERE pack=?", (pack_id,))
            conn.execute("DELETE FROM packs WHERE id=?", (pack_id,))

    def locate(self, digest: str) -> PackLocation | None:
        row = self.conn.execute(
            "SELECT pack, offset, length FROM pack_blobs WHERE digest=?", (digest,)
        ).fetchone()
        return PackLocation(*row) if row else None

    def locate_many(self, digests: Iterable[str]) -> dict[str, PackLocation]:
        packs: dict[str, str] = {}  # one string per pack id, not one per row
        return {
            digest: PackLocation(packs.setdefault(pack, pack), offset, length)
            for digest, pack, offset, length in self.select_in(
                "SELECT digest, pack, offset, length FROM pack_blobs WHERE digest IN ({marks})", digests
            )
        }

    def packs_of(self, digests: Iterable[str]) -> dict[str, str]:
        """digest -> pack id for those of ``digests`` that are packed (no offsets: cheaper)."""
        packs: dict[str, str] = {}
        return {
            digest: packs.setdefault(pack, pack)
            for digest, pack in self.select_in(
                "SELECT digest, pack FROM pack_blobs WHERE digest IN ({marks})", digests
            )
        }

    def iter_pack_blobs(self) -> Iterator[tuple[str, str, int, int]]:
        yield from self.conn.execute("SELECT digest, pack, offset, length FROM pack_blobs")

    def blobs_of_pack(self, pack_id: str) -> list[tuple[str, int, int]]:
        return list(
            self.conn.execute(
                "SELECT digest, offset, length FROM pack_blobs WHERE pack=? ORDER BY offset", (pack_id,)
            )
        )
