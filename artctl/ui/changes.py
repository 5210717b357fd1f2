"""A cheap "has the repository changed?" token for the page's polling.

Every metadata change in artctl ends with a rename into a directory (temp file + rename), which
updates that directory's mtime: a new version, an alias, an edited description, a run linked or
finished. So the token is a hash of the mtimes of the directories under ``registry/`` plus
``runs/`` — a few ``stat`` calls per artifact, no file read — and the page polls
``/api/changed?since=TOKEN`` every few seconds instead of re-reading everything.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from artctl.format.layout import REGISTRY, RUNS


def change_token(root: Path) -> str:
    """A short hex token that differs whenever an artifact, version, alias or run changed."""
    digest = hashlib.blake2b(digest_size=8)
    for top in (root / REGISTRY, root / RUNS):
        _feed(digest, top)
    return digest.hexdigest()


def _feed(digest: hashlib.blake2b, top: Path) -> None:
    stack = [str(top)]
    while stack:
        directory = stack.pop()
        try:
            st = os.stat(directory)
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            digest.update(f"{directory}:-\n".encode())
            continue
        digest.update(f"{directory}:{st.st_mtime_ns}:{len(entries)}\n".encode())
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) and top.name == REGISTRY:
                stack.append(entry.path)
