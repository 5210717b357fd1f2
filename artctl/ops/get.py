"""``get``: write a version's files under a directory, from the store or wherever they live.

The bytes the local store lacks come from the fetchers ``ops/sources.py`` composes (reference
URLs at their recorded state, remotes); references of a pulled version are checked first
(``references/trust.py``). ``materialize`` is the one writer of working files, for ``get`` and
``artifact checkout``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from artctl.base.progress import Progress, announce_total
from artctl.errors import ArtifactNotFound
from artctl.format.manifest import Entry, Manifest
from artctl.format.names import ArtifactRef, parse_name
from artctl.format.records import VersionRecord
from artctl.ops.cache import record_get, shared_use
from artctl.ops.checkout import CheckoutResult, checkout, select
from artctl.ops.sources import make_fetcher, prefetch
from artctl.ops.workdirs import remember
from artctl.references.trust import check_followable
from artctl.repository.commit import link_of
from artctl.repository.repo import Repository


def default_root(record: VersionRecord) -> Path:
    """Where ``get`` writes without ``--root``: ``./artifacts/<name>:vN``."""
    return Path("artifacts") / f"{parse_name(record.name).name}:{record.version}"


def get(
    repository: Repository,
    ref: str | ArtifactRef,
    *,
    root: str | os.PathLike[str] | None = None,
    path_prefix: str | None = None,
    link: str | None = None,
    run_id: str | None = None,
    progress: Progress | None = None,
    allow_local_refs: bool | None = None,
    allow_missing_references: bool = False,
) -> CheckoutResult:
    """Materialize a version under ``root`` (default ``./artifacts/<name>:vN``).

    References of a version pulled from a remote are checked before anything is written
    (``references/trust.py``); ``allow_local_refs`` overrides ``references.allow_local``.
    ``allow_missing_references`` skips reference entries whose data cannot be fetched
    (gone or changed) instead of failing, as W&B's ``download(allow_missing_references=True)``.
    """
    record = repository.resolve(ref)
    if run_id:
        repository.runs.require_running(run_id)
    if path_prefix:  # stream: only the selected entries are held, checked as a set
        entries = [e for e in repository.iter_entries(record) if e.path.startswith(path_prefix)]
        Manifest.from_entries(entries, validated=True).check_collisions()
    else:
        entries = select(repository.manifest(record), None)
    if path_prefix and not entries:
        raise ArtifactNotFound(f"no file of {record.name}:{record.version} starts with {path_prefix!r}")
    check_references(repository, record, entries, allow_local_refs)
    target = Path(root) if root is not None else default_root(record)
    announce_total(progress, len(entries), sum(e.size for e in entries))  # the selection's
    result = materialize(
        repository,
        entries,
        target,
        link=link,
        progress=progress,
        allow_missing_references=allow_missing_references,
    )
    if not path_prefix:  # the whole version: `artctl status` in that directory compares with it
        remember(repository, result.root, record)
    if run_id:
        repository.runs.link(run_id, link_of(record), direction="input")
    return result


def materialize(
    repository: Repository,
    entries: list[Entry],
    target: Path,
    *,
    link: str | None = None,
    progress: Progress | None = None,
    allow_missing_references: bool = False,
) -> CheckoutResult:
    """Write ``entries`` under ``target`` from the store, fetching what it lacks (remotes,
    references): the one writer of working files, for ``get`` and ``artifact checkout``."""
    mode = link or repository.settings.link
    with shared_use(repository.locks_dir):  # no cache eviction while we read objects
        where = repository.store.placement(
            {e.digest for e in entries if e.digest is not None}, locations=True
        )
        missing = [e for e in entries if e.digest in where.absent and e.ref is None]
        if missing:
            prefetch(repository, missing)
            missing_digests = {e.digest for e in missing if e.digest is not None}
            where = where.updated(repository.store.placement(missing_digests, locations=True))
        result = checkout(
            entries,
            target,
            repository.store,
            link=mode,
            fetch=fetcher(repository),
            where=where,
            workers=repository.workers(),
            progress=progress,
            optional=(lambda e: e.ref is not None) if allow_missing_references else None,
        )
    record_get(repository, entries)  # LRU bookkeeping: one batched write
    return result


def check_references(
    repository: Repository, record: VersionRecord, entries: list[Entry], allow_local: bool | None
) -> None:
    """Refuse a pulled version's references that could read this machine (see trust.py)."""
    if not any(e.ref is not None for e in entries):
        return
    if allow_local is None:
        allow_local = repository.settings.allow_local_references
    check_followable(
        entries,
        repository.manifest_origin(record.manifest),
        allow_local=allow_local,
        what=f"{record.name}:{record.version}",
    )


def fetcher(repository: Repository) -> Callable[[Entry, Path], None]:
    """How to obtain bytes the local store lacks (references, remotes): see ``sources``."""
    return make_fetcher(repository)
