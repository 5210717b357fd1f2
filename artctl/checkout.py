"""Materializing a version's files under a root directory, safely.

Nothing from a manifest is trusted: paths were validated when the manifest was parsed, and
here every parent directory is checked to stay inside ``root`` (a symlink planted inside the
root cannot redirect a write outside it). Into an existing root, each file is written under a
temporary name in its final directory and renamed into place, so an interrupted ``get`` never
leaves half a file where a good one was; into a new or empty root, files are created directly
(and removed again if the ``get`` fails).
"""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ArtctlError, InvalidInput, UnsafePath
from .fsutil import disk_full_guard
from .manifest import Entry

if TYPE_CHECKING:
    from .store import Placement, Store

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


def _safe_parent(root: str, relative: str, made: set[str]) -> str:
    """Create the parent directories of ``relative`` inside ``root`` without following links.

    Each directory is checked once per checkout (``made``): a symlink planted anywhere on the
    way is refused, so no write can land outside ``root``.
    """
    parent_rel, _, _ = relative.rpartition("/")
    target = f"{root}/{relative}"
    if not parent_rel or parent_rel in made:
        return target
    current = root
    done = ""
    for part in parent_rel.split("/"):
        current = f"{current}/{part}"
        done = f"{done}/{part}" if done else part
        if done in made:
            continue
        try:
            os.mkdir(current)
        except FileExistsError:
            st = os.lstat(current)
            if stat.S_ISLNK(st.st_mode):
                raise UnsafePath(f"refusing to write through symbolic link {current}") from None
            if not stat.S_ISDIR(st.st_mode):
                raise InvalidInput(f"{current} exists and is not a directory") from None
        made.add(done)
    return target


_TMP_TAG = uuid.uuid4().hex[:8]


def _tmp_name(target: str) -> str:
    """A sibling name for writing ``target``: unique per process, hidden, recognisable."""
    head, _, name = target.rpartition("/")
    return f"{head}/.{name}.{_TMP_TAG}.artctl-tmp"


def _replace(tmp: str, target: str) -> None:
    try:
        os.replace(tmp, target)
    except IsADirectoryError:
        raise InvalidInput(f"{target} is a directory; cannot replace it with a file") from None


def _os_failure(exc: OSError, target: Path) -> ArtctlError:
    if isinstance(exc, ArtctlError):
        return exc
    if disk_full_guard(exc) is not None:  # the target's disk, not the repository's: say where
        return ArtctlError(f"no space left on device writing under {target}",
                           hint="free some space there or choose another --root")
    return ArtctlError(f"cannot write {target}: {exc.strerror or exc}")


def checkout(entries: list[Entry], root: Path, store: "Store", *, link: str = "auto",
             fetch: Fetch | None = None, workers: int = 4,
             progress: Callable[[int, int], None] | None = None,
             where: "Placement | None" = None,
             optional: Callable[[Entry], bool] | None = None) -> CheckoutResult:
    """Write ``entries`` under ``root``; return counts. ``fetch`` handles what the store lacks.

    Bytes in the local store are written in one batch (packed blobs pack by pack); the rest
    come from ``fetch`` (references, remotes), several at once. Every file is written under a
    temporary name and renamed into place only after all of its bytes were verified.
    An entry for which ``optional(entry)`` is true is skipped (not written, not counted) when
    ``fetch`` fails for it.
    """
    fresh = not root.exists() or (root.is_dir() and not any(os.scandir(root)))
    root = prepare_root(root)
    made: set[str] = set()
    base = str(root)
    targets = [(e, _safe_parent(base, e.path, made)) for e in entries]
    if where is None:  # the caller may already know what the store holds
        where = store.placement({e.digest for e, _ in targets if e.digest is not None}, locations=True)
    local_digests = where.present()
    local = [(e, t) for e, t in targets if e.digest in local_digests]
    remote = [(e, t) for e, t in targets if e.digest not in local_digests]
    modes: dict[str, int] = {}
    skipped: list[Entry] = []
    pending: list[tuple[str, str]] = []  # (tmp, target) written but not yet renamed
    try:
        if local:
            items = []
            for entry, target in local:
                # Into an empty root, files are created directly (O_EXCL): nothing can be
                # half-overwritten, and a create costs half of create-then-rename. Existing
                # files are replaced through a temporary name, atomically.
                tmp = target if fresh else _tmp_name(target)
                pending.append((tmp, target))
                items.append((entry.digest, tmp))
            done = (lambda size: progress(1, size)) if progress else None
            try:
                for mode, count in store.materialize_many(items, link, done, where).items():
                    modes[mode] = modes.get(mode, 0) + count
            except OSError as exc:
                raise _os_failure(exc, root) from None
            for tmp, target in pending:
                if tmp != target:
                    _replace(tmp, target)
            pending.clear()
        if remote:
            if fetch is None:
                from .errors import ObjectNotFound

                raise ObjectNotFound(f"the bytes of {remote[0][0].path} are not in the local store",
                                     hint="run `artctl pull` to fetch them from a remote")

            def one(item: tuple[Entry, Path]) -> None:
                entry, target = item
                tmp = _tmp_name(target)
                try:
                    try:
                        fetch(entry, Path(tmp))
                    except ArtctlError:
                        if optional is None or not optional(entry):
                            raise
                        skipped.append(entry)
                        return
                    _replace(tmp, target)
                except OSError as exc:
                    raise _os_failure(exc, target) from None
                finally:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                if progress:
                    progress(1, entry.size)

            if len(remote) == 1 or workers <= 1:
                for item in remote:
                    one(item)
            else:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(max_workers=workers) as pool:
                    list(pool.map(one, remote))
            modes["copy"] = modes.get("copy", 0) + len(remote) - len(skipped)
    finally:
        for tmp, _ in pending:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return CheckoutResult(root, len(entries) - len(skipped),
                          sum(e.size for e in entries) - sum(e.size for e in skipped), modes)
