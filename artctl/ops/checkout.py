"""Materializing a version's files under a root directory, safely.

Nothing from a manifest is trusted: paths were validated when the manifest was parsed, and
here every parent directory is checked to stay inside ``root`` (a symlink planted inside the
root cannot redirect a write outside it). Every file is written under a hidden temporary name
in its final directory (``.NAME.PID-TAG.artctl-tmp``) and renamed into place only once all of
its bytes were written and verified, so no file ever appears under its real name truncated or
unverified. A ``get`` that fails removes the files and directories it created; temporary files
that a killed ``get`` left behind (their process is gone) are removed by the next ``get`` into
the same directories.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from artctl.base.crashpoints import crash_point, declare
from artctl.base.fsutil import disk_full_guard
from artctl.errors import ArtctlError, InvalidInput, UnsafePath
from artctl.format.manifest import Entry

if TYPE_CHECKING:
    from artctl.repository.objects import Placement, Store

Fetch = Callable[[Entry, Path], None]  # writes one entry's bytes to a path (references, remotes)


GET_FILE_WRITTEN = declare(
    "get.file-written",
    "a file's bytes are complete under its temporary name, not yet renamed: nothing appears under "
    "a real name half-written; the next get removes the temporary file",
)
GET_FILE_PLACED = declare(
    "get.file-placed",
    "some files are renamed into place, complete and verified, the rest are not: a re-run "
    "finishes the job and leaves no temporary file",
)

#: The link modes a user asks for explicitly; a file placed otherwise is reported (why, how many).
LINKING_MODES = ("hardlink", "symlink", "reflink")


@dataclass(frozen=True)
class CheckoutResult:
    """What a checkout did.

    ``not_linked`` is filled when a link mode was asked for (``--link hardlink|symlink|reflink``):
    how many files were copied instead, by reason — ``packed`` (small files are stored inside a
    pack, which cannot be linked), ``fetched`` (bytes downloaded from a remote or a reference),
    ``fallback`` (the filesystem refused the link, e.g. another device).
    """

    root: Path
    files: int
    bytes: int
    modes: dict[str, int]
    not_linked: dict[str, int] = field(default_factory=dict)
    link: str = "auto"  # the link mode asked for


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


def _safe_parent(root: str, relative: str, made: set[str], created: list[str] | None = None) -> str:
    """Create the parent directories of ``relative`` inside ``root`` without following links.

    Each directory is checked once per checkout (``made``): a symlink planted anywhere on the
    way is refused, so no write can land outside ``root``. Directories this call creates are
    appended to ``created`` (so that a failed checkout can remove them again).
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
            if created is not None:
                created.append(current)
        except FileExistsError:
            st = os.lstat(current)
            if stat.S_ISLNK(st.st_mode):
                raise UnsafePath(f"refusing to write through symbolic link {current}") from None
            if not stat.S_ISDIR(st.st_mode):
                raise InvalidInput(f"{current} exists and is not a directory") from None
        made.add(done)
    return target


_TMP_TAG = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
#: ``.NAME.PID-TAG.artctl-tmp``: artctl's own temporary names, and the process that owns each.
_TMP_NAME = re.compile(r"^\..+\.(\d+)-[0-9a-f]{8}\.artctl-tmp$")


def _tmp_name(target: str) -> str:
    """A sibling name for writing ``target``: unique per process, hidden, recognisable."""
    head, _, name = target.rpartition("/")
    return f"{head}/.{name}.{_TMP_TAG}.artctl-tmp"


def temp_owner(name: str) -> int | None:
    """The pid of the process whose temporary file ``name`` is, or None if it is not one."""
    match = _TMP_NAME.match(name)
    return int(match.group(1)) if match else None


def process_gone(pid: int) -> bool:
    """True when no process ``pid`` exists (its temporary files can only be debris)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: it exists, owned by someone else
        return False
    return False


def remove_stale_temps(directories: Iterable[str]) -> int:
    """Remove temporary files of artctl's own naming whose ``get`` process is gone; count them.

    Only names matching :data:`_TMP_NAME` are touched, and only when the process that wrote
    them no longer runs, so a concurrent ``get`` into the same directory keeps its files.
    """
    removed = 0
    for directory in directories:
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            owner = temp_owner(name)
            if owner is not None and process_gone(owner):
                with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                    os.unlink(f"{directory}/{name}")
                    removed += 1
    return removed


def _replace(tmp: str, target: str) -> None:
    try:
        os.replace(tmp, target)
    except IsADirectoryError:
        raise InvalidInput(f"{target} is a directory; cannot replace it with a file") from None


def _os_failure(exc: OSError, target: Path) -> ArtctlError:
    if isinstance(exc, ArtctlError):
        return exc
    if disk_full_guard(exc) is not None:  # the target's disk, not the repository's: say where
        return ArtctlError(
            f"no space left on device writing under {target}",
            hint="free some space there or choose another --root",
        )
    return ArtctlError(f"cannot write {target}: {exc.strerror or exc}")


class _Placement:
    """The files and directories one checkout creates, so that a failure can undo them.

    A file is *created* when nothing was at its name before it was renamed into place; a file
    that replaced an older one is not removed on failure (the older bytes are gone anyway).
    """

    def __init__(self, root: Path, root_created: bool) -> None:
        self.root = root
        self.root_created = root_created
        self.directories: list[str] = []
        self.files: list[str] = []
        self.temps: set[str] = set()

    def temp_for(self, target: str) -> str:
        tmp = _tmp_name(target)
        self.temps.add(tmp)
        return tmp

    def place(self, tmp: str, target: str) -> None:
        """Rename a complete, verified temporary file to its real name."""
        new = not os.path.lexists(target)
        _replace(tmp, target)
        self.temps.discard(tmp)
        if new:
            self.files.append(target)
        crash_point(GET_FILE_PLACED)

    def discard(self, tmp: str) -> None:
        """Remove one temporary file that will not be placed."""
        self.temps.discard(tmp)
        with contextlib.suppress(OSError):
            os.unlink(tmp)

    def discard_temps(self) -> None:
        for tmp in list(self.temps):
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self.temps.clear()

    def undo(self) -> None:
        """Remove what this checkout created: its files, then its directories deepest first."""
        self.discard_temps()
        for path in self.files:
            with contextlib.suppress(OSError):
                os.unlink(path)
        for directory in sorted(self.directories, key=len, reverse=True):
            with contextlib.suppress(OSError):
                os.rmdir(directory)  # only if empty: never someone else's files
        if self.root_created:
            with contextlib.suppress(OSError):
                os.rmdir(self.root)


def checkout(
    entries: list[Entry],
    root: Path,
    store: Store,
    *,
    link: str = "auto",
    fetch: Fetch | None = None,
    workers: int = 4,
    progress: Callable[[int, int], None] | None = None,
    where: Placement | None = None,
    optional: Callable[[Entry], bool] | None = None,
) -> CheckoutResult:
    """Write ``entries`` under ``root``; return counts. ``fetch`` handles what the store lacks.

    Bytes in the local store are written in one batch (packed blobs pack by pack); the rest
    come from ``fetch`` (references, remotes), several at once. Every file is written under a
    temporary name and renamed into place only after all of its bytes were verified; on any
    failure the files and directories created so far are removed again. An entry for which
    ``optional(entry)`` is true is skipped (not written, not counted) when ``fetch`` fails for it.
    """
    root_created = not os.path.lexists(root)
    root = prepare_root(root)
    made: set[str] = set()
    base = str(root)
    placed = _Placement(root, root_created)
    try:
        targets = [(e, _safe_parent(base, e.path, made, placed.directories)) for e in entries]
        if not root_created:  # a killed get may have left temporary files here
            remove_stale_temps([base, *(f"{base}/{d}" for d in sorted(made))])
        if where is None:  # the caller may already know what the store holds
            where = store.placement({e.digest for e, _ in targets if e.digest is not None}, locations=True)
        local_digests = where.present()
        local = [(e, t) for e, t in targets if e.digest in local_digests]
        remote = [(e, t) for e, t in targets if e.digest not in local_digests]
        modes: dict[str, int] = {}
        skipped: list[Entry] = []
        if local:
            _place_local(local, store, link, where, placed, modes, progress, root)
        if remote:
            skipped = _place_fetched(remote, fetch, placed, workers, progress, optional)
            modes["copy"] = modes.get("copy", 0) + len(remote) - len(skipped)
    except BaseException:
        placed.undo()
        raise
    not_linked = _not_linked(link, modes, local, remote, where)
    return CheckoutResult(
        root,
        len(entries) - len(skipped),
        sum(e.size for e in entries) - sum(e.size for e in skipped),
        modes,
        not_linked,
        link,
    )


def _place_local(
    local: list[tuple[Entry, str]],
    store: Store,
    link: str,
    where: Placement,
    placed: _Placement,
    modes: dict[str, int],
    progress: Callable[[int, int], None] | None,
    root: Path,
) -> None:
    """Write the blobs the local store holds (one batch) to temporary names, then rename them."""
    pending: list[tuple[str, str]] = []
    items: list[tuple[str, str]] = []
    for entry, target in local:
        assert entry.digest is not None  # ``local``: entries whose blob this store holds
        tmp = placed.temp_for(target)
        pending.append((tmp, target))
        items.append((entry.digest, tmp))

    def done(size: int) -> None:
        crash_point(GET_FILE_WRITTEN)
        if progress:
            progress(1, size)

    try:
        for mode, count in store.materialize_many(items, link, done, where).items():
            modes[mode] = modes.get(mode, 0) + count
    except OSError as exc:
        raise _os_failure(exc, root) from None
    for tmp, target in pending:
        placed.place(tmp, target)


def _place_fetched(
    remote: list[tuple[Entry, str]],
    fetch: Fetch | None,
    placed: _Placement,
    workers: int,
    progress: Callable[[int, int], None] | None,
    optional: Callable[[Entry], bool] | None = None,
) -> list[Entry]:
    """Fetch what the store lacks (remotes, references), several at once, each verified first;
    return the ``optional`` entries skipped because their fetch failed."""
    if fetch is None:
        from artctl.errors import ObjectNotFound

        raise ObjectNotFound(
            f"the bytes of {remote[0][0].path} are not in the local store",
            hint="run `artctl pull` to fetch them from a remote",
        )

    skipped: list[Entry] = []

    def one(item: tuple[Entry, str]) -> None:
        entry, target = item
        tmp = placed.temp_for(target)
        try:
            try:
                fetch(entry, Path(tmp))
            except ArtctlError:
                if optional is None or not optional(entry):
                    raise
                skipped.append(entry)
                placed.discard(tmp)
                return
            crash_point(GET_FILE_WRITTEN)
            placed.place(tmp, target)
        except OSError as exc:
            raise _os_failure(exc, Path(target)) from None
        if progress:
            progress(1, entry.size)

    if len(remote) == 1 or workers <= 1:
        for item in remote:
            one(item)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one, remote))
    return skipped


def _not_linked(
    link: str,
    modes: dict[str, int],
    local: list[tuple[Entry, str]],
    remote: list[tuple[Entry, str]],
    where: Placement,
) -> dict[str, int]:
    """Files copied although ``link`` asked for links, by reason (empty for auto/copy)."""
    if link not in LINKING_MODES:
        return {}
    packed = sum(1 for e, _ in local if e.digest in where.locations)
    out = {"packed": packed, "fetched": len(remote)}
    out["fallback"] = max(0, len(local) - packed - modes.get(link, 0))
    return {reason: n for reason, n in out.items() if n}


_REASONS = {
    "packed": "stored packed (small files share a pack file, which cannot be linked)",
    "fetched": "fetched from a remote or a reference",
    "fallback": "the filesystem refused the link (e.g. another device)",
}


def describe_not_linked(link: str, not_linked: dict[str, int]) -> str | None:
    """One sentence saying how many files were copied instead of linked, and why (or None)."""
    if not not_linked:
        return None
    total = sum(not_linked.values())
    verb = {"hardlink": "hardlinked", "symlink": "symlinked", "reflink": "reflinked"}.get(link, link)
    why = "; ".join(f"{n} {_REASONS.get(reason, reason)}" for reason, n in not_linked.items())
    return f"{total} file(s) were copied instead of {verb}: {why}"
