"""Run records: one execution of a job, the versions it used and the versions it logged.

``runs/<id>.json`` holds job type, name, command line, host, working directory, git commit,
config, times, status, inputs and outputs. Inputs and outputs are appended under the run's
lock, so parallel processes linking to one run (``ARTCTL_RUN``) never lose an update.
The record format is :mod:`artctl.repository.run_records`; the host, git commit and process
facts a run records are :mod:`artctl.repository.run_host`.
"""

from __future__ import annotations

import builtins
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artctl.base.fsutil import atomic_write_bytes, create_exclusive
from artctl.errors import InvalidInput, InvalidName, RunError
from artctl.format.records import dumps, loads, utcnow
from artctl.format.user_json import check_plain_json
from artctl.repository.run_host import git_commit, hostname
from artctl.repository.run_records import CRASHED, RUN_STATES, RunRecord, VersionLink

if TYPE_CHECKING:
    from artctl.base.locks import LockFactory
    from artctl.format.local_layout import Layout

__all__ = [
    "CRASHED",
    "RUN_STATES",
    "RunRecord",
    "RunStore",
    "VersionLink",
    "git_commit",
    "new_run_id",
]

_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def new_run_id() -> str:
    """8 random base-36 characters, like W&B run ids."""
    import secrets  # imported where used: every command imports this module, few start runs

    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


class RunStore:
    """Creates, reads and updates run records."""

    def __init__(
        self,
        layout: Layout,
        lock: LockFactory,
        fsync: Callable[[], bool],
        settle: Callable[[], None],
        default_project: Callable[[], str | None] = lambda: None,
    ) -> None:
        """``settle`` finishes the registry's interrupted merges (they may relink runs) before
        runs are read; ``fsync`` is asked at each write (settings may change);
        ``default_project`` is the project of a run started without one."""
        self.layout = layout
        self._default_project = default_project
        self.root = layout.runs
        self.tmp_dir = layout.tmp
        self._lock = lock
        self._fsync = fsync
        self._settle = settle

    def path(self, run_id: str) -> Path:
        if not run_id or not all(c in _ID_ALPHABET + "-_" for c in run_id.lower()) or len(run_id) > 64:
            raise RunError(f"invalid run id {run_id!r}")
        return self.layout.run(run_id)

    def create(
        self,
        job_type: str,
        *,
        name: str | None = None,
        project: str | None = None,
        config: dict[str, Any] | None = None,
        command: list[str] | None = None,
        entity: str | None = None,
        group: str | None = None,
        tags: list[str] | None = None,
        notes: str | None = None,
        pid: int | None = None,
    ) -> RunRecord:
        """A new ``running`` run owned by process ``pid`` (default: this one; 0: none), whose
        death without a finish shows the run as crashed. Without ``project`` it belongs to the
        default project (``ARTCTL_PROJECT`` / ``core.project``), if any, as in W&B."""
        from artctl.format.names import validate_type

        try:
            validate_type(job_type)
        except InvalidName:  # the rule is the artifact type's; the message must name the job type
            raise InvalidName(
                f"invalid job type {job_type!r}: 1-128 letters, digits, '.', '_' or '-' "
                "(e.g. train, modify-dataset)"
            ) from None
        if config is not None and not isinstance(config, dict):
            raise InvalidInput("run config must be a JSON object")
        check_plain_json(config or {}, "run config")
        cwd = os.getcwd()
        while True:
            record = RunRecord(
                id=new_run_id(),
                job_type=job_type,
                name=name,
                project=project or self._default_project(),
                command=list(command if command is not None else sys.argv),
                host=hostname(),
                cwd=cwd,
                git_commit=git_commit(cwd),
                config=dict(config or {}),
                started_at=utcnow(),
                pid=os.getpid() if pid is None else (pid or None),
                entity=entity,
                group=group,
                tags=list(tags or []),
                notes=notes,
            )
            if create_exclusive(
                self.path(record.id),
                dumps(record.to_json()),
                tmp_dir=self.tmp_dir,
                fsync=self._fsync(),
            ):
                return record

    def get(self, run_id: str) -> RunRecord:
        self._settle()  # an interrupted merge may still have to fix its links
        return self._load(run_id)

    def _load(self, run_id: str) -> RunRecord:
        path = self.path(run_id)
        try:
            return RunRecord.from_json(loads(path.read_bytes(), str(path)), str(path))
        except FileNotFoundError:
            raise RunError(f"run {run_id!r} not found", hint="list runs with `artctl run ls`") from None

    def list(self) -> list[RunRecord]:
        self._settle()
        return self._load_all()

    def _load_all(self) -> builtins.list[RunRecord]:  # `list` is the method above
        if not self.root.is_dir():
            return []
        out = []
        for name in os.listdir(self.root):
            if name.endswith(".json"):
                try:
                    out.append(
                        RunRecord.from_json(
                            loads((self.root / name).read_bytes(), name), str(self.root / name)
                        )
                    )
                except FileNotFoundError:
                    continue
        return sorted(out, key=lambda r: r.started_at)

    def update(self, run_id: str, change: Callable[[RunRecord], RunRecord]) -> RunRecord:
        """Rewrite one run record as ``change(record)`` under the run's lock; return the new one.

        The read-modify-write is atomic against other processes changing the same run.
        """
        with self._lock(f"run-{run_id}"):  # taken after an artifact's lock, never before
            record = change(self._load(run_id))
            atomic_write_bytes(
                self.path(run_id), dumps(record.to_json()), tmp_dir=self.tmp_dir, fsync=self._fsync()
            )
            return record

    def link(self, run_id: str, link: VersionLink, *, direction: str, new_version: bool = False) -> RunRecord:
        """Record a used (``input``) or logged (``output``) version; idempotent.

        Refuses a link that would close a cycle in the lineage graph, directly (a run using
        its own output) or through other runs (run A logs X, B uses X and logs Y, A uses Y).
        The repository-wide ``lineage`` lock makes check-and-write atomic across runs.
        ``new_version=True`` (a version created just now, which nothing can have used yet) skips
        the walk over other runs.
        """
        from dataclasses import replace

        if direction not in ("input", "output"):
            raise ValueError(f"direction must be 'input' or 'output', not {direction!r}")

        def change(record: RunRecord) -> RunRecord:
            self._check(record, link, direction, new_version=new_version)
            if direction == "input":
                if link in record.inputs:
                    return record
                return replace(record, inputs=[*record.inputs, link])
            if link in record.outputs:
                return record
            return replace(record, outputs=[*record.outputs, link])

        self._settle()  # before any lock: run locks come after artifact locks
        with self._lock("lineage"):
            return self.update(run_id, change)

    def check_link(self, run_id: str, link: VersionLink, *, direction: str) -> None:
        """Raise what :meth:`link` would raise, without writing (checks before side effects)."""
        self._check(self.get(run_id), link, direction)

    def _check(
        self, record: RunRecord, link: VersionLink, direction: str, *, new_version: bool = False
    ) -> None:
        run_id = record.id
        if record.status != "running":
            raise RunError(f"run {run_id} is {record.status}; it cannot use or log artifacts")
        if direction == "input":
            if any(o.digest == link.digest and o.name == link.name for o in record.outputs):
                raise RunError(
                    f"run {run_id} logged {link.ref}; using its own output would make "
                    "a cycle in the lineage graph"
                )
            if link not in record.inputs and record.outputs and self._reaches(record.outputs, link, record):
                raise RunError(
                    f"{link.ref} descends from run {run_id}'s outputs; using it would make "
                    "a cycle in the lineage graph"
                )
            return
        if any(i.digest == link.digest and i.name == link.name for i in record.inputs):
            raise RunError(
                f"run {run_id} used {link.ref}; it cannot also log it "
                "(that would make a cycle in the lineage graph)"
            )
        if (
            not new_version
            and link not in record.outputs
            and record.inputs
            and self._reaches([link], None, record)
        ):
            raise RunError(
                f"run {run_id} descends from {link.ref}; logging it would make a cycle in the lineage graph"
            )

    def _reaches(
        self, start: builtins.list[VersionLink], target: VersionLink | None, record: RunRecord
    ) -> bool:
        """Whether walking downstream (version → runs using it → their outputs …) from ``start``
        reaches ``target`` (a version) or, when ``target`` is None, the run ``record``."""
        runs = {r.id: r for r in self._load_all()}  # under the run's lock: link() settled first
        runs[record.id] = record
        users: dict[tuple[str, str], list[RunRecord]] = {}
        for run in runs.values():
            for used in run.inputs:
                users.setdefault((used.name, used.version), []).append(run)
        seen: set[tuple[str, str]] = set()
        todo = [(v.name, v.version) for v in start]
        while todo:
            key = todo.pop()
            if key in seen:
                continue
            seen.add(key)
            if target is not None and key == (target.name, target.version):
                return True
            for run in users.get(key, []):
                if target is None and run.id == record.id:
                    return True
                todo.extend((o.name, o.version) for o in run.outputs)
        return False

    def require_running(self, run_id: str) -> RunRecord:
        record = self.get(run_id)
        if record.status != "running":
            raise RunError(
                f"run {run_id} is already {record.status}; nothing can be linked to it",
                hint="start a new run (`artctl run start`) or unset ARTCTL_RUN / --run",
            )
        return record

    def finish(self, run_id: str, *, failed: bool = False, exit_code: int | None = None) -> RunRecord:
        from dataclasses import replace

        def change(record: RunRecord) -> RunRecord:
            if record.status != "running":
                raise RunError(f"run {run_id} is already {record.status}")
            return replace(
                record, status="failed" if failed else "finished", finished_at=utcnow(), exit_code=exit_code
            )

        return self.update(run_id, change)
