"""Finding the files to add: walk a path (``.artctlignore`` applied), stat each file once, and
sign the whole tree so an unchanged re-put is recognised without reading anything.
"""

from __future__ import annotations

import os
import stat
import time
from typing import NamedTuple

from artctl.errors import InvalidInput
from artctl.format.ignore import SPECIAL_NAMES
from artctl.format.ignore import load as load_ignore
from artctl.format.manifest import validate_path, validate_segment

#: A file modified this recently may change again within the same mtime tick: do not trust
#: the stat cache for it (git's "racily clean" rule).
RACY_SECONDS = 2.0


class SourceFile(NamedTuple):
    """A local file to add: where it is and the path it gets inside the artifact.

    A named tuple, not a dataclass: a scan builds one per file, by the million, and a tuple is
    the cheapest object to build and to sort (by ``path``, its first field).
    """

    path: str  # path inside the artifact
    local: str  # absolute local path
    size: int
    inode: int
    mtime_ns: int
    ctime_ns: int


def _stat_file(local: str, logical: str) -> SourceFile:
    st = os.stat(local)
    return SourceFile(logical, local, st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)


def scan(local_path: str | os.PathLike[str], prefix: str | None = None) -> list[SourceFile]:
    """Every regular file under ``local_path`` (or the file itself) with its artifact path.

    Symbolic links to files are followed (their content is stored); links to directories are
    not descended into, so a link loop cannot make a scan run forever. A directory's
    ``.artctlignore`` (see :mod:`artctl.format.ignore`) leaves out what it matches, and itself.
    """
    root = os.path.abspath(os.fspath(local_path))
    if prefix is not None:
        prefix = prefix.strip("/")
        if prefix:
            validate_path(prefix)
    try:
        st = os.stat(root)
    except FileNotFoundError:
        raise InvalidInput(f"no such file or directory: {local_path}") from None
    except PermissionError:
        raise InvalidInput(f"permission denied: {local_path}") from None
    if not os.path.isdir(root):
        if not stat.S_ISREG(st.st_mode):  # a FIFO would block forever, /dev/zero never end
            raise InvalidInput(f"{local_path} is not a regular file or a directory")
        name = prefix or os.path.basename(root)
        return [SourceFile(validate_path(name), root, st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)]
    out: list[SourceFile] = []
    lstat = os.lstat  # on a path string: cheaper than DirEntry.stat() (no per-entry cache)
    ignore = load_ignore(root)
    skip = len(prefix) + 1 if prefix else 0  # logical path → path relative to root (for ignore)
    stack = [(root, prefix or "")]
    while stack:
        directory, logical_dir = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except PermissionError:
            raise InvalidInput(f"permission denied: {directory}") from None
        for entry in entries:
            name = entry.name
            validate_segment(name)
            logical = f"{logical_dir}/{name}" if logical_dir else name
            if ignore.spec is not None or name in SPECIAL_NAMES:
                relative = logical[skip:]
                if (
                    ignore.directory(relative, entry.path)
                    if entry.is_dir(follow_symlinks=False)
                    else ignore.file(relative)
                ):
                    continue
            if entry.is_file(follow_symlinks=False):  # the common case: one lstat, no more
                local = entry.path
                try:
                    st = lstat(local)
                except FileNotFoundError:
                    continue  # deleted since the directory was listed
                out.append(SourceFile(logical, local, st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns))
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, logical))
                    continue
                if entry.is_symlink() and entry.is_dir():
                    continue
                if not entry.is_file():
                    if entry.is_symlink():
                        raise InvalidInput(f"broken symbolic link: {entry.path}")
                    continue  # sockets, FIFOs, devices: not data
                st = entry.stat()
            except FileNotFoundError:
                if entry.is_symlink():
                    raise InvalidInput(f"broken symbolic link: {entry.path}") from None
                continue
            out.append(SourceFile(logical, entry.path, st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns))
    out.sort()  # by path: the first field, unique within one scan
    return out


def tree_signature(files: list[SourceFile]) -> str | None:
    """One digest of every file's path and stat, or None if any file is too recent to trust.

    Equal signatures mean the same files with the same stat as when a manifest was made, so
    an unchanged re-put can reuse that manifest after one ``stat`` per file.
    """
    from artctl.base.hashing import new_hasher

    limit = time.time_ns() - int(RACY_SECONDS * 1e9)
    hasher = new_hasher()
    lines: list[str] = []
    for f in files:
        if f.mtime_ns > limit or f.ctime_ns > limit:
            return None
        lines.append(f"{f.path}\0{f.local}\0{f.inode}\0{f.size}\0{f.mtime_ns}\0{f.ctime_ns}\n")
        if len(lines) >= 8192:  # hashed in pieces: a million files never make one huge string
            hasher.update("".join(lines).encode("utf-8", "surrogateescape"))
            lines.clear()
    hasher.update("".join(lines).encode("utf-8", "surrogateescape"))
    return hasher.hexdigest()
