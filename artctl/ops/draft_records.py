"""The draft file and what the draft commands return, as data.

:class:`Draft` is ``.artifacts/drafts/<id>.json`` (format in docs/drafts.md): the base version,
the entries added or replaced and the base paths removed, read back with every path validated
again. :class:`DraftSummary`, :class:`DraftFile`, :class:`DraftView` and :class:`DraftChange` are
the results of ``draft ls`` and ``draft add``/``rm``. Storing, locking and committing drafts is
:mod:`artctl.ops.drafts`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from artctl.errors import RepositoryFormatError
from artctl.format.manifest import Entry, validate_path

DRAFT_FORMAT = 1
DRAFT_KIND = "artctl-draft"


@dataclass(frozen=True)
class Draft:
    """An open draft as stored on disk (the delta against its base version)."""

    id: str
    name: str
    type: str
    base_version: str
    base_manifest: str
    created_at: str
    updated_at: str
    added: dict[str, Entry] = field(default_factory=dict)
    removed: frozenset[str] = frozenset()
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    ttl_seconds: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": DRAFT_FORMAT,
            "kind": DRAFT_KIND,
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "base": {"version": self.base_version, "manifest": self.base_manifest},
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "added": [self.added[p].to_json() for p in sorted(self.added)],
            "removed": sorted(self.removed),
            "description": self.description,
            "metadata": self.metadata,
            "ttl_seconds": self.ttl_seconds,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any], where: str) -> Draft:
        if obj.get("kind") != DRAFT_KIND:
            raise RepositoryFormatError(f"{where} is not an artctl draft")
        try:
            base = obj["base"]
            added = {}
            for raw in obj.get("added", []):
                entry = Entry.from_json(raw)
                added[entry.path] = entry
            removed = frozenset(validate_path(p) for p in obj.get("removed", []))
            return cls(
                str(obj["id"]),
                str(obj["name"]),
                str(obj["type"]),
                str(base["version"]),
                str(base["manifest"]),
                str(obj["created_at"]),
                str(obj["updated_at"]),
                added,
                removed,
                obj.get("description"),
                dict(obj.get("metadata") or {}),
                obj.get("ttl_seconds"),
            )
        except (KeyError, TypeError) as exc:
            raise RepositoryFormatError(f"{where} is incomplete: {exc}") from None


@dataclass(frozen=True)
class DraftSummary:
    """One row of ``draft ls``."""

    id: str
    name: str
    base: str
    added: int
    removed: int
    created_at: str
    updated_at: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class DraftFile:
    """One file of a draft with where it comes from: ``base``, ``added`` or ``changed``."""

    path: str
    size: int
    digest: str | None
    status: str
    ref: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class DraftView:
    """``draft ls ID``: the draft, its files and the base paths it removed."""

    summary: DraftSummary
    files: list[DraftFile]
    removed: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            **self.summary.to_json(),
            "files": [f.to_json() for f in self.files],
            "removed_paths": self.removed,
        }


@dataclass(frozen=True)
class DraftChange:
    """What ``draft add`` / ``draft rm`` changed."""

    id: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "added": self.added, "removed": self.removed}
