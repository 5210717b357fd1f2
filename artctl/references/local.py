"""``file://`` references: a path on this machine or a shared mount (NFS).

A mounted file has no provider-side version, so its identity is the BLAKE3 of its bytes — the
entry's ordinary ``digest``. A changed file therefore makes a new version when logged again, and
``get`` refuses (ReferenceChanged) a file whose bytes no longer match, unless the logged bytes
are still in the local store from an earlier ``get``.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote, urlparse

from artctl.base.hashing import hash_file
from artctl.errors import InvalidInput, ObjectNotFound
from artctl.format.manifest import Entry
from artctl.references.base import (
    Fetched,
    RemoteObject,
    changed,
    check_size,
    copy_stream,
    too_many,
    unchecked_prefix,
)


def local_path(uri: str) -> Path:
    """``file:///mnt/data/x`` → ``/mnt/data/x``; only this machine's files (no host part)."""
    parsed = urlparse(uri)
    if parsed.netloc not in ("", "localhost"):
        raise InvalidInput(f"{uri}: file:// references must name a local path (file:///path)")
    path = unquote(parsed.path)
    if not path.startswith("/"):
        raise InvalidInput(f"{uri}: use an absolute path, e.g. file:///mnt/data")
    return Path(path)


class LocalAdapter:
    """Local or mounted files and directories."""

    def __init__(self, scheme: str = "file") -> None:
        self.scheme = scheme

    def list(self, uri: str, max_objects: int) -> list[RemoteObject]:
        root = local_path(uri)
        if root.is_file():
            return [RemoteObject(root.as_uri(), "", root.stat().st_size, {}, hash_file(root))]
        if not root.is_dir():
            raise ObjectNotFound(f"no file or directory at {uri}")
        files: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in filenames:
                path = Path(dirpath) / name
                if path.is_file():
                    files.append(path)
                    if len(files) > max_objects:
                        raise too_many(uri, max_objects)
        if not files:
            raise ObjectNotFound(f"directory {uri} holds no files")
        files.sort()
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            digests = list(pool.map(hash_file, files))  # BLAKE3 releases the GIL
        return [
            RemoteObject(path.as_uri(), path.relative_to(root).as_posix(), path.stat().st_size, {}, digest)
            for path, digest in zip(files, digests, strict=True)
        ]

    def fetch(self, entry: Entry, dst: Path) -> Fetched:
        assert entry.ref is not None
        path = local_path(entry.ref)
        try:
            with open(path, "rb") as src:
                got = copy_stream(src, dst, limit=entry.size)
        except FileNotFoundError:
            raise changed(entry, "the file was deleted", versioned_hint=False) from None
        check_size(entry, got)
        if entry.digest is not None and got.digest != entry.digest:
            raise changed(
                entry,
                f"BLAKE3 {entry.digest[:12]}… → {got.digest[:12]}… ({entry.size} → {got.size} bytes)",
                versioned_hint=False,
            )
        return got

    def fetch_current(self, uri: str, dst: Path) -> Fetched:
        try:
            with open(local_path(uri), "rb") as src:
                return copy_stream(src, dst)
        except FileNotFoundError:
            raise ObjectNotFound(f"no file at {uri}") from None
        except IsADirectoryError:
            raise unchecked_prefix(uri) from None
