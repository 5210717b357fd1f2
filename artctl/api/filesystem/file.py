"""The file object of ``artctl://``: seekable, read-ahead, verified when read to its end."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fsspec.spec import AbstractBufferedFile

from artctl.api.filesystem.tree import VersionTree
from artctl.base.hashing import new_hasher
from artctl.format.manifest import Entry
from artctl.ops.lazy_read import WHOLE_BLOB_BYTES

if TYPE_CHECKING:
    from artctl.api.filesystem.spec import ArtctlFileSystem

#: Bytes a file opened for reading fetches beyond what was asked (fsspec's read-ahead cache):
#: small enough that one line of a big remote file costs about one request of this size.
READ_AHEAD = 1024 * 1024


class ArtctlFile(AbstractBufferedFile):
    """A seekable read-only file of a version, with read-ahead; verified when read to its end."""

    def __init__(
        self,
        fs: ArtctlFileSystem,
        path: str,
        tree: VersionTree,
        entry: Entry,
        *,
        block_size: int,
        cache_options: dict[str, Any] | None = None,
    ) -> None:
        self.tree = tree
        self.entry = entry
        # A big blob read from its first byte on is hashed as it streams: at its end a mismatch
        # fails the read (and marks the blob bad). Small blobs are verified whole by the reader.
        self._hasher = new_hasher() if entry.digest is not None and entry.size > WHOLE_BLOB_BYTES else None
        self._hashed = 0
        super().__init__(
            fs,
            path,
            mode="rb",
            block_size=block_size,
            cache_type="readahead",
            cache_options=cache_options,
            size=entry.size,
        )

    def _fetch_range(self, start: int, end: int) -> bytes:
        data = self.fs.read_entry(self.tree, self.entry, start, end)
        if self._hasher is not None and start <= self._hashed < start + len(data):
            self._hasher.update(data[self._hashed - start :])
            self._hashed = start + len(data)
            if self._hashed >= self.size:
                hasher, self._hasher = self._hasher, None
                if hasher.hexdigest() != self.entry.digest:
                    label = f"{self.tree.record.name}:{self.tree.record.version}/{self.entry.path}"
                    self.fs.reader.mark_bad(self.entry.digest)
                    self.fs.reader.check_not_bad(self.entry.digest, label)
        return data
