"""What reading and writing a version returns: frozen results with their ``--json`` shapes.

``PutResult`` is the outcome of a put or commit, ``VersionInfo`` a version as ``show`` prints it,
``ArtifactSummary`` a row of ``artifact ls``; CLI.md documents each shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from artctl.base.units import format_duration
from artctl.format.manifest import Manifest
from artctl.format.records import VersionRecord


@dataclass(frozen=True)
class PutResult:
    """The outcome of a put / commit: the ``--json`` shape of CLI.md."""

    record: VersionRecord
    aliases: list[str]
    created: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.record.name,
            "type": self.record.type,
            "version": self.record.version,
            "digest": self.record.digest,
            "aliases": self.aliases,
            "created": self.created,
            "files": self.record.files,
            "size": self.record.size,
        }


@dataclass(frozen=True)
class VersionInfo:
    """A version with its aliases and (on demand) its manifest: what ``show`` prints."""

    record: VersionRecord
    aliases: list[str]
    manifest: Manifest | None = None
    #: A linked version's source (``name:vN``, as numbered now); the links of a source version.
    source: str | None = None
    linked: tuple[str, ...] = ()

    def to_json(self, *, entries: bool = True) -> dict[str, Any]:
        out = PutResult(self.record, self.aliases, False).to_json()
        del out["created"]
        out.update(
            {
                "metadata": self.record.metadata,
                "description": self.record.description,
                "ttl": format_duration(self.record.ttl),
                "state": self.record.status(),
                "tags": list(self.record.tags),
                "created_at": self.record.created_at,
                "logged_by": self.record.logged_by,
                "expires_at": self.record.expires_at.isoformat() if self.record.expires_at else None,
                "link": self.source,
                "linked": list(self.linked),
            }
        )
        if entries and self.manifest is not None:
            out["entries"] = [
                {"path": e.path, "size": e.size, "digest": e.digest, "ref": e.ref} for e in self.manifest
            ]
        return out


@dataclass(frozen=True)
class ArtifactSummary:
    """One row of ``artifact ls``."""

    name: str
    type: str
    versions: int
    latest: str | None
    size: int
    updated_at: str | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)
