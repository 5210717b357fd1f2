"""pull: fetch the registry, manifests and run records of a remote (with ``fetch_all``, the blobs).

Everything is read and checked before anything is written; then manifests, the merged registry
(:mod:`artctl.ops.remote.sync`) and run records are written in that order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from artctl.base.crashpoints import crash_point, declare
from artctl.errors import ArtifactNotFound
from artctl.format.names import parse_ref
from artctl.ops.remote import inventory as inventory_mod
from artctl.ops.remote.config import backend_for, get_remote
from artctl.ops.remote.fetch import fetch_objects, read_manifests, remote_runs, write_manifests
from artctl.ops.remote.indexed import indexed
from artctl.ops.remote.protocol import open_remote, read_registry
from artctl.ops.remote.sync import Renumbered, merge_artifact
from artctl.ops.remote.threeway import Replaced, load_base, save_base
from artctl.ops.remote.transfer import Progress, TransferResult, writer_guard

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

# The write order of pull as crash points (docs/robustness.md); the merge of each artifact adds
# its own (``pull.*`` in artctl.ops.remote.sync), fetching blobs one more (artctl.ops.remote.fetch).
PULL_MANIFESTS_WRITTEN = declare(
    "pull.manifests-written", "the remote's manifests stored locally, unreferenced; the registry as before"
)
PULL_RUNS_WRITTEN = declare("pull.runs-written", "registry merged, the remote's run records created")


def pull(
    repo: Repository,
    remote: str | None = None,
    refs: Sequence[str] = (),
    *,
    fetch_all: bool = False,
    progress: Progress | None = None,
    direction: str = "pull",
) -> TransferResult:
    """Fetch metadata of every (or the named) artifact; with ``fetch_all`` their blobs too."""
    with writer_guard(repo):
        return _pull(repo, remote, refs, fetch_all, progress, direction)


def _pull(
    repository: Repository,
    remote: str | None,
    refs: Sequence[str],
    fetch_all: bool,
    progress: Progress | None,
    direction: str,
) -> TransferResult:
    spec = get_remote(repository, remote)
    if not spec.configured:  # `pull URL`: later gets cannot fetch from it, so fetch the bytes now
        fetch_all = True
    backend = indexed(backend_for(repository, spec))  # registry + manifests via the remote's index
    open_remote(backend, create=False)
    wanted: dict[str, str | None] = {}
    for text in refs:
        ref = parse_ref(text, repository.names)
        wanted[str(ref.name)] = ref.alias if ":" in text else None
    skipped: list[str] = []
    registry = read_registry(backend, set(wanted) if wanted else None, skipped)
    for name in wanted:
        if name not in registry:
            raise ArtifactNotFound(
                f"artifact {name} is not on remote {spec.name}", hint="; ".join(skipped) or None
            )
    # 1. read and check everything before writing anything
    live = {n: [r for r in a.versions.values() if r.live()] for n, a in registry.items()}
    new_manifests = read_manifests(
        repository, spec, backend, {r.manifest for rs in live.values() for r in rs}
    )
    runs = remote_runs(repository, backend, skipped)
    inv = inventory_mod.refresh(repository, spec.key, backend)
    # 2. write: manifests, then version records and aliases, then runs
    from artctl.base.fsutil import create_exclusive

    write_manifests(repository, spec.name, new_manifests)
    crash_point(PULL_MANIFESTS_WRITTEN)
    created: list[str] = []
    renumbered: list[Renumbered] = []
    replaced: list[Replaced] = []
    for name in sorted(registry):
        art = registry[name]
        moved, new, lost = merge_artifact(repository, art, "pull", load_base(repository, spec.key, art.name))
        save_base(repository, spec.key, art)
        renumbered.extend(moved)
        created.extend(new)
        replaced.extend(lost)
    for run_id, data in runs.items():
        create_exclusive(
            repository.runs.path(run_id), data, tmp_dir=repository.tmp_dir, fsync=repository.fsync
        )
    crash_point(PULL_RUNS_WRITTEN)
    # Nothing is recorded as "on the remote" from the listing: only bytes fetched and verified
    # (below, or by `get`) or sent by `push` count as a copy that lets `cache cleanup` evict.
    result = TransferResult(
        direction,
        spec.name,
        spec.url,
        manifests=len(new_manifests),
        versions=created,
        renumbered=renumbered,
        skipped_records=skipped,
        replaced=replaced,
    )
    if fetch_all:
        records = []
        for name, versions in live.items():
            alias = wanted.get(name)
            if alias is None:
                records.extend(versions)
            else:
                records.append(repository.registry.resolve(parse_ref(f"{name}:{alias}")))
        result = fetch_objects(repository, spec, backend, inv, records, result, progress)
    return result
