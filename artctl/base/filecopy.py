"""Copying and linking files: the link modes of ``get``, the cheapest clone of a stored
object, and copies that are bounded or durable.

A stored object is read-only and shared: ``get`` places it by the mode the user asked for
(:data:`LINK_MODES`; ``auto`` never hands out a link through which the store could be
written), the user cache and the store clone it (reflink, else hard link, else copy), and a
``file://`` remote copies with a bound (a source longer than expected) or flushed to disk.
Atomic writes and temporary files are :mod:`artctl.base.fsutil`'s.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from artctl.base.fsutil import sync_file
from artctl.errors import InvalidInput

LINK_MODES = ("auto", "copy", "reflink", "hardlink", "symlink")


def _reflink(src: Path, dst: Path) -> bool:
    """Try a copy-on-write clone (FICLONE); False when the filesystem cannot."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return False
    ficlone = 0x40049409
    with open(src, "rb") as s, open(dst, "wb") as d:
        try:
            fcntl.ioctl(d.fileno(), ficlone, s.fileno())
            return True
        except OSError:
            pass
    with contextlib.suppress(OSError):
        os.unlink(dst)
    return False


def copy_file(src: Path, dst: Path) -> None:
    """Copy bytes with the kernel's fastest path (copy_file_range/sendfile via shutil)."""
    shutil.copyfile(src, dst)


def copy_bounded(src: Path, dst: Path, limit: int, chunk: int = 16 * 1024 * 1024) -> int:
    """Copy at most ``limit + 1`` bytes of ``src`` to ``dst``; return how many were copied.

    A result above ``limit`` means ``src`` is longer than expected (the caller decides what
    that means). Works on endless sources (``/dev/zero``, a pipe): never copies past the bound.
    The kernel copies where it can (copy_file_range), plain reads where it cannot.
    """
    copied = 0
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        in_fd, out_fd = fin.fileno(), fout.fileno()
        kernel = hasattr(os, "copy_file_range")
        while copied <= limit:
            want = min(chunk, limit + 1 - copied)
            n = 0
            if kernel:
                try:
                    n = os.copy_file_range(in_fd, out_fd, want)
                except OSError:
                    kernel = False  # another filesystem, a device, an old kernel: plain reads
            if not kernel:
                data = fin.read(want)
                fout.write(data)
                fout.flush()
                n = len(data)
            if n == 0:
                break
            copied += n
    return copied


def place_file(src: Path, dst: Path, mode: str) -> str:
    """Materialize ``src`` (a store object) at ``dst`` by ``mode``; return the mode used.

    ``auto`` means reflink where the filesystem supports it, else copy: never a link through
    which a user could write into the store.
    """
    if mode not in LINK_MODES:
        raise InvalidInput(f"unknown link mode {mode!r}; choose one of {', '.join(LINK_MODES)}")
    if mode in ("auto", "reflink"):
        if _reflink(src, dst):
            return "reflink"
        if mode == "reflink":
            raise InvalidInput(
                "this filesystem does not support reflinks", hint="use --link copy or --link auto"
            )
        copy_file(src, dst)
        return "copy"
    if mode == "hardlink":
        return _hardlink_or_copy(src, dst)
    if mode == "symlink":
        os.symlink(os.path.abspath(src), dst)
        return "symlink"
    copy_file(src, dst)
    return "copy"


def clone_file(src: Path, dst: Path) -> str:
    """Give ``dst`` (a new name) the bytes of the read-only file ``src`` the cheapest way: a
    reflink (an independent copy-on-write clone), else a hard link (same file system), else a
    copy. Returns ``"reflink"``, ``"hardlink"`` or ``"copy"``.

    Only for files nobody writes (stored objects): a hard link shares the inode.
    """
    if _reflink(src, dst):
        return "reflink"
    return _hardlink_or_copy(src, dst)


def _hardlink_or_copy(src: Path, dst: Path) -> str:
    """A hard link where the file system allows one (same device), else a copy; the mode used."""
    try:
        os.link(src, dst)
        return "hardlink"
    except OSError:
        copy_file(src, dst)
        return "copy"


def copy_durably(src: str | os.PathLike[str], dst: str | os.PathLike[str], fsync: bool = True) -> None:
    """Copy ``src`` to ``dst`` (a new name) and flush the copy to disk (unless ``fsync`` is False)."""
    copy_file(Path(src), Path(dst))
    if fsync:
        with open(dst, "rb+") as fh:
            sync_file(fh.fileno())
