"""``artifact verify``: re-hash every object of every live version and report what is wrong.

The checker never stops at the first damaged file (finding them is what it is run for): a
damaged version record, alias snapshot, edit snapshot, tombstone or pack index is a reported
problem (the registry's files: ``verify_registry``). An object not stored
here is not a problem when a remote holds it (a metadata-only clone, a ``cache cleanup``);
``--remote`` checks those remote copies. ``--repair`` moves corrupt loose objects aside so that a
re-put or ``pull --all`` restores them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from artctl.base.progress import Progress
from artctl.format.layout import PACKS, parse_key, version_of_file
from artctl.format.manifest import Entry
from artctl.format.names import ArtifactRef, parse_name
from artctl.format.records import VersionRecord
from artctl.ops.verify_registry import registry_problems

if TYPE_CHECKING:
    from artctl.repository.repo import Repository


@dataclass(frozen=True)
class VerifyResult:
    """Objects checked and problems found by ``verify``.

    ``on_remote`` lists the objects that are not stored here but that a remote holds (recorded
    by push/pull, or confirmed by ``verify --remote``): after a metadata-only clone or a
    ``cache cleanup`` that is the normal state, not damage, so they are not problems.
    ``remotes_checked`` names the remotes whose copies were checked (``--remote``).
    """

    checked_versions: int
    checked_objects: int
    problems: list[dict[str, str]] = field(default_factory=list)
    on_remote: list[dict[str, str]] = field(default_factory=list)
    remotes_checked: list[str] = field(default_factory=list)
    remotes_configured: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "versions": self.checked_versions,
            "objects": self.checked_objects,
            "problems": self.problems,
            "on_remote": self.on_remote,
            "remotes_checked": self.remotes_checked,
        }

    def hint(self) -> str | None:
        """What to do about the problems found; never suggests removing a version whose objects
        a remote holds (those are not problems), and not before the remotes were checked."""
        kinds = {p["problem"] for p in self.problems}
        repaired = sum(1 for p in self.problems if p.get("repaired"))
        if repaired:
            return (
                f"{repaired} corrupt object(s) moved aside: put the same files again or run "
                "`artctl pull --all` to restore them"
            )
        if "missing" in kinds and self.remotes_configured and not self.remotes_checked:
            return (
                "missing objects may still be on a remote this repository did not record: "
                "`artctl artifact verify --remote` checks the remotes' copies"
            )
        if "missing" in kinds:
            return (
                "missing objects are on no remote: put the same files again, push them from a "
                "clone that has them, or restore .artifacts/ from a backup; only if none of "
                "that is possible, remove the damaged versions (`artctl artifact rm`)"
            )
        if "corrupt" in kinds:
            return (
                "`artctl artifact verify --repair` moves corrupt loose objects aside so that a re-put "
                "or `artctl pull --all` restores them; otherwise restore .artifacts/ from a backup"
            )
        return "restore the damaged files from a backup, or from a clone with `artctl pull`"


def verify(
    repo: Repository,
    ref: str | ArtifactRef | None = None,
    progress: Progress | None = None,
    *,
    repair: bool = False,
    remote: str | bool | None = None,
) -> VerifyResult:
    """Re-hash every object (of one version, or of all versions) and report problems.

    An object not stored here is not a problem when a remote holds it ("on remote R", as
    push/pull recorded); with ``remote`` (a remote's name, or True for every configured
    remote; False for none, even on a mirror) the remote copies of the objects not stored here
    are checked too, and one that
    fails the check (absent, wrong length, corrupt) is a problem. On a remote's mirror
    (``--repo REMOTE``) the remote's copies are always checked: they are what is verified.

    With ``repair``, a corrupt *loose* object is moved aside to ``.artifacts/corrupt/``: the
    store then lacks it, so putting the same file again or ``pull --all`` restores it
    (they skip objects the store holds, corrupt or not). Packed blobs are only reported.
    """
    from artctl.ops.remote.config import get_remote, list_remotes
    from artctl.ops.remote.mirror import mirrored_remote

    if remote is None:  # verifying a remote (`--repo REMOTE`) is verifying the bytes it holds
        remote = mirrored_remote(repo)
    problems: list[dict[str, str]] = []
    if ref is not None:
        records = [repo.resolve(ref)]
    else:
        records = _readable_versions(repo, problems)
    specs = list_remotes(repo)
    checked_remotes = [get_remote(repo, remote)] if isinstance(remote, str) else specs if remote else []
    checked: set[str] = set()
    absent: dict[str, list[tuple[str, Entry]]] = {}  # digest -> (version, entry) not stored here
    origins: dict[str, set[str]] = {}  # digest -> remotes that published a version naming it
    for record in records:
        label = f"{record.name}:{record.version}"
        origin = repo.manifest_origin(record.manifest)
        try:
            manifest = repo.manifest(record)
        except Exception as exc:  # noqa: BLE001 - every problem is reported, not raised
            problems.append({"version": label, "path": "", "problem": str(exc)})
            continue
        for entry in manifest:
            if entry.digest is None or entry.ref is not None and not repo.store.has(entry.digest):
                continue
            if entry.digest in checked:
                continue
            if entry.digest in absent or not repo.store.has(entry.digest):
                absent.setdefault(entry.digest, []).append((label, entry))
                if origin:
                    origins.setdefault(entry.digest, set()).add(origin)
                continue
            ok = repo.store.verify(entry.digest)
            checked.add(entry.digest)
            if progress:
                progress(1, entry.size)
            if not ok:
                what = "corrupt" if repo.store.has(entry.digest) else "missing"
                problem = {"version": label, "path": entry.path, "digest": entry.digest, "problem": what}
                if repair and what == "corrupt" and _set_aside(repo, entry.digest):
                    problem["repaired"] = "moved aside; put the file again or pull to restore it"
                problems.append(problem)
    on_remote = _classify_absent(repo, absent, origins, specs, checked_remotes, problems)
    return VerifyResult(
        len(records), len(checked), problems, on_remote, [s.name for s in checked_remotes], bool(specs)
    )


def _classify_absent(
    repo: Repository,
    absent: dict[str, list[tuple[str, Entry]]],
    origins: dict[str, set[str]],
    specs: list[Any],
    checked_remotes: list[Any],
    problems: list[dict[str, str]],
) -> list[dict[str, str]]:
    """Objects not stored here: "on remote R" when a remote holds them, else problems.

    Without remotes to check, what push/pull recorded decides (copies sent or fetched, the
    last listing) and so does where a version came from: a remote publishes a version only
    after all of its blobs (docs/remotes.md), so the blobs of a version pulled from R are on
    R. With remotes to check, each remote's copy is checked and the first intact one decides
    (a failed check is reported in the problem).
    """
    configured = {s.name for s in specs}
    recorded = repo.state.remotes_holding(absent) if absent else {}
    for digest, remotes in origins.items():
        recorded.setdefault(digest, set()).update(remotes)
    found: dict[str, str] = {}
    failures: dict[str, list[str]] = {}
    if checked_remotes:
        from artctl.ops.remote.check import check_copies

        todo = dict.fromkeys(absent)
        for spec in checked_remotes:
            sizes = {d: absent[d][0][1].size for d in todo}
            for digest, copy in check_copies(repo, spec, sizes).items():
                if copy.problem is None:
                    found[digest] = spec.name
                    todo.pop(digest, None)
                else:
                    failures.setdefault(digest, []).append(copy.problem)
    else:
        for digest, remotes in recorded.items():
            holders = sorted(remotes & configured)
            if holders:
                found[digest] = holders[0]
    on_remote: list[dict[str, str]] = []
    for digest, uses in absent.items():
        for label, entry in uses:
            if digest in found:
                on_remote.append(
                    {"version": label, "path": entry.path, "digest": digest, "remote": found[digest]}
                )
            else:
                problem = {"version": label, "path": entry.path, "digest": digest, "problem": "missing"}
                if failures.get(digest):
                    problem["remote"] = "; ".join(failures[digest])
                problems.append(problem)
    return on_remote


def _set_aside(repo: Repository, digest: str) -> bool:
    """Move a corrupt loose object to ``corrupt/`` (kept, never deleted); False if packed."""
    source = repo.store.object_path(digest)
    target = repo.layout.corrupt(digest)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, target)
    except FileNotFoundError:
        return False
    return True


def _readable_versions(repo: Repository, problems: list[dict[str, str]]) -> list[VersionRecord]:
    """Every live version record; a damaged record or alias table is a reported problem.

    The checker must not stop at the first damaged file (that is what it is run to find).
    """
    from artctl.errors import IntegrityError, RepositoryFormatError
    from artctl.repository.packs import decode_index

    packs_dir = repo.store.packs_dir
    for file in sorted(os.listdir(packs_dir)) if packs_dir.is_dir() else []:
        if (found := parse_key(f"{PACKS}/{file}")) is not None and found.kind == "index":
            try:
                decode_index((packs_dir / file).read_bytes(), file)
            except FileNotFoundError:
                continue
            except IntegrityError as exc:
                problems.append({"version": "", "path": f"packs/{file}", "problem": str(exc)})
    records: list[VersionRecord] = []
    for artifact in repo.registry.iter_artifacts():
        name = parse_name(artifact.name)
        damaged, flagged = registry_problems(repo, name)
        problems.extend(damaged)
        try:
            repo.registry.aliases(name)
        except RepositoryFormatError as exc:
            if not damaged:  # the newest snapshot, already reported by name
                problems.append({"version": artifact.name, "path": "", "problem": str(exc)})
        directory = repo.layout.versions_dir(name)
        files = sorted(os.listdir(directory)) if directory.is_dir() else []
        for file in files:
            index = version_of_file(file)
            if index is None:
                continue
            try:
                record = repo.registry.version(name, index)
            except RepositoryFormatError as exc:
                if index not in flagged:  # else one of its files was reported above
                    problems.append({"version": f"{artifact.name}:v{index}", "path": "", "problem": str(exc)})
                continue
            if record is not None and not record.deleted:
                records.append(record)
    return records
