"""``artifact checkout REF DIR``: make a directory hold exactly one version.

Plan, then execute. The plan walks DIR without following any symbolic link and compares it with
the version (unchanged regular files are recognised through the stat cache, as ``status`` does):
files to write (missing, different, or a symlink standing where the version has a file) and
*extra* paths (files, symlinks and empty directories that the version does not have, or that
stand where it needs a directory). As ``git checkout`` does with tracked files, a file of the
version last placed in DIR (recorded by :mod:`artctl.ops.workdirs`) that is still unchanged is
*obsolete*: removed without asking, as is a temporary file left by a killed get or checkout.
Other extras are the user's: removed only with ``force``; otherwise nothing is changed and the
caller lists them. A symlink is removed as a link, never followed, and files are written by the
same code as ``get`` (temporary name, then rename), which refuses to write through a symlinked
directory: nothing outside DIR is ever touched. ``.artctlignore`` in DIR protects what it
matches: neither listed nor removed, nor overwritten — a file of the version at an ignored path
that DIR already has is *kept* as DIR has it (a version made elsewhere may hold a ``notes.log``
this DIR ignores and has its own of); a repository inside DIR is skipped.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artctl.base.processes import process_gone
from artctl.errors import Conflict, InvalidInput
from artctl.format.ignore import Ignore, load
from artctl.format.manifest import Entry
from artctl.format.records import VersionRecord
from artctl.ops.get import check_references, materialize
from artctl.ops.ingest import SourceFile
from artctl.ops.safe_place import temp_owner

if TYPE_CHECKING:
    from artctl.repository.repo import Repository


class ExtraFiles(Conflict):
    """DIR holds paths the version does not have, and ``--force`` was not given."""

    def __init__(self, plan: CheckoutPlan) -> None:
        self.plan = plan
        n = len(plan.extra)
        shown = ", ".join(plan.extra[:3]) + (", …" if n > 3 else "")
        super().__init__(
            f"{n} path{'s' if n != 1 else ''} in {plan.directory} {'are' if n != 1 else 'is'} not in "
            f"{plan.record.name}:{plan.record.version} ({shown}); nothing was changed",
            hint="`--force` removes them (or add them to .artctlignore to keep them)",
        )


@dataclass(frozen=True)
class CheckoutPlan:
    """What checking ``record`` out into ``directory`` would do."""

    record: VersionRecord
    directory: Path
    write: list[Entry]  # missing, modified, or replacing a symlink/special file
    extra: list[str]  # relative paths to remove only with force (directories end with "/")
    unchanged: int
    dirs: list[str]  # directories (relative) the version does not need: removed if left empty
    obsolete: list[str] = field(default_factory=list)  # unchanged files of the previous version
    kept: list[str] = field(default_factory=list)  # the version's paths DIR has but ignores

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.record.name,
            "version": self.record.version,
            "directory": str(self.directory),
            "write": [e.path for e in self.write],
            "remove": self.obsolete,
            "extra": self.extra,
            "unchanged": self.unchanged,
            "kept": self.kept,
        }


@dataclass(frozen=True)
class CheckoutDirResult:
    """What a checkout did."""

    plan: CheckoutPlan
    written: int
    removed: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.plan.record.name,
            "version": self.plan.record.version,
            "digest": self.plan.record.digest,
            "directory": str(self.plan.directory),
            "written": self.written,
            "removed": self.removed,
            "unchanged": self.plan.unchanged,
            "kept": self.plan.kept,
        }


def plan(repo: Repository, ref: str, directory: str | os.PathLike[str]) -> CheckoutPlan:
    """Compare the version ``ref`` names with ``directory``; change nothing."""
    record = repo.resolve(ref)
    root = Path(directory)
    if root.exists() and not root.is_dir():
        raise InvalidInput(f"{directory} exists and is not a directory")
    entries = list(repo.iter_entries(record))
    if not root.exists():
        return CheckoutPlan(record, root.absolute(), entries, [], 0, [])
    root = root.resolve()
    ignore = load(root)
    files, others, dirs = _walk(str(root), ignore)
    wanted = {e.path for e in entries}
    needed = {p.rsplit("/", i)[0] for p in wanted for i in range(1, p.count("/") + 1)}
    from artctl.ops.worktree_diff import diff_files

    regular = [f for f in files if f.path in wanted]
    diff = diff_files(repo, record, regular, root)
    kept = sorted(p for p in diff.removed if ignore.covers(p) and os.path.lexists(root / p))
    redo = (set(diff.removed) - set(kept)) | set(diff.changed)
    obsolete = _obsolete(repo, root, [f for f in files if f.path not in wanted])
    temps = {f.path: temp_owner(f.path.rpartition("/")[2]) for f in files}
    obsolete |= {p for p, pid in temps.items() if pid is not None and process_gone(pid)}
    busy = {p for p, pid in temps.items() if pid is not None and not process_gone(pid)}
    extra = [f.path for f in files if f.path not in wanted and f.path not in obsolete and f.path not in busy]
    extra += [p for p in others if p not in wanted]
    redo |= {p for p in others if p in wanted}  # a symlink or FIFO where a file belongs
    empty = [d for d, count in dirs.items() if count == 0 and d not in needed]
    extra += [d + "/" for d in empty]
    leftover = [d for d in dirs if d not in needed]
    write = [e for e in entries if e.path in redo]
    return CheckoutPlan(record, root, write, sorted(extra), diff.unchanged, leftover, sorted(obsolete), kept)


def _obsolete(repo: Repository, root: Path, files: list[SourceFile]) -> set[str]:
    """Those of ``files`` that belong, unchanged, to the version last placed in ``root``."""
    from artctl.errors import ArtctlError
    from artctl.ops.workdirs import recorded
    from artctl.ops.worktree_diff import diff_files

    previous = recorded(repo, root) if files else None
    if previous is None:
        return set()
    try:
        record = repo.resolve(previous, include_deleted=True)
        diff = diff_files(repo, record, files, root)
    except ArtctlError:  # that version or its manifest is gone: every extra file is the user's
        return set()
    return {f.path for f in files} - set(diff.added) - set(diff.changed)


def execute(
    repo: Repository,
    plan: CheckoutPlan,
    *,
    force: bool = False,
    link: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CheckoutDirResult:
    """Carry out ``plan``: remove extras (only with ``force``), write what differs, record it."""
    if plan.extra and not force:
        raise ExtraFiles(plan)
    check_references(repo, plan.record, plan.write, None)  # before anything in DIR changes
    root = str(plan.directory)
    removed: list[str] = []
    doomed = [*plan.obsolete, *(p for p in plan.extra if not p.endswith("/"))]
    for rel in sorted(doomed, reverse=True):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{root}/{rel}")  # a symlink is removed itself: its target is untouched
            removed.append(rel)
    for rel in sorted(plan.dirs, key=lambda d: d.count("/"), reverse=True):
        with contextlib.suppress(OSError):  # kept when it still holds ignored files
            os.rmdir(f"{root}/{rel}")
            if rel + "/" in plan.extra:
                removed.append(rel + "/")
    if plan.write or not plan.directory.exists():
        materialize(repo, plan.write, plan.directory, link=link, progress=progress)
    from artctl.ops.workdirs import remember

    remember(repo, plan.directory, plan.record)
    return CheckoutDirResult(plan, len(plan.write), sorted(removed))


def _walk(root: str, ignore: Ignore) -> tuple[list[SourceFile], list[str], dict[str, int]]:
    """Regular files (with their stat), other non-directories (symlinks, FIFOs …) and
    directories (→ how many non-ignored things they hold) under ``root``, following no link."""
    files: list[SourceFile] = []
    others: list[str] = []
    dirs: dict[str, int] = {}
    stack = [(root, "")]
    while stack:
        directory, rel_dir = stack.pop()
        try:
            listing = list(os.scandir(directory))
        except PermissionError:
            raise InvalidInput(f"permission denied: {directory}") from None
        for entry in listing:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if rel_dir:
                dirs[rel_dir] += 1  # ignored things count too: such a directory is not empty
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                if ignore.directory(rel, entry.path):
                    continue
                dirs[rel] = 0
                stack.append((entry.path, rel))
            elif ignore.file(rel):
                continue
            elif stat.S_ISREG(st.st_mode):
                files.append(
                    SourceFile(rel, entry.path, st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)
                )
            else:
                others.append(rel)
    files.sort()
    return files, others, dirs
