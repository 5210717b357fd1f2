"""``put``: a new version from a file, a directory or a reference URI.

Scan → store the objects (or find them unchanged) → commit (``repository/commit.py``, the one
write order). Identical content to a live version creates no new version; the aliases still move.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from artctl import references
from artctl.base.crashpoints import crash_point, declare
from artctl.base.locks import writing
from artctl.base.progress import Progress, announce_total
from artctl.base.units import ttl_seconds
from artctl.errors import InvalidInput
from artctl.format.manifest import Entry, Manifest
from artctl.format.names import ArtifactName, parse_name
from artctl.format.version_fields import DEFAULT_FIELDS, VersionFields
from artctl.ops.cache import shared_use
from artctl.ops.gc import discard_on_failure
from artctl.ops.ingest import SourceFile, ingest, scan, tree_signature
from artctl.ops.workdirs import remember
from artctl.repository.commit import check_type, commit_digest, commit_manifest
from artctl.repository.repo import Repository
from artctl.repository.views import PutResult

#: A version whose blobs lie in more loose objects than this is checked with a placement query
#: on every unchanged re-put, instead of by a remembered list of files (kept small in state.db).
PLACEMENT_MAX_LOOSE = 10_000

PUT_AFTER_OBJECTS = declare(
    "put.after-objects",
    "every blob durable and in the stat cache, no manifest: unreferenced blobs (gc removes them "
    "after its grace period); a re-put stores nothing again",
)
PUT_AFTER_COMMIT = declare(
    "put.after-commit",
    "the version committed (record and aliases), the unchanged-tree memo not yet saved: a re-put "
    "looks the files up in the stat cache and reports the same version",
)


def collect(sources: Iterable[tuple[str | os.PathLike[str], str | None]]) -> list[SourceFile]:
    """Scan ``(local path, name in artifact)`` pairs into one list of source files."""
    sources = list(sources)
    if len(sources) == 1:
        return scan(*sources[0])  # already sorted by path, paths unique
    files: dict[str, SourceFile] = {}
    for local, prefix in sources:
        for f in scan(local, prefix):
            files[f.path] = f
    return [files[p] for p in sorted(files)]


def store_files(
    repository: Repository, files: Sequence[SourceFile], progress: Progress | None = None
) -> list[Entry]:
    """Read, hash and store ``files`` (in parallel; small ones packed); their manifest entries."""
    return ingest(files, repository.store, repository.state, workers=repository.workers(), progress=progress)


def put(
    repository: Repository,
    path: str | os.PathLike[str],
    *,
    name: str,
    type: str,
    fields: VersionFields = DEFAULT_FIELDS,
    checksum: bool = True,
    max_objects: int | None = None,
    progress: Progress | None = None,
    remote: str | None = None,
) -> PutResult:
    """A new version from a file, a directory or a reference URI (``s3://…``).

    Identical content to a live version creates no new version; the aliases still move. With
    ``remote`` (a remote's name or URL), or ``core.publish = remote`` (the default remote), the
    version is committed on the remote first and then here under the remote's number
    (:mod:`artctl.ops.remote.commit`): a number nobody will ever see change. ``fields`` are
    the new version's aliases, description, metadata, TTL, logging run and tags.
    """
    artifact = parse_name(name, repository.names)
    check_type(repository, artifact, type)
    fields.check()  # before any file is read or stored
    if fields.run_id:
        repository.runs.require_running(fields.run_id)
    if fields.ttl is not None:
        ttl_seconds(fields.ttl)  # "none" (no TTL) is not a duration a put accepts
    on_remote = remote is not None or repository.settings.publish == "remote"

    def publish(manifest: Manifest) -> PutResult:
        if on_remote:  # ops.remote.commit imports the remote stack: only when it is used
            from artctl.ops.remote.commit import put_on_remote

            return put_on_remote(repository, remote, artifact, type, manifest, fields)
        return commit_manifest(repository, artifact, type, manifest, fields)

    # Shared cache lock: an object this put deduplicates against is not evicted before the
    # version that needs it is committed (docs/cache.md). gc writer guard: gc deletes
    # nothing while this put is in flight (docs/gc.md). If the put fails, what it stored and
    # nothing references is removed at once (after both are released).
    with (
        discard_on_failure(repository),
        shared_use(repository.locks_dir),
        writing(repository.locks_dir, tmp_dir=repository.tmp_dir),
    ):
        if references.is_uri(str(path)):
            entries = list(
                references.entries_for(str(path), None, checksum=checksum, max_objects=max_objects)
            )
            return publish(Manifest.from_entries(entries))
        files = collect([(path, None)])
        if not files:
            raise InvalidInput(f"{path} contains no files")
        total = sum(f.size for f in files)
        announce_total(progress, len(files), total)
        signature = tree_signature(files)
        reused = _unchanged_tree(repository, artifact, signature, files)
        if reused is not None and not on_remote:
            return commit_digest(repository, artifact, type, reused, fields, files=len(files), size=total)
        if reused is not None:
            return publish(repository.read_manifest(reused))
        entries = store_files(repository, files, progress)
        crash_point(PUT_AFTER_OBJECTS)
        del files  # a million scanned files weigh hundreds of MB: not kept while committing
        manifest = Manifest.from_entries(entries, validated=True)
        del entries
        result = publish(manifest)
    crash_point(PUT_AFTER_COMMIT)
    if signature is not None:
        repository.state.remember_tree(signature, result.record.manifest)
    if os.path.isdir(path):  # the directory now holds that version: `artctl status` there
        remember(repository, Path(path), result.record)
    return result


def _unchanged_tree(
    repository: Repository, name: ArtifactName, signature: str | None, files: Sequence[SourceFile]
) -> str | None:
    """The manifest of a live version made from exactly these files, unchanged since.

    The version's blobs are checked too, without re-hashing anything: after
    ``verify --repair`` moved a corrupt object aside (or a cache cleanup evicted it),
    putting the same files again must store it again, not report ``unchanged``.
    """
    if signature is None:
        return None
    digest = repository.state.tree_manifest(signature)
    if digest is None:
        return None
    live = {r.manifest for r in repository.registry.versions(name)}
    if digest not in live or not repository.manifest_path(digest).exists():
        return None
    return digest if _blobs_present(repository, digest, files) else None


def _blobs_present(repository: Repository, manifest: str, files: Sequence[SourceFile]) -> bool:
    """Whether every blob of ``manifest`` is stored, after re-storing missing ones from
    ``files`` (only those files are read); False if one of them no longer matches.

    Cheap on a repeated re-put: the packs and loose objects that held the blobs last time
    are remembered, and if all of those files still exist, so do the blobs (packs are
    immutable: a repack writes a pack under a new name). Otherwise one placement query.
    """
    state = repository.state
    known = state.tree_placement(manifest)
    if known is not None:
        packs, loose = known
        if repository.store.all_exist(packs, loose):
            return True
    wanted = {e.path: e.digest for e in repository.iter_manifest(manifest) if e.digest is not None}
    where = repository.store.placement(set(wanted.values()))
    if where.absent:
        lacking = [f for f in files if wanted.get(f.path) in where.absent]
        if {wanted[f.path] for f in lacking} != where.absent:
            return False
        restored = store_files(repository, lacking)
        return all(e.digest == wanted.get(e.path) for e in restored)
    if len(where.loose) <= PLACEMENT_MAX_LOOSE:
        state.remember_tree_placement(manifest, where.packs, where.loose)
    return True
