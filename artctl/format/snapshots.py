"""The lock-free registry records that change a version or an alias table (repository format 2).

A version record (``versions/vN.json``) is created once and never rewritten. Everything that
happens to a version or to an artifact's aliases afterwards is one more immutable file, created
exclusively — the one conditional write every backend enforces in a single request — so the
same records work in a local ``.artifacts/`` (under the artifact's lock) and on an object store
shared by many writers with no lock at all (docs/format.md, docs/remotes.md):

* :class:`AliasSnapshot` — ``aliases/<seq>.json``: the whole custom-alias table after a change,
  with who changed what (``alias log``). A writer reads the highest ``seq`` and creates
  ``seq + 1``: compare-and-swap built from exclusive create. Readers take the highest.
* :class:`EditSnapshot` — ``edits/vN/<seq>.json``: the whole editable state of version N
  (description, metadata, TTL, tags) after an edit; the same compare-and-swap per version.
* :class:`Tombstone` — ``versions/vN.deleted.json``: version N was deleted.
* :class:`PurgeMarker` — ``versions/vN.purged.json``: gc dropped the deleted or expired version's
  data (the records stay, so numbering and lineage remain intact).

:func:`fold` turns a version record and its files into the version readers see. Records of
repository format 1 (``state``/``deleted_at``/``purged_at`` and edited fields inside
``vN.json``, a local ``aliases.json``) read as before: a snapshot, tombstone or marker only ever
adds to what the record itself says.
"""

from __future__ import annotations

import getpass
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from artctl.errors import ArtctlError, RepositoryFormatError
from artctl.format.names import validate_custom_alias, version_index
from artctl.format.records import RECORD_FORMAT, VersionRecord, check_time, loads, utcnow

#: The fields of a version that may change after it was created (by ``artifact update``).
EDITABLE = ("description", "metadata", "ttl_seconds", "tags")


def author() -> str:
    """``user@host``: who made a change, as alias and edit snapshots record it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers) and no USER/LOGNAME
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _invalid(where: str, what: str) -> RepositoryFormatError:
    return RepositoryFormatError(f"{where} {what} (tampered or corrupt)")


def _optional_str(obj: dict[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise _invalid(where, f"has an invalid {key!r}")
    return value


def _optional_time(obj: dict[str, Any], key: str, where: str) -> str | None:
    value = _optional_str(obj, key, where)
    if value is not None:
        check_time(value, key, where)
    return value


def _version_ref(value: Any, where: str) -> int:
    index = version_index(value) if isinstance(value, str) else None
    if index is None:
        raise _invalid(where, f"names no version ({value!r:.40})")
    return index


# -- aliases ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AliasChange:
    """One alias set, moved or removed: ``old``/``new`` are ``vN`` or None (absent)."""

    alias: str
    old: str | None
    new: str | None

    def to_json(self) -> dict[str, Any]:
        return {"alias": self.alias, "from": self.old, "to": self.new}


def alias_changes(old: dict[str, str], new: dict[str, str]) -> list[AliasChange]:
    """What turned table ``old`` into table ``new``, by alias name."""
    return [
        AliasChange(alias, old.get(alias), new.get(alias))
        for alias in sorted({*old, *new})
        if old.get(alias) != new.get(alias)
    ]


@dataclass(frozen=True)
class AliasSnapshot:
    """The custom-alias table of one artifact after change number ``seq``.

    ``changes`` is what this snapshot changed relative to ``seq - 1``; ``None`` for snapshots
    written before artctl recorded it (readers diff the two tables instead).
    """

    seq: int
    aliases: dict[str, str]
    at: str | None = None
    by: str | None = None
    changes: list[AliasChange] | None = None

    @classmethod
    def after(
        cls,
        previous: AliasSnapshot | None,
        table: dict[str, str],
        *,
        by: str | None = None,
        at: str | None = None,
    ) -> AliasSnapshot:
        """The snapshot that follows ``previous`` (None: there is none yet) with ``table``;
        ``by``/``at`` default to this user and now (a pull passes the remote change's own)."""
        old = previous.aliases if previous is not None else {}
        seq = previous.seq + 1 if previous is not None else 0
        return cls(
            seq, dict(sorted(table.items())), at or utcnow(), by or author(), alias_changes(old, table)
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": RECORD_FORMAT,
            "seq": self.seq,
            "aliases": dict(sorted(self.aliases.items())),
        }
        if self.at is not None:
            out["at"] = self.at
        if self.by is not None:
            out["by"] = self.by
        if self.changes is not None:
            out["changes"] = [c.to_json() for c in self.changes]
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any], seq: int, where: str) -> AliasSnapshot:
        """Parse a snapshot found as ``aliases/<seq>.json`` (its ``seq`` must agree if present)."""
        if obj.get("seq", seq) != seq:
            raise _invalid(where, f"says it is snapshot {obj.get('seq')!r}, not {seq}")
        table = obj.get("aliases", {})
        if not isinstance(table, dict):
            raise _invalid(where, "is not an alias table")
        aliases: dict[str, str] = {}
        for alias, version in table.items():
            try:
                validate_custom_alias(alias)
            except ArtctlError:
                raise _invalid(where, f"holds an invalid alias {alias!r:.40}") from None
            aliases[alias] = f"v{_version_ref(version, where)}"
        changes = None
        raw = obj.get("changes")
        if raw is not None:
            if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
                raise _invalid(where, "has an invalid 'changes' list")
            changes = []
            for item in raw:
                alias = item.get("alias")
                if not isinstance(alias, str):
                    raise _invalid(where, "has a change without an alias")
                ends = [item.get("from"), item.get("to")]
                for end in ends:
                    if end is not None:
                        _version_ref(end, where)
                changes.append(AliasChange(alias, ends[0], ends[1]))
        return cls(seq, aliases, _optional_time(obj, "at", where), _optional_str(obj, "by", where), changes)

    def changes_since(self, previous: AliasSnapshot | None) -> list[AliasChange]:
        """What this snapshot changed: as recorded, else by comparing with ``previous``."""
        if self.changes is not None:
            return list(self.changes)
        return alias_changes(previous.aliases if previous is not None else {}, self.aliases)


def parse_alias_snapshot(data: bytes, seq: int, where: str) -> AliasSnapshot:
    return AliasSnapshot.from_json(loads(data, where), seq, where)


# -- edits of a version ---------------------------------------------------------------------------
@dataclass(frozen=True)
class EditSnapshot:
    """The editable state of version ``index`` after edit number ``seq`` (all of :data:`EDITABLE`)."""

    seq: int
    name: str
    index: int
    fields: dict[str, Any]
    updated_at: str
    by: str | None = None

    @classmethod
    def of(cls, record: VersionRecord, seq: int, *, by: str | None = None) -> EditSnapshot:
        """Snapshot number ``seq`` holding ``record``'s editable fields (after an edit)."""
        fields = {key: getattr(record, key) for key in EDITABLE}
        return cls(seq, record.name, record.index, fields, record.updated_at or utcnow(), by or author())

    def apply(self, record: VersionRecord) -> VersionRecord:
        return record.evolve(**self.fields, updated_at=self.updated_at)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": RECORD_FORMAT,
            "seq": self.seq,
            "name": self.name,
            "version": f"v{self.index}",
            **self.fields,
            "updated_at": self.updated_at,
        }
        if self.by is not None:
            out["by"] = self.by
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any], record: VersionRecord, seq: int, where: str) -> EditSnapshot:
        """Parse edit ``seq`` of ``record``; its fields are type-checked as a record's are."""
        if obj.get("seq", seq) != seq or obj.get("name") != record.name:
            raise _invalid(where, f"is not edit {seq} of {record.name}")
        if _version_ref(obj.get("version"), where) != record.index:
            raise _invalid(where, f"is not an edit of {record.name}:{record.version}")
        updated_at = _optional_time(obj, "updated_at", where)
        if updated_at is None:
            raise _invalid(where, "lacks 'updated_at'")
        fields = {key: obj.get(key, [] if key == "tags" else None) for key in EDITABLE}
        if fields["metadata"] is None:
            fields["metadata"] = {}
        # one owner of the field rules: the edited record must be a valid record
        VersionRecord.from_json({**record.to_json(), **fields, "updated_at": updated_at}, where)
        return cls(seq, record.name, record.index, fields, updated_at, _optional_str(obj, "by", where))


def parse_edit_snapshot(data: bytes, record: VersionRecord, seq: int, where: str) -> EditSnapshot:
    return EditSnapshot.from_json(loads(data, where), record, seq, where)


# -- deletion and purge ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Tombstone:
    """Version ``index`` of ``name`` was deleted (``artifact rm``)."""

    name: str
    index: int
    manifest: str | None
    deleted_at: str | None
    by: str | None = None

    @classmethod
    def of(cls, record: VersionRecord, *, by: str | None = None) -> Tombstone:
        return cls(record.name, record.index, record.manifest, record.deleted_at or utcnow(), by or author())

    def apply(self, record: VersionRecord) -> VersionRecord:
        return record.evolve(state="deleted", deleted_at=record.deleted_at or self.deleted_at)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": RECORD_FORMAT,
            "name": self.name,
            "version": f"v{self.index}",
            "manifest": self.manifest,
            "deleted_at": self.deleted_at,
        }
        if self.by is not None:
            out["by"] = self.by
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any], record: VersionRecord, where: str) -> Tombstone:
        """A tombstone of ``record`` (one written by format 1 may lack everything but the time)."""
        name = obj.get("name", record.name)
        index = _version_ref(obj.get("version", record.version), where)
        if name != record.name or index != record.index:
            raise _invalid(where, f"is not the tombstone of {record.name}:{record.version}")
        return cls(
            record.name,
            record.index,
            _optional_str(obj, "manifest", where),
            _optional_time(obj, "deleted_at", where),
            _optional_str(obj, "by", where),
        )


def parse_tombstone(data: bytes, record: VersionRecord, where: str) -> Tombstone:
    return Tombstone.from_json(loads(data, where), record, where)


@dataclass(frozen=True)
class PurgeMarker:
    """gc dropped the data of version ``index`` of ``name`` (deleted or past its TTL)."""

    name: str
    index: int
    purged_at: str

    def apply(self, record: VersionRecord) -> VersionRecord:
        return record.evolve(purged_at=record.purged_at or self.purged_at)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": RECORD_FORMAT,
            "name": self.name,
            "version": f"v{self.index}",
            "purged_at": self.purged_at,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any], record: VersionRecord, where: str) -> PurgeMarker:
        if obj.get("name") != record.name or _version_ref(obj.get("version"), where) != record.index:
            raise _invalid(where, f"is not the purge marker of {record.name}:{record.version}")
        purged_at = _optional_time(obj, "purged_at", where)
        if purged_at is None:
            raise _invalid(where, "lacks 'purged_at'")
        return cls(record.name, record.index, purged_at)


def parse_purge_marker(data: bytes, record: VersionRecord, where: str) -> PurgeMarker:
    return PurgeMarker.from_json(loads(data, where), record, where)


# -- what readers see -------------------------------------------------------------------------------
@dataclass
class VersionFiles:
    """The immutable record of one version and every file that changed it since."""

    record: VersionRecord
    edits: list[EditSnapshot] = field(default_factory=list)
    tombstone: Tombstone | None = None
    purge: PurgeMarker | None = None

    @property
    def edit_seq(self) -> int:
        """The newest edit's ``seq`` (-1: never edited): the next edit creates ``edit_seq + 1``."""
        return max((e.seq for e in self.edits), default=-1)


def fold(
    record: VersionRecord,
    edits: Iterable[EditSnapshot] = (),
    tombstone: Tombstone | None = None,
    purge: PurgeMarker | None = None,
) -> VersionRecord:
    """The version readers see: the record, its newest edit, then deletion and purge."""
    newest = max(edits, key=lambda e: e.seq, default=None)
    out = newest.apply(record) if newest is not None else record
    if tombstone is not None:
        out = tombstone.apply(out)
    if purge is not None:
        out = purge.apply(out)
    return out
