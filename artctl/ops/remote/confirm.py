"""Re-confirming, just before ``cache cleanup`` drops a local copy, that a remote still holds it.

``remote_files`` (state.db) records only copies this machine verified when it sent or fetched
them; a remote can lose them afterwards (emptied, pruned, a pack cut short). So before the
last local copy of a blob is deleted, each recorded remote file is checked to exist at its
recorded size — a pack together with its ``.idx``, which ``get`` needs to find the blob in it.
A record the check disproves is forgotten; a remote that cannot be reached confirms nothing.
Sizes are checked, not bytes: re-reading every byte would cost the download the cache saves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from artctl.errors import RemoteError
from artctl.format.layout import index_key, parse_key
from artctl.ops.remote.config import list_remotes
from artctl.repository.state import RemoteCopy

if TYPE_CHECKING:
    from artctl.backend import Backend
    from artctl.repository.repo import Repository


@dataclass
class Confirmation:
    """Digests with a confirmed remote copy, and remotes that could not be asked (→ why)."""

    confirmed: set[str] = field(default_factory=set)
    unreachable: dict[str, str] = field(default_factory=dict)


def confirm_copies(repository: Repository, digests: set[str]) -> Confirmation:
    """Which of ``digests`` a configured remote still holds at the recorded file and size."""
    out = Confirmation()
    by_remote: dict[str, list[RemoteCopy]] = {}
    for held in repository.state.remote_copies(digests).values():
        for remote, copy in held:
            by_remote.setdefault(remote, []).append(copy)
    specs = {spec.name: spec for spec in list_remotes(repository)}
    for remote, copies in sorted(by_remote.items()):
        copies = [c for c in copies if c.digest not in out.confirmed]
        spec = specs.get(remote)
        if spec is None:  # the remote was removed from the configuration
            repository.state.forget_remote_copies(remote, copies)
            continue
        try:
            sizes = _sizes(repository, spec, copies)
        except RemoteError as exc:
            out.unreachable[remote] = exc.message
            continue
        stale = [c for c in copies if not _holds(sizes, c)]
        out.confirmed.update(c.digest for c in copies if _holds(sizes, c))
        if stale:
            repository.state.forget_remote_copies(remote, stale)
    return out


def _sizes(repository: Repository, spec, copies: list[RemoteCopy]) -> dict[str, int | None]:
    from artctl.ops.remote.config import backend_for

    return sizes_of(backend_for(repository, spec), copies)


def sizes_of(backend: Backend, copies: list[RemoteCopy]) -> dict[str, int | None]:
    """One ``sizes`` request for the files of ``copies`` and the index of each pack among them
    (RemoteError when the remote cannot be asked)."""
    files = {c.file for c in copies} | {_index_of(c.file) for c in copies if _index_of(c.file)}
    return backend.sizes(sorted(files))


def holds(sizes: dict[str, int | None], copy: RemoteCopy) -> bool:
    """The remote still has ``copy``: its file at the recorded size (and a pack's index)."""
    return _holds(sizes, copy)


def _index_of(file: str) -> str:
    """``packs/<id>.pack`` → its ``packs/<id>.idx``; "" for a loose object."""
    found = parse_key(file)
    return index_key(found.ident) if found is not None and found.kind == "pack" else ""


def _holds(sizes: dict[str, int | None], copy: RemoteCopy) -> bool:
    index = _index_of(copy.file)
    return sizes.get(copy.file) == copy.size and (not index or sizes.get(index) is not None)
