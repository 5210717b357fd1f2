"""Reading files for the store: small files whole (and checked unchanged since the scan), large
files streamed into loose objects; an ``OSError`` becomes the user's error that names the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from artctl.base.fsutil import DISK_FULL_HINT, disk_full_guard
from artctl.base.hashing import hash_bytes
from artctl.errors import ArtctlError, IntegrityError, InvalidInput
from artctl.ops.ingest.scan import SourceFile
from artctl.repository.objects import PACK_THRESHOLD

if TYPE_CHECKING:
    from artctl.repository.objects import Store

#: Files below this size are read whole and packed; the rest are stored loose.
SMALL_FILE = PACK_THRESHOLD

#: Small files handled per index query and per progress update, and the most bytes read into
#: memory at once: memory stays bounded whatever the number and size of files.
BATCH = 1000

BATCH_BYTES = 16 * 1024 * 1024


def read_batch(batch: list[SourceFile]) -> list[tuple[SourceFile, str, bytes]]:
    return [(f, *read_small(f)) for f in batch]


def small_batches(files: list[SourceFile]) -> Iterator[list[SourceFile]]:
    """Consecutive groups of at most BATCH files and about BATCH_BYTES bytes."""
    batch: list[SourceFile] = []
    size = 0
    for f in files:
        if batch and (len(batch) >= BATCH or size + f.size > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(f)
        size += f.size
    if batch:
        yield batch


def _os_error(f: SourceFile, exc: OSError) -> ArtctlError:
    if isinstance(exc, FileNotFoundError):
        return InvalidInput(f"file disappeared while adding it: {f.local}")
    if isinstance(exc, PermissionError):
        return InvalidInput(f"permission denied: {f.local}")
    if disk_full_guard(exc) is not None:  # the store's disk is full, not the source's
        return ArtctlError(
            f"no space left on device for the repository while storing {f.local}", hint=DISK_FULL_HINT
        )
    return ArtctlError(f"cannot read {f.local}: {exc.strerror or exc}")


def read_small(f: SourceFile) -> tuple[str, bytes]:
    """Read a small file in one call and hash it; refuse it if it changed since the scan."""
    try:
        fd = os.open(f.local, os.O_RDONLY)
        try:
            data = os.read(fd, f.size + 1)
            st = os.fstat(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise _os_error(f, exc) from None
    if len(data) != f.size or st.st_size != f.size or st.st_mtime_ns != f.mtime_ns:
        raise IntegrityError(
            f"{f.local} changed while it was being stored; nothing was recorded",
            hint="retry once the file is no longer being written",
        )
    return hash_bytes(data), data


def put_large(store: Store, f: SourceFile) -> tuple[SourceFile, str, int]:
    try:
        digest, size = store.put_file(Path(f.local), f.size)
    except OSError as exc:
        if isinstance(exc, ArtctlError):
            raise
        raise _os_error(f, exc) from None
    return f, digest, size
