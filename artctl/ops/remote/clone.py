"""clone: a new repository with a remote as its default, metadata pulled, built out of sight."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from artctl.backend.url import split_url
from artctl.base.crashpoints import crash_point, declare
from artctl.base.fsutil import fsync_dir
from artctl.base.processes import process_gone
from artctl.errors import ArtctlError, InvalidInput
from artctl.format.layout import DIRNAME
from artctl.ops.remote.config import add_remote, check_backend, check_options, open_storage
from artctl.ops.remote.protocol import open_remote
from artctl.ops.remote.pull import pull
from artctl.ops.remote.transfer import Progress, TransferResult
from artctl.repository.repo import Repository


def default_clone_dir(url: str) -> str:
    _protocol, root = split_url(url)
    return root.rstrip("/").rsplit("/", 1)[-1] or "artifacts"


CLONE_INITIALIZED = declare(
    "clone.initialized",
    "the new repository exists only in a hidden staging directory beside the target: the target "
    "is untouched, and the next clone removes the staging directory and starts again",
)
CLONE_PULLED = declare(
    "clone.pulled",
    "the metadata is pulled into the staging directory, which is not yet renamed to the target: "
    "the same as clone.initialized",
)

_CLONE_SUFFIX = ".artctl-clone"


def _staging_dir(target: Path) -> Path:
    """A hidden sibling of ``target`` for building a clone: named after it and this process."""
    import uuid

    return target.parent / f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}{_CLONE_SUFFIX}"


def remove_stale_clones(target: Path) -> int:
    """Remove staging directories of clones into ``target`` whose process is gone; count them."""
    import re
    import shutil

    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(\d+)-[0-9a-f]{{8}}{re.escape(_CLONE_SUFFIX)}$")
    removed = 0
    with contextlib.suppress(OSError):
        for name in os.listdir(target.parent):
            match = pattern.match(name)
            if match and process_gone(int(match.group(1))):
                shutil.rmtree(target.parent / name, ignore_errors=True)
                removed += 1
    return removed


def clone(
    url: str,
    directory: str | os.PathLike[str] | None = None,
    *,
    options: dict[str, Any] | None = None,
    fetch_all: bool = False,
    remote_name: str = "origin",
    force: bool = False,
    progress: Progress | None = None,
) -> tuple[Repository, TransferResult]:
    """A new repository in ``directory`` with ``url`` as its default remote, metadata pulled.

    A storage backend artctl is not tested with is refused unless ``force`` (see
    :func:`~artctl.ops.remote.config.check_backend`).

    The clone is built in a hidden staging directory beside the target and renamed into place
    at the end, so an interrupted clone never leaves a half-made repository at the target (it
    would block the next clone); a later clone into the same target removes what a killed one
    left behind.
    """
    import shutil

    target = Path(directory if directory is not None else default_clone_dir(url)).resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidInput(f"{target} exists and is not an empty directory")
    check_options(url, options, remote_name)  # a credential is refused before it is ever sent
    check_backend(url, force=force)
    open_remote(open_storage(url, options, remote=remote_name), create=False)  # fail before creating anything
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"cannot create {target.parent}: {exc.strerror}") from None
    remove_stale_clones(target)
    staging = _staging_dir(target)
    try:
        repo, _ = Repository.init(staging)
        crash_point(CLONE_INITIALIZED)
        add_remote(repo, remote_name, url, options, default=True, force=force)
        with repo.deferred_durability():  # nobody sees the staging directory: flush once at the end
            result = pull(repo, remote_name, fetch_all=fetch_all, progress=progress, direction="clone")
        crash_point(CLONE_PULLED)
        repo.state.close()
        _rename_clone(staging, target)
        fsync_dir(target.parent, repo.fsync)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    from dataclasses import replace

    return Repository(target / DIRNAME), replace(result, root=str(target))


def _rename_clone(staging: Path, target: Path) -> None:
    """Move the finished clone to ``target`` (which may be an empty directory) in one rename."""
    try:
        os.rename(staging, target)
    except OSError as exc:
        if target.exists():
            raise InvalidInput(
                f"{target} exists and is not an empty directory",
                hint="another process created it during the clone",
            ) from None
        raise ArtctlError(f"cannot create {target}: {exc.strerror or exc}") from None
