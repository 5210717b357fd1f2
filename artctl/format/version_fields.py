"""The fields a caller chooses for a new version besides its content, as one value.

Every path that makes a version (put, a draft's commit, a distributed finish, ``Artifact.save``,
a commit on a remote first) carries the same six choices down to the one write order
(:mod:`artctl.repository.commit`) or to the remote's (:mod:`artctl.ops.remote.commit`). The
public entry points keep their keyword arguments and build a :class:`VersionFields` there; the
layers below pass this one value, so a new field is added in one place and its defaults and
checks cannot drift apart between the paths.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from artctl.base.units import ttl_seconds
from artctl.format.user_json import check_metadata

#: The TTL that means "no TTL at all" (``None`` inherits the project's default instead).
NO_TTL = "none"


@dataclass(frozen=True)
class VersionFields:
    """Aliases, description, metadata, TTL, logging run and tags of a version to be committed.

    ``ttl=None`` inherits the project's default TTL; ``ttl="none"`` means no TTL at all.
    ``run_id`` is the run that logs the version (its lineage output), if any.
    """

    aliases: Sequence[str] = ()
    description: str | None = None
    metadata: dict[str, Any] | None = None
    ttl: str | timedelta | None = None
    run_id: str | None = None
    tags: Sequence[str] = ()

    def check(self) -> None:
        """Refuse metadata that is not a plain JSON object, before anything is read or written.

        The TTL and the run are checked where each path needs them (a put refuses a bad TTL
        before reading a file; a commit resolves it under the write lock), see
        :meth:`ttl_seconds`.
        """
        check_metadata(self.metadata)

    def ttl_seconds(self, inherited: Callable[[], int | None]) -> int | None:
        """The TTL to record, in seconds: ``inherited()`` (the project's default, only asked
        for when no TTL was given), none for ``"none"``, else the parsed duration (a bad one
        raises ``InvalidInput``)."""
        if self.ttl == NO_TTL:
            return None
        return ttl_seconds(self.ttl) if self.ttl is not None else inherited()


#: Nothing chosen: no custom alias, description, metadata, tag or run; the project's default TTL.
DEFAULT_FIELDS = VersionFields()
