"""Copies of blobs on remotes, in ``state.db``: what cache eviction may drop and what ``verify``
reports as "on remote R"."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from artctl.repository.state_base import StateBase


class RemoteCopy(NamedTuple):
    """A blob held by a remote file (``packs/<id>.pack`` or ``objects/ab/…``) of ``size`` bytes."""

    digest: str
    file: str
    size: int


class StateRemotes(StateBase):
    """The ``remote_files`` and ``remote_listed`` tables (see :class:`artctl.repository.state.StateDB`).

    ``remote_files`` holds only copies this machine verified: bytes it uploaded from verified
    local files, or downloaded and checked against their digest. A remote *listing* is never
    proof (a planted ``.idx``, a remote that lost its data). Each row names the remote file
    that holds the blob and that file's expected size, so ``cache cleanup`` can re-confirm the
    copy before dropping the local one. ``remote_listed`` is what a remote's listing named at
    the last push or pull: enough for ``verify`` to say "not fetched here, listed on R" instead
    of "lost", never enough to evict a blob or skip an upload. (The older ``remote_copies``
    table, filled from listings, is dropped: its rows proved nothing.)
    """

    def record_remote_copies(self, remote: str, copies: Iterable[RemoteCopy]) -> None:
        """Remember that ``remote`` holds these blobs, in these files of these sizes."""
        rows = [(c.digest, remote, c.file, c.size) for c in copies]
        if not rows:
            return
        with self.transaction() as conn:
            conn.executemany("INSERT OR REPLACE INTO remote_files VALUES (?,?,?,?)", rows)

    def remote_copies(self, digests: Iterable[str]) -> dict[str, list[tuple[str, RemoteCopy]]]:
        """``digest → [(remote, copy), …]`` for the recorded copies of ``digests``."""
        out: dict[str, list[tuple[str, RemoteCopy]]] = {}
        for digest, remote, file, size in self.select_in(
            "SELECT digest, remote, file, size FROM remote_files WHERE digest IN ({marks})", digests
        ):
            out.setdefault(digest, []).append((remote, RemoteCopy(digest, file, size)))
        return out

    def with_remote_copy(self, digests: Iterable[str]) -> set[str]:
        """The subset of ``digests`` with a recorded (verified when recorded) remote copy."""
        return {
            row[0]
            for row in self.select_in(
                "SELECT DISTINCT digest FROM remote_files WHERE digest IN ({marks})", digests
            )
        }

    def forget_remote_copies(self, remote: str, copies: Iterable[RemoteCopy]) -> None:
        """Drop records of copies that a re-check found missing or short."""
        rows = [(c.digest, remote, c.file) for c in copies]
        with self.transaction() as conn:
            conn.executemany("DELETE FROM remote_files WHERE digest=? AND remote=? AND file=?", rows)

    def record_listed(self, remote: str, digests: Iterable[str]) -> None:
        """Replace what ``remote``'s listing named (a hint for verify, never proof of a copy)."""
        rows = [(d, remote) for d in digests]
        with self.transaction() as conn:
            conn.execute("DELETE FROM remote_listed WHERE remote=?", (remote,))
            conn.executemany("INSERT OR IGNORE INTO remote_listed VALUES (?,?)", rows)

    def remotes_holding(self, digests: Iterable[str]) -> dict[str, set[str]]:
        """digest -> the remotes that hold it by a verified copy or by their last listing, for
        those of ``digests`` that have one (what ``verify`` reports as "on remote R")."""
        items = list(digests)
        out: dict[str, set[str]] = {}
        for table in ("remote_files", "remote_listed"):
            for digest, remote in self.select_in(
                f"SELECT digest, remote FROM {table} WHERE digest IN ({{marks}})", items
            ):
                out.setdefault(digest, set()).add(remote)
        return out

    def forget_remote(self, remote: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM remote_files WHERE remote=?", (remote,))
            conn.execute("DELETE FROM remote_listed WHERE remote=?", (remote,))
