"""Bringing the local registry of one artifact in line with the remote's (push and pull).

Version numbers are the remote's: the remote is where numbers are decided (by exclusive
create), so after a push or pull a local version whose content (manifest digest) the remote
holds takes the remote's number, and local-only versions move above every remote number. That
is how two clones that each made ``v1`` both keep their work: the second one's ``v1`` becomes
``v2`` everywhere, and its aliases and run links follow it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..fsutil import atomic_write_bytes
from ..names import version_index
from ..records import VersionRecord, dumps
from .protocol import RemoteArtifact

if TYPE_CHECKING:
    from ..repo import Repository


@dataclass(frozen=True)
class Renumbered:
    """A local version that got a new number to make room for the remote's."""

    name: str
    old: str
    new: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "from": self.old, "to": self.new}


def merge_artifact(repository: "Repository", art: RemoteArtifact) -> tuple[list[Renumbered], list[str]]:
    """Write the remote's versions and aliases of ``art`` locally; return renumberings and
    the refs (``name:vN``) that are new locally. Runs under the artifact's lock."""
    registry = repository.registry
    name = art.name
    renumbered: list[Renumbered] = []
    new_refs: list[str] = []
    with registry.lock(name):
        registry.ensure_artifact(name, art.record.type)
        local = registry.versions(name, include_deleted=True)
        local_by_index = {r.index: r for r in local}
        target: dict[int, VersionRecord] = dict(art.versions)
        moved: dict[int, int] = {}
        for record in sorted(local, key=lambda r: r.index):
            twin = art.twin(record)
            if twin is not None:
                if record.deleted and not twin.deleted:
                    target[twin.index] = twin.evolve(state=record.state, deleted_at=record.deleted_at)
                moved[record.index] = twin.index
                continue
            top = max(target, default=-1)
            index = record.index if record.index > top else top + 1
            target[index] = record.evolve(index=index)
            moved[record.index] = index
        known = {r.manifest for r in local}
        for index, record in sorted(art.versions.items()):
            if record.manifest not in known and record.live():
                new_refs.append(f"{name}:v{index}")
        for index, record in sorted(target.items()):
            current = local_by_index.get(index)
            if current is None or current.to_json() != record.to_json():
                atomic_write_bytes(registry.version_path(name, index), dumps(record.to_json()),
                                   tmp_dir=repository.tmp_dir)
        for index in local_by_index:
            if index not in target:
                path = registry.version_path(name, index)
                path.unlink(missing_ok=True)
        for old, new in sorted(moved.items()):
            if old != new:
                renumbered.append(Renumbered(str(name), f"v{old}", f"v{new}"))
        table = {}
        for alias, version in registry.aliases(name).items():
            old = version_index(version)
            table[alias] = f"v{moved.get(old, old)}" if old is not None else version
        table.update(art.aliases)
        table = {a: v for a, v in table.items()
                 if version_index(v) in target and not target[version_index(v)].deleted}
        if table != registry.aliases(name):
            registry.write_aliases(name, table)
    if renumbered:
        _fix_run_links(repository, str(name), {target[i].manifest: f"v{i}" for i in target})
    return renumbered, new_refs


def _fix_run_links(repository: "Repository", name: str, versions: dict[str, str]) -> None:
    """Runs name the versions they used/logged; keep those names right after a renumbering."""
    for run in repository.runs.list():
        links = [*run.inputs, *run.outputs]
        if not any(link.name == name and versions.get(link.digest, link.version) != link.version
                   for link in links):
            continue

        def change(record, name=name):  # type: ignore[no-untyped-def]
            def fix(link):  # type: ignore[no-untyped-def]
                if link.name == name and link.digest in versions:
                    return replace(link, version=versions[link.digest])
                return link

            return replace(record, inputs=[fix(x) for x in record.inputs],
                           outputs=[fix(x) for x in record.outputs])

        repository.runs.update(run.id, change)
