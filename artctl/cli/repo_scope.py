"""``--repo X``: run one command on another repository, or directly on a remote (as restic -r).

Every leaf command's callback runs inside :func:`scoped`. With a local repository ``X`` the
command runs as with ``ARTCTL_DIR=X``. With a remote, it runs on the remote's metadata mirror
(:mod:`artctl.ops.remote.mirror`) as ``ARTCTL_DIR`` — so every command that reads a repository
reads the remote, with no code of its own — and what it changed is published to the remote
before it returns. Commands that only make sense on a local repository are refused there.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator
from typing import Any

from artctl.errors import InvalidInput

#: Commands that need no repository: ``--repo`` changes nothing for them.
NO_REPOSITORY = (("help",), ("completion",))
#: Commands that only make sense on a local repository (a prefix names a whole group).
LOCAL_ONLY = (
    ("init",),
    ("clone",),
    ("config",),
    ("remote",),
    ("push",),
    ("pull",),
    ("draft",),
    ("cache",),
    ("artifact", "cache"),
    ("artifact", "upsert"),
    ("artifact", "finish"),
    ("artifact", "rename"),
    ("run", "start"),
    ("run", "finish"),
    ("run", "exec"),
    # its edits would reach the remote only when the server stops, and Ctrl-C drops them
    ("ui",),
)
#: Commands that work on the remote's own storage, not on its mirror.
ON_REMOTE = (("gc",),)


def _matches(path: tuple[str, ...], table: tuple[tuple[str, ...], ...]) -> bool:
    return any(path[: len(prefix)] == prefix for prefix in table)


def on_remote_only(path: tuple[str, ...]) -> bool:
    """Whether the command at ``path`` works on a remote's storage itself (``gc``)."""
    return _matches(path, ON_REMOTE)


@contextlib.contextmanager
def _repository_dir(root: str) -> Iterator[None]:
    """``ARTCTL_DIR=root`` for the command (restored after: the CLI also runs in-process)."""
    saved = os.environ.get("ARTCTL_DIR")
    os.environ["ARTCTL_DIR"] = root
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("ARTCTL_DIR", None)
        else:
            os.environ["ARTCTL_DIR"] = saved


def scoped(callback: Callable[..., Any], path: tuple[str, ...]) -> Callable[..., Any]:
    """``callback`` run where ``--repo`` says (unchanged without it)."""

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        from artctl.cli.common import get_output

        out = get_output()
        if out.repo is None or _matches(path, NO_REPOSITORY):
            return callback(*args, **kwargs)
        from artctl.ops.remote.mirror import open_mirror
        from artctl.ops.remote.target import resolve_target

        target = resolve_target(out.repo)
        if target.root is not None:
            with _repository_dir(str(target.root)):
                return callback(*args, **kwargs)
        assert target.url is not None
        command = " ".join(path)
        if _matches(path, LOCAL_ONLY):
            raise InvalidInput(
                f"`artctl {command}` works on a local repository, not on a remote (--repo {out.repo})",
                hint=f"run it in a clone of {target.url} (`artctl clone {target.url}`), without --repo",
            )
        if _matches(path, ON_REMOTE):
            return callback(*args, **kwargs)
        mirror = open_mirror(target.url, target.options)
        try:
            with _repository_dir(str(mirror.repository.root)), mirror.published() as published:
                result = callback(*args, **kwargs)
        finally:
            mirror.repository.close()
        if published:
            out.info(f"published {', '.join(published)} to {target.url}")
        return result

    return run
