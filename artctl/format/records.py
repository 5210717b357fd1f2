"""The small JSON records of the registry: artifacts and versions.

Records are plain dataclasses with ``to_json``/``from_json`` so that the same shapes are
written locally, pushed to remotes and served by the UI.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from artctl.base.units import MAX_DURATION_SECONDS
from artctl.errors import ArtctlError, RepositoryFormatError
from artctl.format.names import parse_ref, version_index
from artctl.format.user_json import json_problem, reject_constant

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
        obj = json.loads(data, parse_constant=reject_constant)
    except ValueError as exc:
        raise RepositoryFormatError(f"{what} is not valid JSON ({exc})", hint=RESTORE_HINT) from None
    except RecursionError:
        raise RepositoryFormatError(
            f"{what} is not valid JSON (nested too deeply)", hint=RESTORE_HINT
        ) from None
    if not isinstance(obj, dict):
        raise RepositoryFormatError(f"{what} is not a JSON object", hint=RESTORE_HINT)
    if obj.get("format", RECORD_FORMAT) != RECORD_FORMAT:
        raise RepositoryFormatError(
            f"{what} has unsupported format {obj.get('format')!r}", hint="upgrade artctl"
        )
    return obj


@dataclass(frozen=True)
class ArtifactRecord:
    """One artifact: its name and type (a name is unique within a project, whatever its type)."""

    name: str
    type: str
    created_at: str
    #: The collection's own description and tags (W&B's ``ArtifactCollection``), editable.
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    #: A registry collection (W&B's portfolio): its versions are links to versions of other
    #: collections, numbered in link order; nothing is put into it directly.
    portfolio: bool = False
    #: Set when the whole collection was deleted (``artifact rm NAME --all``,
    #: ``collection.delete()``): its name is free, the next put starts a fresh collection at v0.
    deleted_at: str | None = None
    #: Earlier names of this collection (``artifact rename``), oldest first: a repeated rename
    #: succeeds, and the old name's "not found" says where it went.
    renamed_from: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = {"format": RECORD_FORMAT, **asdict(self)}
        if self.description is None and not self.tags:  # records written before these fields
            del out["description"], out["tags"]
        for key in ("portfolio", "deleted_at", "renamed_from"):  # only when set: older readers' bytes
            if not out[key]:
                del out[key]
        return out

    def evolve(self, **changes: Any) -> ArtifactRecord:
        return replace(self, **changes)

    @classmethod
    def from_json(cls, obj: dict[str, Any], what: str = "artifact record") -> ArtifactRecord:
        try:
            fields = [obj["name"], obj["type"], obj["created_at"]]
            description, tags = obj.get("description"), obj.get("tags", [])
            portfolio = obj.get("portfolio", False)
            deleted_at, renamed_from = obj.get("deleted_at"), obj.get("renamed_from", [])
        except KeyError as exc:
            raise RepositoryFormatError(f"{what} lacks {exc}", hint=RESTORE_HINT) from None
        for key, value in zip(("name", "type", "created_at"), fields, strict=True):
            if not isinstance(value, str):
                raise RepositoryFormatError(
                    f"{what} has an invalid {key!r}: {value!r:.80}", hint=RESTORE_HINT
                )
        check_time(fields[2], "created_at", what)
        if (
            description is not None
            and not isinstance(description, str)
            or not isinstance(tags, list)
            or not all(isinstance(t, str) for t in tags)
        ):
            raise RepositoryFormatError(f"{what} has an invalid description or tags", hint=RESTORE_HINT)
        if not isinstance(portfolio, bool):
            raise RepositoryFormatError(
                f"{what} has an invalid 'portfolio': {portfolio!r:.80}", hint=RESTORE_HINT
            )
        if deleted_at is not None:
            if not isinstance(deleted_at, str):
                raise RepositoryFormatError(f"{what} has an invalid 'deleted_at'", hint=RESTORE_HINT)
            check_time(deleted_at, "deleted_at", what)
        if not isinstance(renamed_from, list) or not all(isinstance(n, str) for n in renamed_from):
            raise RepositoryFormatError(f"{what} has an invalid 'renamed_from'", hint=RESTORE_HINT)
        name, kind, created_at = fields
        return cls(name, kind, created_at, description, list(tags), portfolio, deleted_at, list(renamed_from))


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
    #: When an editable field (description, metadata, TTL, tags) last changed (W&B's updated_at).
    updated_at: str | None = None
    #: In a registry collection only: the source version this one links to
    #: (``[entity/]project/name:vN``). Its ``manifest`` is the source's, so no byte is copied.
    link: str | None = None

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

    def evolve(self, **changes: Any) -> VersionRecord:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        out = {"format": RECORD_FORMAT, **asdict(self)}
        for key in ("tags", "updated_at", "link"):  # absent while unset: older records' bytes stay
            if not out[key]:
                del out[key]
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any], what: str = "version record") -> VersionRecord:
        """Parse and type-check a record: a hand-edited or damaged file is one clear error
        naming the file and the field, never a TypeError deep inside a command."""
        known = {k: obj[k] for k in cls.__dataclass_fields__ if k in obj}
        try:
            record = cls(**known)
        except TypeError as exc:
            raise RepositoryFormatError(f"{what} is incomplete: {exc}", hint=RESTORE_HINT) from None
        for key, kinds in _VERSION_FIELD_TYPES.items():
            value = getattr(record, key)
            if (
                not isinstance(value, kinds)
                or isinstance(value, bool)
                or (isinstance(value, int) and value < 0)
            ):
                raise RepositoryFormatError(
                    f"{what} has an invalid {key!r}: {value!r:.80}", hint=RESTORE_HINT
                )
        if record.link is not None and not _is_version_ref(record.link):
            raise RepositoryFormatError(
                f"{what} has an invalid 'link': {record.link!r:.80}", hint=RESTORE_HINT
            )
        if not all(isinstance(tag, str) for tag in record.tags):
            raise RepositoryFormatError(
                f"{what} has an invalid 'tags': {record.tags!r:.80}", hint=RESTORE_HINT
            )
        for key in ("created_at", "deleted_at", "purged_at", "updated_at"):
            value = getattr(record, key)
            if value is not None:
                check_time(value, key, what)
        if record.ttl_seconds is not None:
            if not 0 < record.ttl_seconds <= MAX_DURATION_SECONDS:
                raise RepositoryFormatError(
                    f"{what} has an invalid 'ttl_seconds': {record.ttl_seconds} (at most 1000 years)",
                    hint=RESTORE_HINT,
                )
            try:
                record.expires_at  # noqa: B018 - every reader computes it: it must not overflow
            except OverflowError:
                raise RepositoryFormatError(
                    f"{what} expires after the year 9999 (created_at + ttl_seconds)", hint=RESTORE_HINT
                ) from None
        problem = json_problem(record.metadata)
        if problem:
            raise RepositoryFormatError(f"{what} has invalid metadata: {problem}", hint=RESTORE_HINT)
        return record


def check_time(value: str, key: str, what: str) -> datetime:
    """A record's timestamp: ISO 8601 *with* a UTC offset (naive times cannot be compared with
    the aware ones every record is written with)."""
    try:
        parsed = parse_time(value)
    except ValueError:
        raise RepositoryFormatError(
            f"{what} has an invalid {key!r}: {value!r:.80}", hint=RESTORE_HINT
        ) from None
    if parsed.utcoffset() is None:
        raise RepositoryFormatError(
            f"{what} has an invalid {key!r}: {value!r:.80} (no UTC offset)", hint=RESTORE_HINT
        )
    try:
        parsed.astimezone(timezone.utc)
    except OverflowError:
        raise RepositoryFormatError(
            f"{what} has an invalid {key!r}: {value!r:.80} (out of range)", hint=RESTORE_HINT
        ) from None
    return parsed


RESTORE_HINT = (
    "restore the file from a backup or a remote (`artctl pull`); `artctl artifact verify` lists every problem"
)
_OPT_STR = (str, type(None))
#: The JSON type of each field of a version record (ints are never negative, never booleans).
_VERSION_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "type": (str,),
    "index": (int,),
    "manifest": (str,),
    "created_at": (str,),
    "files": (int,),
    "size": (int,),
    "description": _OPT_STR,
    "metadata": (dict,),
    "ttl_seconds": (int, type(None)),
    "state": (str,),
    "deleted_at": _OPT_STR,
    "logged_by": _OPT_STR,
    "purged_at": _OPT_STR,
    "tags": (list,),
    "updated_at": _OPT_STR,
    "link": _OPT_STR,
}


def _is_version_ref(text: str) -> bool:
    """``[entity/]project/name:vN``: how a link names its source version."""
    try:
        return version_index(parse_ref(text).alias) is not None and text.count(":") == 1
    except ArtctlError:
        return False
