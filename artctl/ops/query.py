"""Filtering and sorting for ``artifact ls``: by alias, tag, metadata, age; sorted, limited.

Filters select *versions*: ``--alias best``, ``--tag reviewed``, ``--metadata key=value``
(dotted keys reach into nested metadata: ``train.lr=0.1``; the value is compared as JSON when
it parses as JSON, so ``rows=60000`` matches the number and ``ok=true`` the boolean, else as
text), ``--since`` (an ISO date or time, or a duration back from now such as ``7d``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from artctl.errors import InvalidInput
from artctl.format.names import validate_alias, validate_tag
from artctl.format.records import parse_time

if TYPE_CHECKING:
    from artctl.repository.views import VersionInfo

T = TypeVar("T")
SORT_KEYS = ("created", "size", "name")
_MISSING = object()


@dataclass(frozen=True)
class VersionFilter:
    """What a version must have to be listed (every given condition must hold)."""

    aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    metadata: tuple[tuple[str, Any], ...] = field(default=())
    since: datetime | None = None

    def __post_init__(self) -> None:
        # A value no alias or tag can have is a typo, not a filter that matches nothing.
        for alias in self.aliases:
            validate_alias(alias)
        for tag in self.tags:
            validate_tag(tag)

    @property
    def selects_versions(self) -> bool:
        """True when a condition looks inside versions (not only at their age)."""
        return bool(self.aliases or self.tags or self.metadata)

    def matches(self, info: VersionInfo) -> bool:
        record = info.record
        if any(alias not in info.aliases for alias in self.aliases):
            return False
        if any(tag not in record.tags for tag in self.tags):
            return False
        if any(not _value_matches(lookup(record.metadata, key), want) for key, want in self.metadata):
            return False
        return self.since is None or parse_time(record.created_at) >= self.since


def parse_metadata_filter(text: str) -> tuple[str, Any]:
    """``key=value`` → ``(key, value)``; the value is JSON when it parses, else text."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise InvalidInput(
            f"--metadata filter {text!r} is not KEY=VALUE",
            hint="e.g. --metadata source=mnist or --metadata train.epochs=10",
        )
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return key, value


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``7d``/``12h`` (back from now) or an ISO date/time (UTC when no zone is given)."""
    from artctl.base.units import parse_duration

    now = now or datetime.now(timezone.utc)
    try:
        return now - parse_duration(text)
    except (InvalidInput, ValueError, OverflowError):
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"--since {text!r} is neither a date nor a duration",
            hint="e.g. --since 2026-11-01, --since 2026-11-01T12:00 or --since 7d",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def lookup(metadata: dict[str, Any], key: str) -> Any:
    """``metadata["a"]["b"]`` for ``a.b``; a key containing dots itself is tried whole first."""
    if key in metadata:
        return metadata[key]
    head, dot, rest = key.partition(".")
    if dot and isinstance(metadata.get(head), dict):
        return lookup(metadata[head], rest)
    return _MISSING


def _value_matches(actual: Any, want: Any) -> bool:
    """Equal as JSON values (``true`` is not ``1``), or equal as text for a plain value."""
    if actual is _MISSING:
        return False
    if isinstance(actual, bool) or isinstance(want, bool):
        if type(actual) is type(want):
            return actual == want
    elif actual == want:
        return True
    return isinstance(want, str) and not isinstance(actual, (dict, list)) and str(actual) == want


def order(
    items: list[T], sort: str | None, reverse: bool, limit: int | None, keys: dict[str, Callable[[T], Any]]
) -> list[T]:
    """Sort ``items`` by ``keys[sort]`` (stable; ``None`` keeps their order), then limit."""
    if limit is not None and limit < 1:
        raise InvalidInput("--limit must be at least 1")
    if sort is not None:
        if sort not in keys:
            raise InvalidInput(f"cannot sort by {sort!r}: choose one of {', '.join(keys)}")
        items = sorted(items, key=keys[sort])
    if reverse:
        items = items[::-1]
    return items[:limit] if limit else items
