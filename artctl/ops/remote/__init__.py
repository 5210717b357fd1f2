"""Remotes: push, pull and clone over fsspec (file://, S3, GCS, Azure …). See docs/remotes.md.

Modules: ``config`` (named remotes in config.toml), ``fs`` (the backend: a few whole-file
operations, fsspec imported lazily), ``protocol`` (remote layout and conditional-write records),
``inventory`` (which blobs a remote holds), ``transfer`` (push / pull / clone), ``sync``
(renumbering the local registry after the remote's), ``source`` (lazy fetch for ``get``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from artctl.ops.remote.transfer import TransferResult, clone, pull, push

__all__ = ["TransferResult", "clone", "pull", "push"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from artctl.ops.remote import transfer

        return getattr(transfer, name)
    raise AttributeError(name)
