"""Upgrading a repository of format 1 to format 2, once, idempotently, resumable after a kill.

Format 1 differs locally in one file: each artifact's custom-alias table was ``aliases.json``,
rewritten in place; format 2 keeps it as numbered alias snapshots (``aliases/<seq>.json``).
Version records of format 1 (with ``state``/``deleted_at``/``purged_at`` and edited fields
inside) stay as they are: the fold keeps what a record says. So under the ``migration`` lock:

1. for every artifact with an ``aliases.json``: create ``aliases/0000000000.json`` holding that
   table (exclusively: if it exists, a killed earlier run made it), then delete
   ``aliases.json``;
2. write ``FORMAT`` with format 2, last and atomically.

Readers accept every intermediate state (a snapshot wins over an ``aliases.json`` beside it;
an ``aliases.json`` beside no snapshot is the table), so a kill at any point leaves a
repository that reads as before and that the next open finishes migrating.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from pathlib import Path

from artctl.base.crashpoints import crash_point, declare
from artctl.base.fsutil import atomic_write_bytes, create_exclusive, fsync_dir
from artctl.format.layout import ALIASES_FILE
from artctl.format.local_layout import Layout
from artctl.format.records import dumps
from artctl.format.snapshots import AliasSnapshot
from artctl.repository.registry_files import legacy_table

ALIAS_SNAPSHOT_WRITTEN = declare(
    "migrate.alias-snapshot-written",
    "an artifact's first alias snapshot created, its aliases.json not yet deleted: the snapshot "
    "is the table (same content); the next open deletes aliases.json and goes on",
)
FORMAT_WRITTEN = declare(
    "migrate.format-written",
    "every aliases.json migrated and FORMAT says 2: the migration is complete, the command that "
    "opened the repository had not started yet",
)

#: Subdirectories of an artifact's directory that hold no ``aliases.json`` (not walked).
_SKIP = {"versions", "edits", "aliases"}


def legacy_tables(registry: Path) -> Iterator[Path]:
    """Every ``aliases.json`` under ``registry/`` (version directories are not walked)."""
    for dirpath, dirs, files in os.walk(registry):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP and not d.startswith("."))
        if ALIASES_FILE in files:
            yield Path(dirpath) / ALIASES_FILE


def _mtime(path: Path) -> str:
    """When format 1 last changed the table: the time its first snapshot is dated."""
    stamp = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).replace(microsecond=0)
    return stamp.isoformat().replace("+00:00", "Z")


def migrate_aliases(layout: Layout, table_path: Path, *, fsync: bool) -> None:
    """Step 1 for one artifact: its table as snapshot 0, then no more ``aliases.json``."""
    table = legacy_table(table_path)
    if table:
        snapshot = AliasSnapshot(0, dict(sorted(table.items())), _mtime(table_path))
        target = table_path.parent / "aliases" / f"{0:010d}.json"
        create_exclusive(target, dumps(snapshot.to_json()), tmp_dir=layout.tmp, fsync=fsync)
        crash_point(ALIAS_SNAPSHOT_WRITTEN)
    table_path.unlink(missing_ok=True)
    fsync_dir(table_path.parent, fsync)


def migrate(
    layout: Layout,
    lock: Callable[[str], AbstractContextManager[None]],
    read_format: Callable[[], int],
    format_bytes: bytes,
    *,
    fsync: bool,
) -> bool:
    """Bring a format-1 repository to format 2; False when another process already did."""
    with lock("migration"):
        if read_format() >= 2:
            return False
        for table_path in list(legacy_tables(layout.registry)):
            migrate_aliases(layout, table_path, fsync=fsync)
        atomic_write_bytes(layout.format_file, format_bytes, tmp_dir=layout.tmp, fsync=fsync)
        crash_point(FORMAT_WRITTEN)
    return True
