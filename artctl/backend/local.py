"""``file://`` storage: a folder, written the way the local repository is.

Plain ``os`` calls, so a write is temp file + fsync + rename and an exclusive create is
``os.link`` of a complete temp file (fsspec's local ``pipe(mode="create")`` is not atomic).
"""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from artctl.backend.base import DEFAULT_JOBS, MAX_RECORD_BYTES, Backend, FileStat, too_large
from artctl.backend.guard import guard
from artctl.base.filecopy import copy_bounded, copy_durably
from artctl.base.fsutil import atomic_write_bytes, create_exclusive, fsync_dir
from artctl.base.overlap import side_by_side
from artctl.errors import RemoteError


class LocalBackend(Backend):
    """A folder on this machine (a mounted disk, a network share, the local ``.artifacts/``).

    ``fsync`` is this storage's own durability, chosen by the caller: a ``file://`` remote's
    ``fsync`` option (default true), never the pushing repository's ``core.fsync`` — a scratch
    clone must not weaken a shared remote.
    """

    def __init__(self, root: str, url: str, jobs: int = DEFAULT_JOBS, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.url = url
        self.jobs = jobs
        self.fsync = fsync

    def _p(self, rel: str) -> Path:
        return self.root / rel if rel else self.root

    def _tmp_beside(self, path: Path) -> Path:
        return path.parent / f".{uuid.uuid4().hex}.artctl-tmp"

    def read(self, rel: str, limit: int = MAX_RECORD_BYTES) -> bytes:
        with guard(self.url, f"reading {rel}"), open(self._p(rel), "rb") as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise too_large(self.url, rel, limit)
        return data

    def read_range(self, rel: str, start: int, end: int) -> bytes:
        with guard(self.url, f"reading {rel}"), open(self._p(rel), "rb") as fh:
            fh.seek(start)
            return fh.read(max(0, end - start))

    def write(self, rel: str, data: bytes) -> None:
        with guard(self.url, f"writing {rel}"):
            path = self._p(rel)
            atomic_write_bytes(path, data, tmp_dir=path.parent, fsync=self.fsync)

    def upload(self, rel: str, local: Path, verify: Callable[[], bool] | None = None) -> bool:
        with guard(self.url, f"writing {rel}"):
            path = self._p(rel)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._tmp_beside(path)
            try:
                # The file is verified while it is copied; only a verified copy is renamed in.
                _, ok = side_by_side(lambda: copy_durably(local, tmp, self.fsync), verify or (lambda: True))
                if not ok:
                    return False
                os.replace(tmp, path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            fsync_dir(path.parent, self.fsync)
        return True

    def download(self, rel: str, local: Path, limit: int) -> int:
        with guard(self.url, f"reading {rel}", local):
            copied = copy_bounded(self._p(rel), local, limit)
        if copied > limit:
            raise too_large(self.url, rel, limit)
        return copied

    def sizes(self, rels: Iterable[str]) -> dict[str, int | None]:
        out: dict[str, int | None] = {}
        if not self.root.is_dir():  # an unmounted disk is not proof that the files are gone
            raise RemoteError(
                f"remote {self.url} is not reachable (no directory {self.root})",
                hint="mount it, or fix the remote's URL",
            )
        with guard(self.url, "checking files"):
            for rel in rels:
                try:
                    st = os.stat(self._p(rel))
                except (FileNotFoundError, NotADirectoryError):
                    out[rel] = None
                    continue
                out[rel] = st.st_size if stat.S_ISREG(st.st_mode) else None
        return out

    def list_sizes(self, rel: str) -> dict[str, int]:
        found = self.find(rel)
        return {r: size for r, size in self.sizes(found).items() if size is not None}

    def list_stats(self, rel: str) -> dict[str, FileStat]:
        out: dict[str, FileStat] = {}
        with guard(self.url, f"listing {rel}"):
            for found in self.find(rel):
                try:
                    st = os.stat(self._p(found))
                except (FileNotFoundError, NotADirectoryError):  # deleted since the walk
                    continue
                if stat.S_ISREG(st.st_mode):
                    out[found] = FileStat(st.st_size, st.st_mtime)
        return out

    def create(self, rel: str, data: bytes) -> bool:
        with guard(self.url, f"creating {rel}"):
            path = self._p(rel)
            return create_exclusive(path, data, tmp_dir=path.parent, fsync=self.fsync)

    def listdir(self, rel: str) -> list[str]:
        with guard(self.url, f"listing {rel or '/'}"):
            try:
                return sorted(n for n in os.listdir(self._p(rel)) if not n.startswith("."))
            except (FileNotFoundError, NotADirectoryError):
                return []

    def find(self, rel: str) -> list[str]:
        base = self._p(rel)
        out: list[str] = []
        with guard(self.url, f"listing {rel}"):
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                for name in filenames:
                    if not name.startswith("."):
                        out.append(
                            os.path.relpath(os.path.join(dirpath, name), self.root).replace(os.sep, "/")
                        )
        return sorted(out)

    def delete(self, rel: str) -> None:
        with guard(self.url, f"deleting {rel}"), contextlib.suppress(FileNotFoundError):
            os.unlink(self._p(rel))

    def check_location(self) -> bool:
        """True if the folder exists; False when only its parent does (the first push creates
        it, like ``git init``)."""
        if self.root.is_dir():
            return True
        if self.root.exists():
            raise RemoteError(f"remote {self.url} is a file, not a directory")
        if not self.root.parent.is_dir():
            raise RemoteError(
                f"remote {self.url} does not exist and neither does its parent directory",
                hint=f"create {self.root.parent} first, or fix the URL",
            )
        return False
