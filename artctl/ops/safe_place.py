"""Writing files under a root safely: no write leaves the root, none appears half-written.

Every parent directory is created without following links (a symlink planted inside the root
cannot redirect a write outside it); every file is written under a hidden temporary name in its
final directory (``.NAME.PID-TAG.artctl-tmp``) and renamed into place only once complete;
:class:`PlacedFiles` remembers what one checkout created so a failure can remove it again, and
:func:`remove_stale_temps` removes the temporary files of a killed process. What is written, and
from where, is :mod:`artctl.ops.checkout`'s.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import uuid
from collections.abc import Iterable
from pathlib import Path

from artctl.base.crashpoints import crash_point, declare
from artctl.base.processes import process_gone
from artctl.errors import InvalidInput, UnsafePath

GET_FILE_PLACED = declare(
    "get.file-placed",
    "some files are renamed into place, complete and verified, the rest are not: a re-run "
    "finishes the job and leaves no temporary file",
)


def safe_parent(root: str, relative: str, made: set[str], created: list[str] | None = None) -> str:
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


class PlacedFiles:
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
