"""``state.db`` (SQLite): the local caches of one repository, never pushed and safe to delete.

The truth is the files (``packs/*.idx``, the working files themselves); these tables make a
lookup one indexed query instead of reading every index or hashing every file. The pack index is
rebuilt on demand from the ``.idx`` files it has not seen (``refresh``), so a process that
crashed after writing a pack but before recording it here leaves nothing inconsistent. SQLite in
WAL mode lets many processes read while one writes.

:class:`StateDB` combines the connection and schema (:mod:`~artctl.repository.state_base`) with
the accessors of each group of tables: the pack index (:mod:`~artctl.repository.state_packs`),
the copies on remotes (:mod:`~artctl.repository.state_remotes`) and the caches of working files
(:mod:`~artctl.repository.state_caches`).
"""

from __future__ import annotations

from artctl.repository.state_base import SCHEMA, SCHEMA_VERSION, StateDBError, state_error
from artctl.repository.state_caches import StateCaches
from artctl.repository.state_packs import PackLocation, StatePacks
from artctl.repository.state_remotes import RemoteCopy, StateRemotes

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "PackLocation",
    "RemoteCopy",
    "StateDB",
    "StateDBError",
    "state_error",
]


class StateDB(StatePacks, StateRemotes, StateCaches):
    """A per-process connection to ``state.db`` (never pushed; safe to delete): the connection
    and schema (``state_base``), the pack index (``state_packs``), the remote copies
    (``state_remotes``) and the caches of working files (``state_caches``)."""
