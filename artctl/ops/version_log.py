"""``artifact log NAME``: the versions of an artifact newest first, with what each changed.

Like ``git log --stat``: each version with its description, producing run, aliases, tags, size
and the files added, modified and removed compared with the version before it (the previous
live version; with ``include_deleted``, the previous one of all). Manifests are compared as
path-sorted streams, so the cost is one pass over each manifest listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from artctl.errors import ArtctlError, InvalidInput
from artctl.format.manifest import ManifestDiff, diff_sorted
from artctl.format.names import parse_name
from artctl.repository.versions import list_versions

if TYPE_CHECKING:
    from artctl.repository.repo import Repository
    from artctl.repository.views import VersionInfo


@dataclass(frozen=True)
class LogEntry:
    """One version and its change against ``parent`` (None for the first version)."""

    info: VersionInfo
    parent: str | None
    change: ManifestDiff | None  # None when either manifest is gone (dropped by gc)

    def to_json(self) -> dict[str, Any]:
        doc = self.info.to_json(entries=False)
        doc["parent"] = self.parent
        if self.change is None:
            doc["changes"] = None
        else:
            doc["changes"] = {
                "added": self.change.added,
                "modified": self.change.changed,
                "removed": self.change.removed,
            }
        return doc


def log(
    repo: Repository, name: str, *, limit: int | None = None, include_deleted: bool = False
) -> list[LogEntry]:
    """Versions of ``name`` newest first (at most ``limit``), each with its change."""
    if limit is not None and limit < 1:
        raise InvalidInput("--limit must be at least 1")
    versions = list_versions(repo, parse_name(name, repo.names), include_deleted=include_deleted)
    newest_first = versions[::-1]
    shown = newest_first[:limit] if limit else newest_first
    out = []
    for position, info in enumerate(shown):
        older = newest_first[position + 1] if position + 1 < len(newest_first) else None
        out.append(LogEntry(info, older.record.version if older else None, _change(repo, older, info)))
    return out


def _change(repo: Repository, older: VersionInfo | None, newer: VersionInfo) -> ManifestDiff | None:
    """What ``newer`` changed from ``older`` (everything added for a first version)."""
    try:
        new_entries = repo.iter_entries(newer.record)
        if older is None:
            return ManifestDiff([e.path for e in new_entries], [], [])
        return diff_sorted(repo.iter_entries(older.record), new_entries)
    except ArtctlError:  # a manifest dropped by gc (a deleted version shown with --all)
        return None
