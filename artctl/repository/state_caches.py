"""What ``state.db`` remembers about working files: the stat cache (digests of unchanged files),
the trees already scanned, where a tree's blobs were, and which version each directory holds."""

from __future__ import annotations

from collections.abc import Iterable

from artctl.repository.state_base import StateBase


class StateCaches(StateBase):
    """The ``stat_cache``, ``workdirs``, ``tree_cache`` and ``tree_placement`` tables (see
    :class:`artctl.repository.state.StateDB`)."""

    # -- stat cache -------------------------------------------------------------------------
    def cached_digests(self, paths: list[str]) -> dict[str, tuple[int, int, int, int, str]]:
        return {
            path: (inode, size, mtime_ns, ctime_ns, digest)
            for path, inode, size, mtime_ns, ctime_ns, digest in self.select_in(
                "SELECT path, inode, size, mtime_ns, ctime_ns, digest FROM stat_cache"
                " WHERE path IN ({marks})",
                paths,
            )
        }

    def remember_digests(self, rows: list[tuple[str, int, int, int, int, str]]) -> None:
        if not rows:
            return
        with self.transaction() as conn:
            conn.executemany("INSERT OR REPLACE INTO stat_cache VALUES (?,?,?,?,?,?)", rows)

    # -- working directories ----------------------------------------------------------------
    def remember_workdir(self, path: str, name: str, version: str, manifest: str, at: str) -> None:
        """``path`` (absolute) now holds ``name:version``: the default of ``artctl status``."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO workdirs VALUES (?,?,?,?,?)", (path, name, version, manifest, at)
            )

    def workdir(self, path: str) -> tuple[str, str, str, str] | None:
        """``(name, version, manifest, at)`` last placed in ``path``, if recorded."""
        row = self.conn.execute(
            "SELECT name, version, manifest, at FROM workdirs WHERE path=?", (path,)
        ).fetchone()
        return (row[0], row[1], row[2], row[3]) if row else None

    def tree_manifest(self, signature: str) -> str | None:
        row = self.conn.execute("SELECT manifest FROM tree_cache WHERE signature=?", (signature,)).fetchone()
        return row[0] if row else None

    def remember_tree(self, signature: str, manifest: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO tree_cache VALUES (?,?)", (signature, manifest))

    def tree_placement(self, manifest: str) -> tuple[list[str], list[str]] | None:
        """``(pack ids, loose digests)`` that held every blob of ``manifest`` when last checked."""
        row = self.conn.execute(
            "SELECT packs, loose FROM tree_placement WHERE manifest=?", (manifest,)
        ).fetchone()
        return (row[0].split(), row[1].split()) if row else None

    def remember_tree_placement(self, manifest: str, packs: Iterable[str], loose: Iterable[str]) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO tree_placement VALUES (?,?,?)",
                (manifest, " ".join(sorted(packs)), " ".join(sorted(loose))),
            )
