"""Renaming a collection (``artctl artifact rename``): the old name or the new one, never both.

A rename changes an artifact's whole registry directory (every record holds the name), the
run records that link its versions, and frees the old name. Done file by file, a kill in the
middle would leave two half collections. So, as the merge journal does
(``artctl.repository.journal``), the rename is first written as an *intent*,
``.artifacts/journal/renames/<BLAKE3 of the old name>.json`` (temp + fsync + rename: whole or
absent), and from that moment it counts as done: whoever next takes the lock of either name,
reads either name, or lists artifacts or runs, finishes it (:func:`apply`, idempotent) under
both names' locks before looking. Applying it:

1. builds the new directory in ``tmp/`` from the old one (names rewritten in the records and
   in the files that change them: edit snapshots, tombstones, purge markers; alias snapshots
   name no artifact) and renames it into the registry (a partial copy from an earlier attempt
   is removed and built again);
2. moves the old directory aside, out of the registry (the old name is free from here on);
3. rewrites the run links that name the old collection (runs keep pointing at the versions);
4. removes what was moved aside, then the intent.

The new name must be free when the rename starts (absent, or a deleted collection, which is
retired first); both names' locks are held, in name order, from the check to the end.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artctl.base.crashpoints import crash_point, declare
from artctl.base.fsutil import atomic_write_bytes, fsync_dir
from artctl.base.hashing import hash_bytes
from artctl.errors import RepositoryFormatError
from artctl.format.layout import version_of_file
from artctl.format.names import ArtifactName, parse_name
from artctl.format.records import ArtifactRecord, VersionRecord, dumps, loads

if TYPE_CHECKING:
    from artctl.repository.registry_base import RegistryBase
    from artctl.repository.runs import RunRecord, VersionLink

KIND = "artctl-rename"

AFTER_INTENT = declare(
    "rename.after-intent",
    "the rename intent written, nothing moved: the rename counts as done, the next command "
    "that touches either name (or lists) finishes it",
)
AFTER_NEW = declare(
    "rename.after-new-directory",
    "the new collection in the registry, the old one still there: readers finish the rename "
    "(the intent) before they look, so they see only the new name",
)
AFTER_OLD = declare(
    "rename.after-old-moved",
    "the old directory moved aside, run links not yet rewritten: the intent finishes them",
)
AFTER_RUNS = declare(
    "rename.after-runs",
    "run links rewritten, the moved-aside directory and the intent not yet removed",
)

_DAMAGED_HINT = (
    "it records an interrupted `artctl artifact rename`: delete it to keep the old name, then "
    "run the rename again"
)


@dataclass(frozen=True)
class Rename:
    """An intended rename of one collection."""

    old: ArtifactName
    new: ArtifactName

    def names(self) -> list[ArtifactName]:
        """Both names, in lock order."""
        return sorted({self.old, self.new})

    def to_json(self) -> dict[str, Any]:
        return {"format": 1, "kind": KIND, "old": str(self.old), "new": str(self.new)}


def directory(registry: RegistryBase) -> Path:
    return registry.layout.renames


def path_for(registry: RegistryBase, old: ArtifactName) -> Path:
    return directory(registry) / f"{hash_bytes(str(old).encode())[:32]}.json"


def pending(registry: RegistryBase) -> list[Rename]:
    """Renames that are intended and not finished (usually none: one ``listdir``)."""
    try:
        files = sorted(os.listdir(directory(registry)))
    except FileNotFoundError:
        return []
    out = []
    for file in files:
        if file.endswith(".json") and not file.startswith("."):
            found = _read(registry, directory(registry) / file)
            if found is not None:
                out.append(found)
    return out


def involving(registry: RegistryBase, name: ArtifactName) -> list[Rename]:
    """Pending renames from or to ``name``."""
    return [r for r in pending(registry) if name in (r.old, r.new)]


def _read(registry: RegistryBase, path: Path) -> Rename | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        obj = loads(data, str(path))
        if obj.get("kind") != KIND:
            raise ValueError("kind")
        found = Rename(parse_name(obj["old"]), parse_name(obj["new"]))
    except (KeyError, TypeError, ValueError, AttributeError, RepositoryFormatError) as exc:
        raise RepositoryFormatError(
            f"{path} is not a valid rename intent ({exc})", hint=_DAMAGED_HINT
        ) from None
    if path_for(registry, found.old) != path:
        raise RepositoryFormatError(
            f"{path} is the intent of {found.old}, under another name", hint=_DAMAGED_HINT
        )
    return found


def write(registry: RegistryBase, rename: Rename) -> None:
    """Record the intent durably: from here on the rename is as good as done."""
    directory(registry).mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(
        path_for(registry, rename.old),
        dumps(rename.to_json()),
        tmp_dir=registry.tmp_dir,
        fsync=registry.fsync,
    )


def apply(registry: RegistryBase, rename: Rename) -> None:
    """Finish ``rename`` (callers hold both names' locks): idempotent, so a re-run after a
    kill at any point finishes the same rename and leaves nothing behind in ``tmp/``."""
    old_dir, new_dir = registry.artifact_dir(rename.old), registry.artifact_dir(rename.new)
    work = registry.tmp_dir / f"rename-{hash_bytes(str(rename.old).encode())[:32]}"
    staging, aside = work / "new", work / "old"
    if (old_dir / "artifact.json").exists():
        shutil.rmtree(work, ignore_errors=True)  # a partial copy of an earlier attempt
        _copy_renamed(registry, old_dir, staging, rename.new)
        if new_dir.exists():  # a copy made by that attempt (nobody else writes the new name)
            os.rename(new_dir, work / "stale")
        new_dir.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staging, new_dir)
        fsync_dir(new_dir.parent, registry.fsync)
        crash_point(AFTER_NEW)
        os.rename(old_dir, aside)
        fsync_dir(old_dir.parent, registry.fsync)
        crash_point(AFTER_OLD)
    for run in registry.runs().list():  # the caller holds locks: no settling, no recursion
        if any(link.name == str(rename.old) for link in (*run.inputs, *run.outputs)):
            registry.runs().update(run.id, lambda record: _relink(record, rename))
    crash_point(AFTER_RUNS)
    shutil.rmtree(work, ignore_errors=True)
    _remove_empty(old_dir.parent, registry.root)
    path = path_for(registry, rename.old)
    path.unlink(missing_ok=True)
    fsync_dir(path.parent, registry.fsync)


def _copy_renamed(registry: RegistryBase, source: Path, target: Path, name: ArtifactName) -> None:
    """Copy a collection's directory with every record naming ``name`` (fsynced files)."""
    fsync = registry.fsync
    for dirpath, _dirs, files in os.walk(source):
        rel = Path(dirpath).relative_to(source)
        for file in files:
            src = Path(dirpath) / file
            data = src.read_bytes()
            if rel == Path(".") and file == "artifact.json":
                record = ArtifactRecord.from_json(loads(data, str(src)), str(src))
                renamed = replace(record, name=str(name), renamed_from=[*record.renamed_from, record.name])
                data = dumps(renamed.to_json())
            elif rel == Path("versions") and version_of_file(file) is not None:
                version = VersionRecord.from_json(loads(data, str(src)), str(src))
                data = dumps(version.evolve(name=str(name)).to_json())
            elif rel.parts[:1] in (("versions",), ("edits",)) and file.endswith(".json"):
                data = _renamed(data, str(src), name)  # tombstones, purge markers, edit snapshots
            atomic_write_bytes(target / rel / file, data, tmp_dir=registry.tmp_dir, fsync=fsync)


def _renamed(data: bytes, where: str, name: ArtifactName) -> bytes:
    """A file that changes a version (it names its artifact) with the new name."""
    obj = loads(data, where)
    return dumps({**obj, "name": str(name)}) if "name" in obj else data


def _relink(record: RunRecord, rename: Rename) -> RunRecord:
    def fix(link: VersionLink) -> VersionLink:
        return replace(link, name=str(rename.new)) if link.name == str(rename.old) else link

    return replace(record, inputs=[fix(x) for x in record.inputs], outputs=[fix(x) for x in record.outputs])


def _remove_empty(directory: Path, root: Path) -> None:
    """Drop a project directory the rename left empty (the project no longer exists)."""
    if directory != root:
        try:
            directory.rmdir()
        except OSError:
            pass
