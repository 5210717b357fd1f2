"""Materializing a version's files under a root directory, safely.

Nothing from a manifest is trusted: paths were validated when the manifest was parsed, and
here every parent directory is checked to stay inside ``root`` (a symlink planted inside the
root cannot redirect a write outside it). Each file is written under a temporary name in its
final directory and renamed into place, so an interrupted ``get`` never leaves half a file.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ArtctlError, InvalidInput, UnsafePath
from .fsutil import disk_full_guard
from .manifest import Entry

if TYPE_CHECKING:
    from .store import Store

Fetch = Callable[[Entry, Path], None]  # writes one entry's bytes to a path (references, remotes)


@dataclass(frozen=True)
class CheckoutResult:
    """What a checkout did."""

    root: Path
    files: int
    bytes: int
    modes: dict[str, int]


def select(entries: Iterable[Entry], path_prefix: str | None) -> list[Entry]:
    """Entries whose path starts with ``path_prefix`` (W&B's semantics: a plain string prefix)."""
    if not path_prefix:
        return list(entries)
    return [e for e in entries if e.path.startswith(path_prefix)]


def prepare_root(root: Path) -> Path:
    """Create ``root`` if needed; refuse a root that is a file."""
    if root.exists() and not root.is_dir():
        raise InvalidInput(f"--root {root} exists and is not a directory")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"cannot create {root}: {exc.strerror}") from None
    return root.resolve()


def _safe_parent(root: Path, relative: str, made: set[str]) -> Path:
    """Create the parent directories of ``relative`` inside ``root`` without following links."""
    parent_rel = os.path.dirname(relative)
    target = root / relative
    if not parent_rel or parent_rel in made:
        return target
    current = root
    for part in parent_rel.split("/"):
        current = current / part
        if current.is_symlink():
            raise UnsafePath(f"refusing to write through symbolic link {current}")
        if current.exists() and not current.is_dir():
            raise InvalidInput(f"{current} exists and is not a directory")
        with contextlib.suppress(FileExistsError):
            current.mkdir()
    made.add(parent_rel)
    return target


def checkout(entries: list[Entry], root: Path, store: "Store", *, link: str = "auto",
             fetch: Fetch | None = None, workers: int = 4,
             progress: Callable[[int, int], None] | None = None) -> CheckoutResult:
    """Write ``entries`` under ``root``; return counts. ``fetch`` handles what the store lacks."""
    root = prepare_root(root)
    made: set[str] = set()
    targets = [(e, _safe_parent(root, e.path, made)) for e in entries]
    modes: dict[str, int] = {}

    def one(item: tuple[Entry, Path]) -> str:
        entry, target = item
        if target.is_symlink() or (target.exists() and target.is_dir()):
            if target.is_dir() and not target.is_symlink():
                raise InvalidInput(f"{target} is a directory; cannot replace it with a file")
        tmp = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.artctl-tmp"
        try:
            if entry.digest is not None and store.has(entry.digest):
                used = store.materialize(entry.digest, tmp, link)
            elif fetch is not None:
                fetch(entry, tmp)
                used = "copy"
            else:
                from .errors import ObjectNotFound

                raise ObjectNotFound(f"object for {entry.path} is not in the local store",
                                     hint="run `artctl pull` to fetch it from a remote")
            os.replace(tmp, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, ArtctlError):
                raise
            full = disk_full_guard(exc)
            if full:
                raise full from None
            raise ArtctlError(f"cannot write {target}: {exc.strerror or exc}") from None
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        if progress:
            progress(1, entry.size)
        return used

    if len(targets) <= 1 or workers <= 1:
        used_modes = [one(t) for t in targets]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            used_modes = list(pool.map(one, targets))
    for mode in used_modes:
        modes[mode] = modes.get(mode, 0) + 1
    return CheckoutResult(root, len(entries), sum(e.size for e in entries), modes)
