"""The run record format: ``runs/<id>.json`` and the version links it holds.

A record holds job type, name, command line, host, working directory, git commit, config, times,
status, inputs and outputs. Parsing type-checks every field, so a damaged record (local or a
remote's) is one clear error naming the file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from artctl.errors import RepositoryFormatError
from artctl.format.records import RESTORE_HINT, check_time
from artctl.format.user_json import json_problem
from artctl.repository.run_host import hostname, run_process_gone

RUN_STATES = ("running", "finished", "failed")
#: Shown, never stored: a ``running`` run whose process is gone from this host (killed, out of
#: memory, machine rebooted) without finishing it — W&B's "crashed".
CRASHED = "crashed"


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
            and self.host == hostname()
            and run_process_gone(self.pid, self.started_at)
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
