"""The editable fields of a W&B-style artifact whose rules a plain value cannot carry.

``artifact.aliases`` is a list users edit in place (``append``, ``remove``, assignment), as in
W&B; here ``latest`` always names the newest live version and ``vN`` is the version itself, so
the list refuses edits that would silently do nothing. ``ArtifactTTL.INHERIT`` and tag rules
live here too, so the artifact, its collection and its run share one definition.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any, SupportsIndex

from artctl.errors import InvalidInput, InvalidName
from artctl.format.names import LATEST, validate_custom_alias, validate_tag


class ArtifactTTL(enum.Enum):
    """W&B's ``ArtifactTTL``: ``INHERIT`` takes the project's default TTL (``ttl.project.P`` or
    ``ttl.default`` in the config) instead of a TTL of the version's own."""

    INHERIT = "inherit"


def validate_tags(tags: Iterable[str], what: str = "tag") -> list[str]:
    """A list of tags, each by the one tag rule the registry stores (``format.names.validate_tag``),
    without repeats; a bare string (a common slip for ``[tag]``) is refused."""
    if isinstance(tags, str):
        raise InvalidInput(f"{what}s must be a list of strings, not the string {tags!r}")
    out: list[str] = []
    for tag in tags:
        validate_tag(tag)
        if tag not in out:
            out.append(tag)
    return out


def _check_addable(alias: Any, is_latest: bool) -> str:
    """An alias a user may add: a valid custom one, or ``latest`` where it already holds."""
    if alias == LATEST:
        if not is_latest:
            raise InvalidName(
                "'latest' always names the newest version; it cannot be added to an older one",
                hint="log a new version, or use a custom alias such as 'best'",
            )
        return alias
    return validate_custom_alias(alias)


class AliasList(list[str]):
    """The aliases of one saved version: ``latest`` (when it is the newest) and custom ones.

    Adding an invalid or managed alias (``v3``) and removing ``latest`` raise at once, so a
    ported W&B script learns that the edit cannot take effect instead of saving a no-op.
    """

    def __init__(self, aliases: Iterable[str] = (), *, is_latest: bool = False) -> None:
        self.is_latest = is_latest
        super().__init__(_check_addable(a, is_latest) for a in aliases)

    def _refuse_latest(self, alias: Any) -> None:
        if alias == LATEST and self.is_latest:
            raise InvalidInput(
                "'latest' always names the newest version and cannot be removed from it",
                hint="log a newer version, or delete this one with artifact.delete()",
            )

    def append(self, alias: str) -> None:
        alias = _check_addable(alias, self.is_latest)
        if alias not in self:
            super().append(alias)

    def extend(self, aliases: Iterable[str]) -> None:
        for alias in aliases:
            self.append(alias)

    def __iadd__(self, aliases: Iterable[str]) -> AliasList:  # type: ignore[override,misc]
        self.extend(aliases)
        return self

    def insert(self, index: SupportsIndex, alias: str) -> None:
        alias = _check_addable(alias, self.is_latest)
        if alias not in self:
            super().insert(index, alias)

    def remove(self, alias: str) -> None:
        self._refuse_latest(alias)
        super().remove(alias)

    def pop(self, index: SupportsIndex = -1) -> str:
        self._refuse_latest(self[index])
        return super().pop(index)

    def __delitem__(self, index: Any) -> None:
        for alias in self[index] if isinstance(index, slice) else [self[index]]:
            self._refuse_latest(alias)
        super().__delitem__(index)

    def __setitem__(self, index: Any, value: Any) -> None:
        new = AliasList(value if isinstance(index, slice) else [value], is_latest=self.is_latest)
        old = list(self)
        old[index] = list(new) if isinstance(index, slice) else new[0]
        if LATEST in self and LATEST not in old:
            self._refuse_latest(LATEST)
        super().__setitem__(index, list(new) if isinstance(index, slice) else new[0])

    def clear(self) -> None:
        if LATEST in self:
            self._refuse_latest(LATEST)
        super().clear()

    def custom(self) -> set[str]:
        """The aliases stored by the registry (everything but ``latest``)."""
        return {a for a in self if a != LATEST}
