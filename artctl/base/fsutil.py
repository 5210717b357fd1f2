"""File-system primitives every writer uses: atomic writes, fsync, temp files.

Locks are in ``artctl.base.locks``; copying and linking files in ``artctl.base.filecopy``.

Every durable write in artctl is temp file + fsync + rename (+ fsync of the directory), so a
crash at any point leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from artctl.base.processes import process_gone
from artctl.errors import ArtctlError


def sync_file(fd: int, fsync: bool = True) -> None:
    """``fsync(fd)`` when ``fsync`` (the writer's durability: its repository's ``core.fsync``,
    or a remote's own): there is no process-wide switch, each caller passes its own."""
    if fsync:
        os.fsync(fd)


def fsync_dir(path: str | os.PathLike[str], fsync: bool = True) -> None:
    """Make a rename or create inside ``path`` durable (nothing when ``fsync`` is False)."""
    if not fsync:
        return
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sync_filesystem(path: str | os.PathLike[str]) -> None:
    """Flush everything written to the filesystem holding ``path`` in one call: ``syncfs(2)`` on
    Linux, else ``sync(2)``. For a tree written with per-file flushes deferred (a clone built out
    of sight): one flush at the end costs what one ``fsync`` costs, not one per file."""
    import ctypes
    import ctypes.util

    fd = os.open(path, os.O_RDONLY)
    try:
        libc_name = ctypes.util.find_library("c")
        syncfs = getattr(ctypes.CDLL(libc_name, use_errno=True), "syncfs", None) if libc_name else None
        if syncfs is None or syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def _owner_tag() -> str:
    """``<host>-<pid>`` of this process, put in every temp file's name (see :func:`remove_dead_temps`).

    Computed per call, not cached: a forked child must not name its files after its parent.
    """
    import socket
    import zlib

    host = zlib.crc32(socket.gethostname().encode("utf-8", "surrogateescape"))
    return f"{host:08x}-{os.getpid()}"


def temp_path_in(directory: Path, suffix: str = ".tmp") -> Path:
    """A unique name in ``directory`` for staging a file that is renamed into place later.

    The name carries the creating process (``.<host>-<pid>-<random><suffix>``), so the debris
    of a process that was killed before it could clean up can be recognised and removed at
    once by the next writer instead of lingering for ``gc``'s hour.
    """
    return directory / f".{_owner_tag()}-{uuid.uuid4().hex}{suffix}"


_OWNED = re.compile(r"\.([0-9a-f]{8})-([0-9]+)-[0-9a-z_]+\.tmp\Z")


def remove_dead_temps(directory: Path) -> int:
    """Delete the temp files in ``directory`` whose creating process (on this host) is gone.

    A SIGKILLed writer leaves its staged file (a half-copied object, an unpublished pack)
    behind; nothing will ever rename it into place. Files of live processes, of another
    host (a shared file system) and with foreign names are left alone; an unknown process
    (``EPERM``) counts as alive. Returns how many files were removed.
    """
    try:
        names = os.listdir(directory)
    except OSError:
        return 0
    host = _owner_tag().split("-", 1)[0]
    removed = 0
    for name in names:
        match = _OWNED.match(name)
        if match is None or match.group(1) != host or not process_gone(int(match.group(2))):
            continue
        with contextlib.suppress(FileNotFoundError, PermissionError):
            os.unlink(directory / name)
            removed += 1
    return removed


def atomic_write_bytes(
    path: Path, data: bytes, *, tmp_dir: Path | None = None, fsync: bool = True, mode: int | None = None
) -> None:
    """Replace ``path`` with ``data`` atomically (temp + fsync + rename; no fsync when
    ``fsync`` is False: still atomic against a killed process, not against power loss)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_in(tmp_dir or path.parent)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                sync_file(fh.fileno(), fsync)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent, fsync)


def write_content_addressed(
    chunks: Iterable[bytes],
    place: Callable[[str], Path],
    tmp_dir: Path,
    *,
    mode: int = 0o444,
    fsync: bool = True,
) -> str:
    """Write ``chunks`` to a temporary file while hashing them, then move it to
    ``place(digest)`` (unless that exists already); return the digest.

    The bytes are never held whole in memory, and a crash leaves at most a temporary file.
    """
    from artctl.base.hashing import new_hasher

    tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_in(tmp_dir)
    hasher = new_hasher()
    try:
        with open(tmp, "wb") as fh:
            for chunk in chunks:
                hasher.update(chunk)
                fh.write(chunk)
            fh.flush()
            sync_file(fh.fileno(), fsync)
        digest = hasher.hexdigest()
        final = place(digest)
        if not final.exists():
            os.chmod(tmp, mode)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
            fsync_dir(final.parent, fsync)
        return digest
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def create_exclusive(path: Path, data: bytes, *, tmp_dir: Path | None = None, fsync: bool = True) -> bool:
    """Create ``path`` with ``data`` only if it does not exist yet; False if it did.

    The content is written and fsynced under a temporary name first and then hard-linked into
    place: ``link`` fails atomically when the target exists, so two racing writers never see a
    half-written record and exactly one of them wins.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_in(tmp_dir or path.parent)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            sync_file(fh.fileno(), fsync)
    except BaseException:  # e.g. a full disk: leave no temp file behind
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    fsync_dir(path.parent, fsync)
    return True


def make_read_only(path: Path) -> None:
    """Drop write bits so stored objects cannot be edited in place by accident."""
    mode = os.stat(path).st_mode
    os.chmod(path, mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


#: What to do about a full repository disk. Not plain `artctl gc`: it keeps everything younger
#: than the grace period (1h), which after a failed put is exactly what fills the disk.
DISK_FULL_HINT = (
    "free some space and retry: `artctl gc --grace-period 0` deletes unreferenced "
    "data now, `artctl cache cleanup SIZE` drops local copies of pushed objects"
)


def disk_full_guard(exc: OSError) -> ArtctlError | None:
    """Translate ENOSPC / EDQUOT into a user-facing error, else None."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ArtctlError(f"no space left on device: {exc.filename or ''}".rstrip(": "), hint=DISK_FULL_HINT)
    return None


def local_disk_full(exc: OSError, directory: Path, what: str) -> ArtctlError | None:
    """ENOSPC / EDQUOT while writing under ``directory`` of this machine: named as this machine's
    full disk (not as a failing remote or a full cache elsewhere), else None."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ArtctlError(
            f"no space left on device writing {directory} (this machine's disk) while {what}",
            hint=DISK_FULL_HINT,
        )
    return None


def copy_target_in(directory: Path) -> Path:
    """A unique path in ``directory`` (created on demand) for a copy or download to *create*.

    Not a file created beforehand: ext4 treats opening an existing file with ``O_TRUNC`` and
    writing it as "replace via truncate" and starts writing it back on close; measured here, a
    1 GB copy over a just-created empty file took twice as long as one into a new name.
    """
    directory.mkdir(parents=True, exist_ok=True)
    return temp_path_in(directory)


def mkstemp_in(directory: Path) -> tuple[int, Path]:
    """An open, unique temp file inside ``directory`` (created on demand)."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix=f".{_owner_tag()}-", suffix=".tmp")
    return fd, Path(name)
