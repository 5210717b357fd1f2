"""The registry's base: its paths, the artifact locks, settling interrupted changes, the alias table.

Records live under ``.artifacts/registry/<project>/<name>/`` (:mod:`artctl.repository.registry`).
Whoever takes an artifact's lock, or reads its records, first finishes a merge interrupted there
(:mod:`artctl.repository.journal`) and a rename from or to that name
(:mod:`artctl.repository.renames`), so every observer starts from a whole state; those two
change the alias table, which is therefore read and written here. Collections are
:mod:`artctl.repository.registry_collections`, version lookups
:mod:`artctl.repository.registry_versions`, and :class:`artctl.repository.registry.Registry`
puts them together with the changes of versions and aliases.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from artctl.format.names import ArtifactName, NameScope
from artctl.repository import registry_files, renames

if TYPE_CHECKING:
    from artctl.base.locks import LockFactory
    from artctl.format.local_layout import Layout
    from artctl.repository.runs import RunStore


class RegistryBase:
    """Paths, locks, settling and the alias table of one repository's registry (see
    :class:`artctl.repository.registry.Registry`)."""

    def __init__(
        self,
        layout: Layout,
        lock: LockFactory,
        fsync: Callable[[], bool],
        runs: Callable[[], RunStore],
        names: Callable[[], NameScope],
    ) -> None:
        """``lock`` takes the repository's named locks; ``fsync`` says (each time: settings may
        change) whether writes are flushed; ``runs`` gives the run store an interrupted merge
        or a rename relinks (the two refer to each other, so it is looked up when needed);
        ``names`` is the repository's entity and default project, for short names."""
        self.layout = layout
        self.names = names
        self.root = layout.registry
        self.tmp_dir = layout.tmp
        self._lock = lock
        self._fsync = fsync
        self.runs = runs
        self._local = threading.local()

    @property
    def fsync(self) -> bool:
        return self._fsync()

    # -- paths ----------------------------------------------------------------------------
    def artifact_dir(self, name: ArtifactName) -> Path:
        return self.layout.artifact_dir(name)

    def version_path(self, name: ArtifactName, index: int) -> Path:
        return self.layout.version(name, index)

    @contextlib.contextmanager
    def lock(self, name: ArtifactName) -> Iterator[None]:
        """The artifact's lock; taking it first finishes a merge that was interrupted
        (``artctl.repository.journal``) and a rename from or to this name
        (``artctl.repository.renames``), so whoever changes the registry starts from a whole
        state. Re-entrant within a thread."""
        held = self._held()
        if name in held:
            yield
            return
        with contextlib.ExitStack() as stack:
            while True:
                if not held:  # a rename needs both names' locks, in order: none may be held
                    self._finish_renames(name)
                stack.enter_context(self._lock(f"artifact-{name}"))
                if held or not renames.involving(self, name):
                    break
                stack.close()  # its renamer died after we looked: finish it first
            held.add(name)
            try:
                self._roll_forward(name)
                yield
            finally:
                held.discard(name)

    @contextlib.contextmanager
    def _locks(self, names: list[ArtifactName]) -> Iterator[None]:
        """Several artifacts' locks in name order (renames only; nothing else nests them)."""
        with contextlib.ExitStack() as stack:
            held = self._held()
            for name in sorted(names, key=str):  # the order of artctl.base.locks
                if name not in held:
                    stack.enter_context(self._lock(f"artifact-{name}"))
                    held.add(name)
                    stack.callback(held.discard, name)
            yield

    def _finish_renames(self, name: ArtifactName | None = None) -> None:
        """Finish every pending rename from or to ``name`` (all of them when None)."""
        for pending in renames.pending(self):
            if name is None or name in (pending.old, pending.new):
                with self._locks(pending.names()):
                    current = renames.involving(self, pending.old)
                    if pending in current:  # not finished by another process meanwhile
                        renames.apply(self, pending)

    def _held(self) -> set[ArtifactName]:
        """Artifacts whose lock this thread holds."""
        held = getattr(self._local, "held", None)
        if held is None:
            held = self._local.held = set()
        return held

    # -- interrupted merges (artctl.repository.journal) ----------------------------------------------
    def _roll_forward(self, name: ArtifactName) -> None:
        from artctl.repository import journal

        pending = journal.read(self, journal.path_for(self, name))
        if pending is not None:
            journal.apply(self, pending)

    def settle(self, name: ArtifactName) -> None:
        """Before reading an artifact: finish its interrupted merge, if there is one."""
        from artctl.repository import journal

        held = self._held()
        if name not in held and journal.path_for(self, name).exists():
            with self.lock(name):
                pass
        if not held and renames.involving(self, name):
            self._finish_renames(name)

    def settle_all(self) -> None:
        """Before reading runs or listing artifacts: finish every interrupted merge.

        Skipped by a thread that already holds an artifact's lock: it must not wait for a
        second one (locks of two artifacts are never nested)."""
        from artctl.repository import journal

        if self._held():
            return
        self._finish_renames()
        for path in journal.pending(self):
            pending = journal.read(self, path)
            if pending is not None:
                with self.lock(pending.name):
                    pass

    # -- the files of format 2 (artctl.repository.registry_files) -----------------------------
    @property
    def writer(self) -> registry_files.Writer:
        """How this registry creates its immutable files (the fsync setting of this moment)."""
        return registry_files.Writer(self.layout, self.tmp_dir, self.fsync)

    # -- the alias table (changed by merges and renames too) --------------------------------
    def aliases(self, name: ArtifactName) -> dict[str, str]:
        """Custom aliases → version (``{"best": "v2"}``): the newest alias snapshot."""
        self.settle(name)
        newest = registry_files.newest_aliases(self.layout, name)
        return dict(newest.aliases) if newest is not None else {}

    def write_aliases(
        self, name: ArtifactName, aliases: dict[str, str], by: str | None = None, at: str | None = None
    ) -> bool:
        """Make ``aliases`` the artifact's whole custom-alias table by appending an alias
        snapshot that records who (``by``, default ``user@host``) changed what and when (``at``,
        default now); nothing when it is the table already. Callers hold the artifact's lock."""
        return registry_files.write_aliases(self.writer, name, dict(aliases), by, at)
