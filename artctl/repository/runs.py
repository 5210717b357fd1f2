"""Run records: one execution of a job, the versions it used and the versions it logged.

``runs/<id>.json`` holds job type, name, command line, host, working directory, git commit,
config, times, status, inputs and outputs. Inputs and outputs are appended under the run's
lock, so parallel processes linking to one run (``ARTCTL_RUN``) never lose an update.
"""

from __future__ import annotations

import builtins
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artctl.base.fsutil import atomic_write_bytes, create_exclusive
from artctl.errors import InvalidInput, InvalidName, RepositoryFormatError, RunError
from artctl.format.records import (
    RESTORE_HINT,
    check_plain_json,
    check_time,
    dumps,
    json_problem,
    loads,
    utcnow,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from artctl.base.locks import LockFactory
    from artctl.format.layout import Layout

RUN_STATES = ("running", "finished", "failed")
#: Shown, never stored: a ``running`` run whose process is gone from this host (killed, out of
#: memory, machine rebooted) without finishing it — W&B's "crashed".
CRASHED = "crashed"
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def new_run_id() -> str:
    """8 random base-36 characters, like W&B run ids."""
    import secrets  # imported where used: every command imports this module, few start runs

    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


def git_commit(cwd: str) -> str | None:
    """The HEAD commit of the git work tree around ``cwd``, if any."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


@dataclass(frozen=True)
class VersionLink:
    """A version used or logged by a run."""

    name: str
    version: str
    digest: str
    type: str
    #: How the run used the version (W&B's ``use_artifact(..., use_as=)``); not part of identity.
    use_as: str | None = field(default=None, compare=False)

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"


@dataclass(frozen=True)
class RunRecord:
    """One run as stored in ``runs/<id>.json``."""

    id: str
    job_type: str
    name: str | None = None
    project: str | None = None
    status: str = "running"
    command: list[str] = field(default_factory=list)
    host: str | None = None
    cwd: str | None = None
    git_commit: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    started_at: str = ""
    finished_at: str | None = None
    exit_code: int | None = None
    pid: int | None = None
    inputs: list[VersionLink] = field(default_factory=list)
    outputs: list[VersionLink] = field(default_factory=list)
    #: W&B's ``init(entity=, group=, tags=, notes=)``; ``group`` is the default distributed id.
    entity: str | None = None
    group: str | None = None
    tags: list[str] = field(default_factory=list)
    notes: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = {"format": 1, **asdict(self)}
        for links in (out["inputs"], out["outputs"]):
            for link in links:
                if link["use_as"] is None:  # absent while unset: older readers keep working
                    del link["use_as"]
        return out

    def observed_status(self) -> str:
        """``status``, or :data:`CRASHED` when the run is still ``running`` but the process that
        owns it (``pid``, on this same ``host``) is gone. Other hosts' runs are taken as stored:
        their processes cannot be seen from here."""
        if (
            self.status == "running"
            and self.pid
            and self.host == _hostname()
            and process_gone(self.pid, self.started_at)
        ):
            return CRASHED
        return self.status

    @classmethod
    def from_json(cls, obj: dict[str, Any], what: str = "run record") -> RunRecord:
        """Parse and type-check a run record (local file or remote): a damaged one is one
        clear error naming the file, never a TypeError in whatever command read it."""
        for key in ("id", "job_type", "started_at"):
            if key not in obj:
                raise RepositoryFormatError(f"{what} lacks {key!r}", hint=RESTORE_HINT)
        known = {k: obj[k] for k in cls.__dataclass_fields__ if k in obj}
        for key, kinds in _RUN_FIELD_TYPES.items():
            if key in known and (not isinstance(known[key], kinds) or isinstance(known[key], bool)):
                raise RepositoryFormatError(
                    f"{what} has an invalid {key!r}: {known[key]!r:.80}", hint=RESTORE_HINT
                )
        for key in ("command", "tags"):
            if not all(isinstance(item, str) for item in known.get(key, [])):
                raise RepositoryFormatError(f"{what} has an invalid {key!r}", hint=RESTORE_HINT)
        for key in ("started_at", "finished_at"):
            if known.get(key) is not None:
                check_time(known[key], key, what)
        problem = json_problem(known.get("config", {}))
        if problem:
            raise RepositoryFormatError(f"{what} has an invalid 'config': {problem}", hint=RESTORE_HINT)
        known["inputs"] = _links(known.get("inputs", []), "inputs", what)
        known["outputs"] = _links(known.get("outputs", []), "outputs", what)
        return cls(**known)


def _links(items: list[Any], key: str, what: str) -> list[VersionLink]:
    """The ``inputs``/``outputs`` of a run record, each a complete :class:`VersionLink`."""
    out = []
    required = {"name", "version", "digest", "type"}
    for link in items:
        if (
            not isinstance(link, dict)
            or not required <= set(link) <= set(VersionLink.__dataclass_fields__)
            or not all(isinstance(link[k], str) for k in required)
            or not isinstance(link.get("use_as"), (str, type(None)))
        ):
            raise RepositoryFormatError(
                f"{what} has an invalid entry in {key!r}: {link!r:.80}", hint=RESTORE_HINT
            )
        out.append(VersionLink(**link))
    return out


_OPT_STR = (str, type(None))
#: The JSON type of each field of a run record.
_RUN_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "job_type": (str,),
    "name": _OPT_STR,
    "project": _OPT_STR,
    "status": (str,),
    "command": (list,),
    "host": _OPT_STR,
    "cwd": _OPT_STR,
    "git_commit": _OPT_STR,
    "config": (dict,),
    "started_at": (str,),
    "finished_at": _OPT_STR,
    "exit_code": (int, type(None)),
    "pid": (int, type(None)),
    "inputs": (list,),
    "outputs": (list,),
    "entity": _OPT_STR,
    "group": _OPT_STR,
    "tags": (list,),
    "notes": _OPT_STR,
}


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
                host=_hostname(),
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


def _hostname() -> str:
    import socket

    return socket.gethostname()


def process_gone(pid: int, since: str) -> bool:
    """Whether process ``pid`` no longer runs here: no such process, a zombie, or a process that
    started after ``since`` (the pid was reused by another program)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's
    except (OSError, OverflowError):
        return False
    started = _process_start(pid)
    if started is None:
        return False  # not Linux, or it vanished meanwhile: say nothing we cannot tell
    state, start_time = started
    if state == "Z":
        return True
    from artctl.format.records import parse_time

    try:
        return start_time > parse_time(since).timestamp() + 2  # /proc's clock: ~1 s precision
    except ValueError:
        return False


def _process_start(pid: int) -> tuple[str, float] | None:
    """``(state letter, start time as a Unix timestamp)`` of a process, from Linux's /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        with open("/proc/stat", encoding="ascii") as fh:
            boot = next(float(line.split()[1]) for line in fh if line.startswith("btime "))
        return fields[0], boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError, StopIteration):
        return None
