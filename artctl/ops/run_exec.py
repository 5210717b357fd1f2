"""``run exec``: run a command as a run — inputs fetched before, outputs logged after success.

The order is what makes the lineage trustworthy:
1. everything checkable is checked before the run exists (command given, ``--use`` refs
   resolve, ``--log`` names and types valid and not taken by another type);
2. the run is created, its inputs are materialized and linked as used;
3. the command runs with its inputs' paths in the environment (see :func:`input_env`);
4. exit code 0: every ``--log`` path must exist, then each is logged as an output and the run
   is finished. Any other exit code: the run is marked failed, nothing is logged, and the code
   is handed back for the caller to exit with (a signal N becomes 128+N, as in a shell).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from artctl.errors import ArtctlError, InvalidInput, RunError
from artctl.format.names import parse_name, parse_ref, validate_type
from artctl.format.version_fields import VersionFields
from artctl.ops.get import get
from artctl.ops.put import put
from artctl.repository.commit import check_type
from artctl.repository.repo import Repository
from artctl.repository.runs import RunRecord
from artctl.repository.views import PutResult


@dataclass(frozen=True)
class LogSpec:
    """One ``--log PATH --name NAME --type TYPE``."""

    path: str
    name: str
    type: str


@dataclass(frozen=True)
class ExecInput:
    """A fetched input: the version, where it is, and the variables naming it."""

    ref: str
    path: str
    env: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "path": self.path, "env": list(self.env)}


@dataclass(frozen=True)
class ExecResult:
    """The outcome of ``run exec``: the ``--json`` document."""

    run: RunRecord
    exit_code: int
    inputs: tuple[ExecInput, ...]
    outputs: tuple[PutResult, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run.id,
            "status": self.run.status,
            "exit_code": self.exit_code,
            "inputs": [i.to_json() for i in self.inputs],
            "outputs": [o.to_json() for o in self.outputs],
        }


def env_name(artifact_name: str) -> str:
    """``proj/mnist-v2`` → ``MNIST_V2``: the artifact's last name part as a variable suffix."""
    return re.sub(r"[^A-Z0-9]", "_", parse_name(artifact_name).name.upper())


def input_env(inputs: Sequence[tuple[str, str, str]]) -> tuple[dict[str, str], list[tuple[str, ...]]]:
    """Variables for ``(ref, artifact name, path)`` inputs, and the names each input got.

    ``ARTCTL_INPUT_<N>`` (0-based, in ``--use`` order) always; ``ARTCTL_INPUT_<NAME>`` (see
    :func:`env_name`) only when no other input has the same suffix and the suffix is not a
    number (it would shadow an index); ``ARTCTL_INPUTS`` holds ``{ref: path}`` as JSON.
    """
    counts: dict[str, int] = {}
    for _, name, _ in inputs:
        counts[env_name(name)] = counts.get(env_name(name), 0) + 1
    env: dict[str, str] = {}
    names: list[tuple[str, ...]] = []
    for i, (_, name, path) in enumerate(inputs):
        mine = [f"ARTCTL_INPUT_{i}"]
        suffix = env_name(name)
        if counts[suffix] == 1 and not suffix.isdigit():
            mine.append(f"ARTCTL_INPUT_{suffix}")
        for var in mine:
            env[var] = path
        names.append(tuple(mine))
    env["ARTCTL_INPUTS"] = json.dumps({ref: path for ref, _, path in inputs}, sort_keys=True)
    return env, names


def exec_run(
    repo: Repository,
    command: Sequence[str],
    *,
    job_type: str,
    uses: Sequence[str] = (),
    logs: Sequence[LogSpec] = (),
    name: str | None = None,
    project: str | None = None,
    config: dict[str, Any] | None = None,
    inputs_dir: str | os.PathLike[str] | None = None,
    stdout: IO[Any] | None = None,
    on_start=None,
) -> ExecResult:
    """Run ``command`` as a run of ``job_type`` (module docstring: the order of steps)."""
    if not command:
        raise InvalidInput(
            "run exec needs a command after --",
            hint="e.g. artctl run exec --job-type train -- python train.py",
        )
    validate_type(job_type)
    scope = repo.names.with_defaults(project=project)
    records = []
    for ref in dict.fromkeys(uses):
        records.append(repo.resolve(parse_ref(ref, scope)))
    for spec in logs:
        check_type(repo, parse_name(spec.name, scope), spec.type)
    run = repo.runs.create(job_type, name=name, project=project, config=config, command=list(command))
    if on_start is not None:
        on_start(run)
    runs = repo.runs
    try:
        fetched = []
        for record in records:
            root = (
                Path(inputs_dir) / f"{parse_name(record.name).name}:{record.version}" if inputs_dir else None
            )
            result = get(repo, f"{record.name}:{record.version}", root=root, run_id=run.id)
            fetched.append((f"{record.name}:{record.version}", record.name, str(result.root)))
        env, names = input_env(fetched)
        env["ARTCTL_RUN"] = run.id
        env["ARTCTL_DIR"] = str(repo.root)
        for i, spec in enumerate(logs):
            env[f"ARTCTL_OUTPUT_{i}"] = str(Path(spec.path).resolve())
        code = _run(command, {**os.environ, **env}, stdout)
    except BaseException as exc:
        exit_code = exc.exit_code if isinstance(exc, RunError) and exc.exit_code in (126, 127) else None
        _finish_quietly(runs, run.id, failed=True, exit_code=exit_code)
        _name_run(exc, run.id)
        raise
    inputs = tuple(ExecInput(ref, path, names[i]) for i, (ref, _, path) in enumerate(fetched))
    if code != 0:
        return ExecResult(runs.finish(run.id, failed=True, exit_code=code), code, inputs, ())
    try:
        missing = [spec.path for spec in logs if not os.path.exists(spec.path)]
        if missing:
            raise RunError(
                f"the command succeeded but did not create {', '.join(missing)}; nothing was logged"
            )
        outputs = tuple(
            put(
                repo,
                spec.path,
                name=str(parse_name(spec.name, scope)),
                type=spec.type,
                fields=VersionFields(run_id=run.id),
            )
            for spec in logs
        )
    except BaseException as exc:
        _finish_quietly(runs, run.id, failed=True, exit_code=0)
        _name_run(exc, run.id)
        raise
    return ExecResult(runs.finish(run.id, exit_code=0), 0, inputs, outputs)


def _run(command: Sequence[str], env: dict[str, str], stdout: IO[Any] | None) -> int:
    """Run the command to completion; Ctrl-C reaches it too (same process group), and we wait."""
    try:
        proc = subprocess.Popen(list(command), env=env, stdout=stdout)
    except FileNotFoundError:
        raise _shell_error(f"command not found: {command[0]}", 127) from None
    except PermissionError:
        raise _shell_error(f"command is not executable: {command[0]}", 126) from None
    except OSError as exc:
        raise RunError(f"cannot run {command[0]}: {exc.strerror or exc}") from None
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        proc.wait()
        raise
    return 128 - code if code < 0 else code


def _shell_error(message: str, code: int) -> RunError:
    """A command that could not start: exit and record 127/126, as a shell would."""
    error = RunError(message)
    error.exit_code = code
    return error


def _name_run(exc: BaseException, run_id: str) -> None:
    """Say in the one error line which run was marked failed."""
    if isinstance(exc, ArtctlError):
        exc.message = f"{exc.message} (run {run_id} marked failed)"
        exc.args = (exc.message,)


def _finish_quietly(runs, run_id: str, *, failed: bool, exit_code: int | None = None) -> None:
    try:
        runs.finish(run_id, failed=failed, exit_code=exit_code)
    except ArtctlError:
        pass
