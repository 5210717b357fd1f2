"""The small JSON records of the registry: artifacts and versions.

Records are plain dataclasses with ``to_json``/``from_json`` so that the same shapes are
written locally, pushed to remotes and served by the UI.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from .errors import RepositoryFormatError

RECORD_FORMAT = 1


def utcnow() -> str:
    """Timestamps are ISO 8601 in UTC with microseconds: sortable as text."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def dumps(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, indent=1, ensure_ascii=False).encode() + b"\n"


def loads(data: bytes, what: str) -> dict[str, Any]:
    try:
        obj = json.loads(data)
    except ValueError:
        raise RepositoryFormatError(f"{what} is not valid JSON", hint=_RESTORE_HINT) from None
    if not isinstance(obj, dict):
        raise RepositoryFormatError(f"{what} is not a JSON object", hint=_RESTORE_HINT)
    if obj.get("format", RECORD_FORMAT) != RECORD_FORMAT:
        raise RepositoryFormatError(f"{what} has unsupported format {obj.get('format')!r}",
                                    hint="upgrade artctl")
    return obj


@dataclass(frozen=True)
class ArtifactRecord:
    """One artifact: its name and type (a name is unique within a project, whatever its type)."""

    name: str
    type: str
    created_at: str

    def to_json(self) -> dict[str, Any]:
        return {"format": RECORD_FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, obj: dict[str, Any], what: str = "artifact record") -> "ArtifactRecord":
        try:
            return cls(str(obj["name"]), str(obj["type"]), str(obj["created_at"]))
        except KeyError as exc:
            raise RepositoryFormatError(f"{what} lacks {exc}", hint=_RESTORE_HINT) from None


@dataclass(frozen=True)
class VersionRecord:
    """One immutable version (its manifest) plus the few fields users may edit later."""

    name: str
    type: str
    index: int
    manifest: str
    created_at: str
    files: int
    size: int
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    ttl_seconds: int | None = None
    state: str = "committed"  # or "deleted"
    deleted_at: str | None = None
    logged_by: str | None = None
    #: Set by gc when it dropped a deleted version's manifest and objects (the record stays
    #: so that lineage and version numbering remain intact).
    purged_at: str | None = None
    #: Labels set by users (W&B's version tags), sorted; unlike aliases, many versions may
    #: share a tag.
    tags: list[str] = field(default_factory=list)

    @property
    def version(self) -> str:
        return f"v{self.index}"

    @property
    def digest(self) -> str:
        """Version identity: the BLAKE3 of the canonical manifest."""
        return self.manifest

    @property
    def deleted(self) -> bool:
        return self.state == "deleted"

    @property
    def ttl(self) -> timedelta | None:
        return None if self.ttl_seconds is None else timedelta(seconds=self.ttl_seconds)

    @property
    def expires_at(self) -> datetime | None:
        if self.ttl_seconds is None:
            return None
        return parse_time(self.created_at) + timedelta(seconds=self.ttl_seconds)

    def expired(self, now: datetime | None = None) -> bool:
        expires = self.expires_at
        return expires is not None and (now or datetime.now(timezone.utc)) >= expires

    def status(self, now: datetime | None = None) -> str:
        """What readers are shown: ``committed``, ``deleted``, or ``expired`` (TTL passed, the
        stored state still ``committed`` until gc collects it). The one owner of that rule."""
        if self.deleted:
            return "deleted"
        return "expired" if self.expired(now) else self.state

    def live(self, now: datetime | None = None) -> bool:
        """Served to readers: not deleted and not past its TTL."""
        return not self.deleted and not self.expired(now)

    def evolve(self, **changes: Any) -> "VersionRecord":
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {"format": RECORD_FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, obj: dict[str, Any], what: str = "version record") -> "VersionRecord":
        """Parse and type-check a record: a hand-edited or damaged file is one clear error
        naming the file and the field, never a TypeError deep inside a command."""
        known = {k: obj[k] for k in cls.__dataclass_fields__ if k in obj}
        try:
            record = cls(**known)
        except TypeError as exc:
            raise RepositoryFormatError(f"{what} is incomplete: {exc}", hint=_RESTORE_HINT) from None
        for key, kinds in _VERSION_FIELD_TYPES.items():
            value = getattr(record, key)
            if not isinstance(value, kinds) or isinstance(value, bool) or (
                    isinstance(value, int) and value < 0):
                raise RepositoryFormatError(f"{what} has an invalid {key!r}: {value!r}", hint=_RESTORE_HINT)
        if not all(isinstance(tag, str) for tag in record.tags):
            raise RepositoryFormatError(f"{what} has an invalid 'tags': {record.tags!r}", hint=_RESTORE_HINT)
        for key in ("created_at", "deleted_at", "purged_at"):
            value = getattr(record, key)
            if value is not None:
                try:
                    parse_time(value)
                except ValueError:
                    raise RepositoryFormatError(f"{what} has an invalid {key!r}: {value!r}",
                                                hint=_RESTORE_HINT) from None
        return record


_RESTORE_HINT = ("restore the file from a backup or a remote (`artctl pull`); "
                 "`artctl artifact verify` lists every problem")
_OPT_STR = (str, type(None))
#: The JSON type of each field of a version record (ints are never negative, never booleans).
_VERSION_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,), "type": (str,), "index": (int,), "manifest": (str,), "created_at": (str,),
    "files": (int,), "size": (int,), "description": _OPT_STR, "metadata": (dict,),
    "ttl_seconds": (int, type(None)), "state": (str,), "deleted_at": _OPT_STR,
    "logged_by": _OPT_STR, "purged_at": _OPT_STR, "tags": (list,),
}
