"""The writes of push on a remote's registry: each one exclusive create, or compare-and-swap
built from it (docs/remotes.md sections 3-5).

* ``artifact.json`` — created once; a different type is a conflict (:func:`ensure_artifact`).
* ``versions/v<N>.json`` — created once; a taken number makes the writer renumber
  (:func:`publish_version`).
* ``aliases/<seq>.json`` — the custom-alias table after a change (:class:`AliasSnapshot`, with
  when, who and what changed); a change creates ``seq + 1`` exclusively (:func:`update_aliases`).
* ``edits/v<N>/<seq>.json`` — the editable fields of version N after an edit, the same
  compare-and-swap per version (:func:`publish_edit`).
* ``versions/v<N>.deleted.json`` — the version's tombstone (:func:`publish_deletion`).

A compare-and-swap that loses re-reads; when what it re-reads shows that someone else changed
the same alias or field since this push decided (``expected``), the push refuses it (a
:class:`~artctl.ops.remote.threeway.SyncConflict`) instead of overwriting it, unless forced.
"""

from __future__ import annotations

import time
from typing import Any

from artctl.backend.base import Backend
from artctl.errors import ArtctlError, Conflict
from artctl.format.layout import (
    alias_snapshot_key,
    artifact_record_key,
    edit_snapshot_key,
    edits_key,
    tombstone_key,
    version_key,
)
from artctl.format.names import ArtifactName, parse_name
from artctl.format.records import ArtifactRecord, VersionRecord, dumps, loads, utcnow
from artctl.format.snapshots import AliasSnapshot, EditSnapshot, Tombstone, fold, parse_edit_snapshot
from artctl.ops.remote.protocol import (
    ALIAS_RETRIES,
    StuckRecord,
    create_or_read,
    newest_seq,
    parse_version,
    read_alias_snapshot,
)
from artctl.ops.remote.threeway import Disagreement, SyncConflict, show


def ensure_artifact(backend: Backend, record: ArtifactRecord) -> None:
    """Create ``artifact.json`` once; a remote artifact of another type is a conflict."""
    name = parse_name(record.name)
    rel = artifact_record_key(name)
    winner = create_or_read(backend, rel, dumps(record.to_json()))
    if winner is None:
        return
    existing = ArtifactRecord.from_json(loads(winner, f"{backend.url}/{rel}"))
    if existing.type != record.type:
        raise Conflict(
            f"artifact {name} is a {existing.type!r} on the remote but a {record.type!r} here",
            hint="names are unique within a project whatever the type; rename one of them",
        )
    if existing.portfolio != record.portfolio:
        where = "on the remote" if existing.portfolio else "here"
        raise Conflict(
            f"{name} is a registry collection {where} but an ordinary collection on the other side",
            hint="rename one of them",
        )


def publish_version(
    backend: Backend, record: VersionRecord, taken: dict[int, VersionRecord]
) -> VersionRecord:
    """Create ``record`` on the remote under a free number; return it as published.

    Keeps the local number when it is free and above every remote number (so numbering stays
    in creation order); otherwise takes the next number. An exclusive create that loses a race
    re-reads the winner: if it is the same content (same manifest digest) that version is ours.
    """
    name = parse_name(record.name)
    top = max(taken, default=-1)
    index = record.index if record.index > top else top + 1
    skipped: set[int] = set()
    while True:
        candidate = record.evolve(index=index)
        rel = version_key(name, index)
        try:
            winner = create_or_read(backend, rel, dumps(candidate.to_json()), timeout=5.0)
        except StuckRecord:
            # a number the store will neither give us nor show: skip it (numbers may have gaps)
            skipped.add(index)
            index += 1
            continue
        if winner is None:
            taken[index] = candidate
            return candidate
        try:
            existing = parse_version(winner, name, index, f"{backend.url}/{rel}")
        except ArtctlError:  # a damaged record holds this number: never ours, take another
            skipped.add(index)
            index = max([*taken, *skipped]) + 1
            continue
        taken[index] = existing
        if existing.manifest == record.manifest:
            return existing
        index = max([*taken, *skipped]) + 1


def update_aliases(
    backend: Backend,
    name: ArtifactName,
    changes: dict[str, str | None],
    expected: dict[str, str | None] | None = None,
    *,
    force: bool = True,
) -> dict[str, str]:
    """Apply ``alias → vN`` changes (``None``: remove the alias) by compare-and-swap on the
    snapshot sequence; return the table written (or found).

    ``expected`` is the remote's value of each changed alias when the push decided; a re-read
    that shows another value (someone else changed it since) is a conflict unless ``force``.
    """
    for attempt in range(ALIAS_RETRIES):
        previous = read_alias_snapshot(backend, name)
        table = dict(previous.aliases) if previous is not None else {}
        if expected is not None and not force:
            _check_aliases(name, table, changes, expected)
        new = {**table, **{a: v for a, v in changes.items() if v is not None}}
        for alias in (a for a, v in changes.items() if v is None):
            new.pop(alias, None)
        if new == table:
            return table
        snapshot = AliasSnapshot.after(previous, new)
        if backend.create(alias_snapshot_key(name, snapshot.seq), dumps(snapshot.to_json())):
            return new
        time.sleep(0.02 * (1 + attempt % 10))  # let the winner's write become readable
    raise Conflict(
        f"aliases of {name} on the remote changed {ALIAS_RETRIES} times while pushing", hint="retry the push"
    )


def _check_aliases(
    name: ArtifactName, table: dict[str, str], changes: dict[str, str | None], expected: dict[str, str | None]
) -> None:
    """Refuse to overwrite an alias another writer changed since this push read the remote."""
    conflicts = [
        Disagreement(str(name), f"alias {alias}", value or "removed", table.get(alias) or "removed")
        for alias, value in changes.items()
        if table.get(alias) not in (value, expected.get(alias))
    ]
    if conflicts:
        raise SyncConflict(conflicts)


def publish_edit(
    backend: Backend,
    record: VersionRecord,
    changes: dict[str, Any],
    expected: dict[str, Any],
    seq: int,
    *,
    force: bool = False,
    updated_at: str | None = None,
) -> bool:
    """Set editable fields of remote version ``record`` (as folded when read, its newest edit
    being ``seq``) by compare-and-swap on its edit sequence; False when nothing was left to do.

    A lost race re-reads the newest edit: a field in ``changes`` that another writer changed
    since (from its ``expected`` value) is a conflict unless ``force``; the others are kept.
    """
    name = parse_name(record.name)
    current = record
    for attempt in range(ALIAS_RETRIES):
        newest = newest_seq(backend, edits_key(name, record.index), "edit-snapshot")
        if newest != seq:
            current, seq = _reread(backend, record, newest), newest
            if not force:
                _check_fields(record, current, changes, expected)
        fields = {**{k: getattr(current, k) for k in changes}, **changes}
        if all(getattr(current, k) == v for k, v in fields.items()):
            return False
        edited = current.evolve(**changes, updated_at=updated_at or utcnow())
        snapshot = EditSnapshot.of(edited, seq + 1)
        if backend.create(edit_snapshot_key(name, record.index, seq + 1), dumps(snapshot.to_json())):
            return True
        time.sleep(0.02 * (1 + attempt % 10))
    raise Conflict(
        f"{record.name}:{record.version} on the remote was edited {ALIAS_RETRIES} times while pushing",
        hint="retry the push",
    )


def _reread(backend: Backend, record: VersionRecord, seq: int) -> VersionRecord:
    """Remote version ``record`` with its edit ``seq`` (the one a lost race found) applied."""
    name = parse_name(record.name)
    base = parse_version(
        backend.read(version_key(name, record.index)),
        name,
        record.index,
        f"{backend.url}/{version_key(name, record.index)}",
    )
    rel = edit_snapshot_key(name, record.index, seq)
    edit = parse_edit_snapshot(backend.read(rel), base, seq, f"{backend.url}/{rel}")
    return fold(base, [edit]).evolve(
        state=record.state, deleted_at=record.deleted_at, purged_at=record.purged_at
    )


def _check_fields(
    record: VersionRecord, current: VersionRecord, changes: dict[str, Any], expected: dict[str, Any]
) -> None:
    conflicts = [
        Disagreement(record.name, f"{record.version} {key}", show(value), show(getattr(current, key)))
        for key, value in changes.items()
        if getattr(current, key) not in (value, expected.get(key))
    ]
    if conflicts:
        raise SyncConflict(conflicts)


def publish_deletion(backend: Backend, record: VersionRecord) -> bool:
    """Mark a remote version deleted (exclusive create of its tombstone); False if it already was."""
    name = parse_name(record.name)
    return backend.create(tombstone_key(name, record.index), dumps(Tombstone.of(record).to_json()))
