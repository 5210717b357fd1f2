"""The registry journal: a merge that renumbers versions happens whole or not at all.

A pull or push that renumbers local versions changes several files of one artifact: version
records (a local ``v1`` moves to ``v3`` and the remote's ``v1`` takes its place), the custom
alias table, and the run records that name those versions. Written in place one by one, an
interruption between two writes (SIGKILL, SIGTERM, Ctrl-C, a full disk) would leave a record
overwritten before its content was written under its new number: the version vanishes, its
alias resolves to the other clone's content, and gc deletes its bytes.

So the merge first writes the artifact's whole target state as one journal file (temp + fsync
+ rename: it exists whole or not at all), then applies it, then deletes it. Applying is
idempotent (a file already as the journal says is left alone), and whoever finds a journal —
any writer taking the artifact's lock, any reader of the artifact or of runs — rolls it
forward under the artifact's lock before using the registry. Every observer therefore sees the
state before the merge (no journal yet) or the state after it.

``.artifacts/journal/<BLAKE3 of the name>.json``::

    {"format": 1, "kind": "artctl-registry-journal", "name": "proj/ds",
     "artifact": {…artifact record…},         the record to create when it does not exist yet
     "versions": {"0": {…version record…}, …},  every version record of the artifact afterwards
     "aliases": {"best": "v3", …},             the whole custom-alias table afterwards
     "moved": {"v1": "v3", …},                 local versions that changed number (run links)
     "by": "ann@ci",                           optional: who the alias changes are attributed to
     "at": "2026-…"}                           optional: when they were made

Writing slot N makes ``vN.json`` the merged (folded) record and removes that slot's edit
snapshots, tombstone and purge marker, so the slot holds exactly the journal's state; the alias
table becomes one more alias snapshot (``artctl.repository.registry_files``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artctl.base.fsutil import atomic_write_bytes, create_exclusive, fsync_dir
from artctl.errors import RepositoryFormatError
from artctl.format.layout import edits_key, version_of_file
from artctl.format.names import ArtifactName, parse_name, version_index
from artctl.format.records import ArtifactRecord, VersionRecord, dumps, loads
from artctl.repository import registry_files

if TYPE_CHECKING:
    from artctl.repository.registry_base import RegistryBase
    from artctl.repository.runs import RunRecord, VersionLink

KIND = "artctl-registry-journal"

_DAMAGED_HINT = (
    "it records an interrupted pull or push: delete it to keep the registry as it was before "
    "that command, then run the command again"
)

#: Called after each step of applying a journal with the step's name (``version-written``,
#: ``aliases-written``, ``run-linked``, ``merged``): where the merge puts its crash points.
Step = Callable[[str], None]


def _no_step(step: str) -> None:
    """Rolling forward has no crash points of its own: it is the recovery."""


@dataclass(frozen=True)
class Journal:
    """The target state of one artifact's registry after a merge."""

    name: ArtifactName
    versions: dict[int, VersionRecord]
    aliases: dict[str, str]
    moved: dict[str, str] = field(default_factory=dict)
    artifact: ArtifactRecord | None = None
    by: str | None = None  # who the merge's alias changes are attributed to (default: user@host)
    at: str | None = None  # when they were made (default: when the merge writes them)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": 1,
            "kind": KIND,
            "name": str(self.name),
            "artifact": self.artifact.to_json() if self.artifact else None,
            "versions": {str(i): r.to_json() for i, r in sorted(self.versions.items())},
            "aliases": dict(sorted(self.aliases.items())),
            "moved": dict(sorted(self.moved.items())),
            **({"by": self.by} if self.by is not None else {}),
            **({"at": self.at} if self.at is not None else {}),
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any], where: str) -> Journal:
        """Parse and check a journal; a damaged one is one clear error naming the file."""
        try:
            if obj.get("kind") != KIND:
                raise ValueError("kind")
            name = parse_name(obj["name"])
            versions = {}
            for key, value in obj["versions"].items():
                record = VersionRecord.from_json(value, f"{where} (v{key})")
                if version_index(f"v{key}") != record.index or record.name != str(name):
                    raise ValueError(f"version {key}")
                versions[record.index] = record
            aliases = {str(a): str(v) for a, v in obj["aliases"].items()}
            moved = {str(a): str(b) for a, b in obj["moved"].items()}
            artifact = ArtifactRecord.from_json(obj["artifact"], where) if obj.get("artifact") else None
            by, at = obj.get("by"), obj.get("at")
            if by is not None and not isinstance(by, str):
                raise ValueError("by")
            if at is not None and not isinstance(at, str):
                raise ValueError("at")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RepositoryFormatError(
                f"{where} is not a valid registry journal ({exc})", hint=_DAMAGED_HINT
            ) from None
        return cls(name, versions, aliases, moved, artifact, by, at)


def path_for(registry: RegistryBase, name: ArtifactName) -> Path:
    """One journal per artifact (named in :func:`artctl.format.layout.journal_key`)."""
    return registry.layout.journal_file(name)


def pending(registry: RegistryBase) -> list[Path]:
    """Journals left by interrupted merges (usually none: one ``listdir``)."""
    directory = registry.layout.journal
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return [directory / n for n in sorted(names) if n.endswith(".json") and not n.startswith(".")]


def read(registry: RegistryBase, path: Path) -> Journal | None:
    """The journal at ``path``; None when there is none (any more)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    journal = Journal.from_json(loads(data, str(path)), str(path))
    if path_for(registry, journal.name) != path:
        raise RepositoryFormatError(
            f"{path} is the journal of {journal.name}, under another name (tampered or corrupt)",
            hint=_DAMAGED_HINT,
        )
    return journal


def write(registry: RegistryBase, journal: Journal) -> None:
    """Record the target state durably: from here on the merge is as good as done."""
    atomic_write_bytes(
        path_for(registry, journal.name),
        dumps(journal.to_json()),
        tmp_dir=registry.tmp_dir,
        fsync=registry.fsync,
    )


def apply(registry: RegistryBase, journal: Journal, step: Step = _no_step) -> None:
    """Make the registry (and run links) what ``journal`` says, then delete it.

    Callers hold the artifact's lock (so the reads here do not try to roll forward). Version
    records go highest number first, so a version's
    new slot is written before its old slot is given to another version; every write is atomic
    and skipped when the file already holds those bytes, so applying again after an
    interruption at any point finishes the same merge.
    """
    name = journal.name
    if journal.artifact is not None:
        create_exclusive(
            registry.layout.artifact_record(name),
            dumps(journal.artifact.to_json()),
            tmp_dir=registry.tmp_dir,
            fsync=registry.fsync,
        )
    for index in sorted(journal.versions, reverse=True):
        path = registry.version_path(name, index)
        data = dumps(journal.versions[index].to_json())
        if _read_or_none(path) != data:
            atomic_write_bytes(path, data, tmp_dir=registry.tmp_dir, fsync=registry.fsync)
            step("version-written")
        if _clear_slot(registry, name, index):
            step("version-written")
    versions_dir = registry.layout.versions_dir(name)
    stale = _indexes(versions_dir) | registry_files.extra_slots(registry.layout, name)
    for index in sorted(stale - set(journal.versions), reverse=True):
        registry.version_path(name, index).unlink(missing_ok=True)
        _clear_slot(registry, name, index)
        fsync_dir(versions_dir, registry.fsync)
        step("version-written")
    if registry.write_aliases(name, journal.aliases, by=journal.by, at=journal.at):
        step("aliases-written")
    for run_id in _stale_runs(registry, journal) if journal.moved else ():  # kept numbers: links hold
        registry.runs().update(run_id, lambda record: _relink(record, journal))
        step("run-linked")
    path = path_for(registry, name)
    path.unlink(missing_ok=True)
    fsync_dir(path.parent, registry.fsync)
    step("merged")


def _clear_slot(registry: RegistryBase, name: ArtifactName, index: int) -> bool:
    """Remove the edits, tombstone and purge marker of slot ``index``: the record the journal
    wrote there is the folded state, whole (a privileged local change, under the lock)."""
    extras = registry_files.slot_extras(registry.layout, name, index)
    for path in extras:
        path.unlink(missing_ok=True)
    if extras:
        with contextlib.suppress(OSError):
            registry.layout.path(edits_key(name, index)).rmdir()
        fsync_dir(registry.layout.versions_dir(name), registry.fsync)
    return bool(extras)


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _indexes(versions_dir: Path) -> set[int]:
    try:
        names = os.listdir(versions_dir)
    except FileNotFoundError:
        return set()
    found = {version_of_file(n) for n in names}
    return {i for i in found if i is not None}


def _stale_runs(registry: RegistryBase, journal: Journal) -> list[str]:
    """Runs with a link to this artifact that names the wrong version after the merge."""
    return [
        run.id
        for run in registry.runs().list()
        if any(_target(link, journal) != link.version for link in (*run.inputs, *run.outputs))
    ]


def _relink(record: RunRecord, journal: Journal) -> RunRecord:
    def fix(link: VersionLink) -> VersionLink:
        version = _target(link, journal)
        return link if version == link.version else replace(link, version=version)

    return replace(record, inputs=[fix(x) for x in record.inputs], outputs=[fix(x) for x in record.outputs])


def _target(link: VersionLink, journal: Journal) -> str:
    """The version a run link must name after the merge: links are matched by content (the
    manifest digest), so a link that already names a version holding its digest stays."""
    if link.name != str(journal.name):
        return link.version
    versions = journal.versions

    def holds(version: str | None) -> bool:
        index = version_index(version) if version else None
        return index is not None and index in versions and versions[index].manifest == link.digest

    if holds(link.version):
        return link.version
    moved = journal.moved.get(link.version)
    if holds(moved):
        assert moved is not None
        return moved
    same = sorted(versions.values(), key=lambda r: (r.deleted, r.index))
    return next((r.version for r in same if r.manifest == link.digest), link.version)
