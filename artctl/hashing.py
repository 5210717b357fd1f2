"""BLAKE3 digests of bytes and files.

Why BLAKE3: it is several times faster than SHA-256/MD5 and parallel within one file, so
hashing never dominates ingest. Large files are hashed through ``mmap`` with all cores;
small ones in one ``read``.
"""

from __future__ import annotations

import mmap
import os
import re
from typing import BinaryIO

from blake3 import blake3

DIGEST_HEX_LEN = 64
#: Files at least this large are hashed with BLAKE3's multithreaded mmap mode.
MMAP_THRESHOLD = 8 * 1024 * 1024
CHUNK = 16 * 1024 * 1024
#: Bytes of a large file mapped at once (a multiple of every page size and mmap granularity).
MMAP_WINDOW = 256 * 1024 * 1024


def hash_bytes(data: bytes | memoryview) -> str:
    """Hex digest of an in-memory buffer."""
    return blake3(data).hexdigest()


def new_hasher() -> blake3:
    """A streaming hasher for data arriving in pieces (downloads, pack reads)."""
    return blake3()


def hash_file(path: str | os.PathLike[str], size: int | None = None) -> str:
    """Hex digest of a file's bytes, using threads and mmap for large files."""
    if size is None:
        size = os.stat(path).st_size
    if size >= MMAP_THRESHOLD:
        hasher = blake3(max_threads=blake3.AUTO)
        with open(path, "rb") as fh:
            # Mapped a window at a time: all cores hash each window, and a 100 GB checkpoint
            # never shows up as 100 GB of resident memory.
            for offset in range(0, size, MMAP_WINDOW):
                length = min(MMAP_WINDOW, size - offset)
                with mmap.mmap(fh.fileno(), length, offset=offset, access=mmap.ACCESS_READ) as mm:
                    hasher.update(mm)
        return hasher.hexdigest()
    with open(path, "rb") as fh:
        return blake3(fh.read()).hexdigest()


def hash_stream(fh: BinaryIO) -> tuple[str, int]:
    """Digest and length of everything left in a binary stream."""
    hasher = blake3()
    total = 0
    while chunk := fh.read(CHUNK):
        hasher.update(chunk)
        total += len(chunk)
    return hasher.hexdigest(), total


_DIGEST = re.compile(r"[0-9a-f]{64}")


def is_digest(text: str) -> bool:
    """True for a lowercase 64-character hex string (a BLAKE3-256 digest)."""
    return _DIGEST.fullmatch(text) is not None
