"""Shared fixtures: a fresh repository per test, and the CLI as a user runs it.

``cli`` and ``run_cli`` run the CLI **in this process** through the console script's own entry
point (``artctl.cli.entry:main``) under click's ``CliRunner``: the same argument parsing, error
rendering, exit codes and stdout/stderr separation a user gets, without an interpreter start
per call. Each call gets the environment, working directory, ``sys.argv`` and signal handlers a
fresh ``artctl`` process would, and gives them back afterwards.

Where a real process IS the point (kills and crash points, signals, locks held by another
process, concurrency between processes, interpreter hooks such as ``sitecustomize``) a test asks
for one explicitly: ``cli(..., subprocess=True)``, ``run_cli(..., subprocess=True)`` or
``run_cli_process``. The in-process runner refuses environments that only a new interpreter
would honour (``ARTCTL_CRASH_*``, ``PYTHON*``), so no test silently changes from two processes
to one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest_plugins = ["servers"]

REPO_ROOT = Path(__file__).resolve().parent.parent


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than there are CPUs. Many tests wait rather than compute —
    on storage servers in other processes, on killed or paused CLI processes, on grace periods
    a store's whole-second clock must pass — and another worker uses a CPU meanwhile (2 CPUs:
    ~190 s with three workers, ~215 s with two)."""
    return (os.cpu_count() or 1) + 1


def pytest_configure(config: pytest.Config) -> None:
    """Compile the package once, before any worker or CLI process starts.

    An installed wheel has its bytecode written by pip; an editable checkout has none, and with
    ``PYTHONDONTWRITEBYTECODE`` set (as on CI machines) every ``python -m artctl`` a test starts
    would compile the whole package again: ~0.1 s of CPU per process, hundreds of processes.
    """
    if hasattr(config, "workerinput"):  # an xdist worker: the controller compiled already
        return
    import compileall

    compileall.compile_dir(REPO_ROOT / "artctl", quiet=1)


#: Variables a test's outer environment must not leak into the CLI it runs.
CLEARED_ENV = ("ARTCTL_RUN", "ARTCTL_DIR", "ARTCTL_DEBUG", "ARTCTL_REPO")
#: What every CLI run gets: gcsfs' fast mode off (TEST-SERVERS.md), a wide terminal for tables.
FIXED_ENV = {"GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false", "COLUMNS": "200"}
#: Environment only a new interpreter honours: read at import (crash points) or at start-up.
PROCESS_ONLY_ENV = ("ARTCTL_CRASH_", "PYTHON")


@dataclass
class Result:
    """A finished CLI invocation."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def json(self):  # type: ignore[no-untyped-def]
        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"<Result {self.args} rc={self.returncode}\nstdout={self.stdout}\nstderr={self.stderr}>"


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The whole environment of a CLI subprocess: this one, cleaned (see :func:`env_overrides`)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    for key, value in env_overrides(extra).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def env_overrides(extra: dict[str, str] | None = None) -> dict[str, str | None]:
    """What a CLI run changes in this process's environment (``None``: unset)."""
    return {**dict.fromkeys(CLEARED_ENV), **FIXED_ENV, **(extra or {})}


def run_cli_process(
    *args: str, cwd: Path, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 300
) -> Result:
    """``python -m artctl ARGS`` in a real subprocess (exit status ``-N`` when killed by signal N)."""
    argv = [sys.executable, "-m", "artctl", *map(str, args)]
    proc = subprocess.run(
        argv, cwd=cwd, env=cli_env(env), capture_output=True, text=True, input=input, timeout=timeout
    )
    return Result(list(map(str, args)), proc.returncode, proc.stdout, proc.stderr)


class _ConsoleScript:
    """What ``CliRunner.invoke`` calls (``.main(args=…, prog_name=…)``): the ``artctl`` console
    script's entry point, with the ``sys.argv`` and process state a new process would have."""

    name = "artctl"

    def main(self, args: list[str], prog_name: str, **_: object) -> None:
        import click.formatting

        from artctl.cli import entry

        sys.argv = [prog_name, *args]
        click.formatting.FORCED_WIDTH = None  # CliRunner forces 80 columns; a process reads COLUMNS
        for stream, fd in ((sys.stdout, 1), (sys.stderr, 2)):
            stream._original_fd = fd  # children (run exec) inherit fds 1 and 2, captured as a pipe would be
        entry.main()


def run_cli_inprocess(
    *args: str, cwd: Path, env: dict[str, str] | None = None, input: str | None = None
) -> Result:
    """The CLI in this process (module docstring): environment, cwd, ``sys.argv``, signal
    handlers, ``sys.unraisablehook`` and warning filters are set for the call as for a new
    process, then restored."""
    from click.testing import CliRunner

    needs_process = sorted(k for k in env or {} if k.startswith(PROCESS_ONLY_ENV))
    if needs_process:
        raise AssertionError(
            f"{needs_process} only take effect in a new interpreter: run this CLI call with subprocess=True"
        )
    saved_cwd, saved_argv, saved_hook = os.getcwd(), sys.argv, sys.unraisablehook
    saved_signals = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    os.chdir(cwd)
    try:
        runner = CliRunner(catch_exceptions=False, capture="fd")
        with warnings.catch_warnings():  # the entry point silences the cloud SDKs' warnings
            result = runner.invoke(
                _ConsoleScript(), [str(a) for a in args], input=input, env=env_overrides(env)
            )
    finally:
        os.chdir(saved_cwd)
        sys.argv, sys.unraisablehook = saved_argv, saved_hook
        for sig, handler in saved_signals.items():
            signal.signal(sig, handler)
    return Result(list(map(str, args)), result.exit_code, result.stdout, result.stderr)


def run_cli(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 300,
    subprocess: bool = False,
) -> Result:
    """Run the CLI in ``cwd``: in this process, or with ``subprocess=True`` as a real process
    (``timeout`` applies to that one only; pytest-timeout bounds an in-process call)."""
    if subprocess:
        return run_cli_process(*args, cwd=cwd, env=env, input=input, timeout=timeout)
    return run_cli_inprocess(*args, cwd=cwd, env=env, input=input)


class CLI:
    """``cli("artifact", "put", …)`` → Result; ``cli.ok(…)`` asserts success.

    ``subprocess=True`` (on any of the three) runs that call as a real ``python -m artctl``.
    """

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.env: dict[str, str] = {}

    def __call__(
        self,
        *args: str,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        input: str | None = None,
        subprocess: bool = False,
    ) -> Result:
        return run_cli(
            *args, cwd=cwd or self.cwd, env={**self.env, **(env or {})}, input=input, subprocess=subprocess
        )

    def ok(self, *args: str, **kwargs) -> Result:  # type: ignore[no-untyped-def]
        result = self(*args, **kwargs)
        assert result.returncode == 0, result
        return result

    def fails(self, *args: str, code: int = 1, **kwargs) -> Result:  # type: ignore[no-untyped-def]
        """Assert a clean failure: the exit code, one ``error:`` line, no traceback."""
        result = self(*args, **kwargs)
        assert result.returncode == code, result
        assert "Traceback" not in result.stderr, result
        if code == 1:
            assert result.stderr.startswith("error: "), result
        return result


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project directory, also the working directory of the test."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("ARTCTL_DIR", raising=False)
    monkeypatch.delenv("ARTCTL_RUN", raising=False)
    monkeypatch.delenv("ARTCTL_PROJECT", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return work


@pytest.fixture
def cli(workdir: Path) -> CLI:
    """The CLI, run in ``workdir`` (no repository yet)."""
    return CLI(workdir)


@pytest.fixture
def repo_dir(cli: CLI, workdir: Path) -> Path:
    """``workdir`` with an initialized repository."""
    cli.ok("init")
    return workdir


@pytest.fixture
def repo(repo_dir: Path):  # type: ignore[no-untyped-def]
    """The library's Repo over ``repo_dir``."""
    from artctl.api.repo import Repo

    return Repo(repo_dir)


def make_tree(root: Path, files: dict[str, bytes | str]) -> Path:
    """Write ``{relative path: content}`` under ``root``; return root."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return root


@pytest.fixture
def data_dir(workdir: Path) -> Path:
    """A small dataset: two text files and one larger binary (stored loose, not packed)."""
    return make_tree(
        workdir / "data",
        {
            "a.txt": "alpha\n",
            "sub/b.txt": "beta\n",
            "big.bin": os.urandom(2 * 1024 * 1024),
        },
    )


def run_killed_at(point: str, *args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
    """Run the CLI with ``ARTCTL_CRASH_AT=point`` and assert it died there (SIGKILL).

    A crash test that cannot pass by luck: if the command finishes (the point was never reached)
    or fails otherwise, this assertion fails instead of the test passing on an un-killed run.
    """

    result = run_cli_process(*args, cwd=cwd, env={**(env or {}), "ARTCTL_CRASH_AT": point})
    assert result.returncode == -signal.SIGKILL, f"not killed at {point}: {result}"
    return result


def crash_trace(*args: str, cwd: Path, trace: Path, env: dict[str, str] | None = None) -> list[str]:
    """Run the CLI once with ``ARTCTL_CRASH_TRACE`` and return the crash points it passed, in order."""
    trace.unlink(missing_ok=True)
    result = run_cli_process(*args, cwd=cwd, env={**(env or {}), "ARTCTL_CRASH_TRACE": str(trace)})
    assert result.returncode == 0, result
    return trace.read_text().split() if trace.exists() else []


# -- every repository a test made must verify clean when the test ends -----------------------------
@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
    """Remember each phase's report on the item, so a teardown can tell whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def repositories_under(root: Path) -> list[Path]:
    """Every ``.artifacts`` directory below ``root`` (not looking inside one)."""
    found = []
    for dirpath, dirnames, _files in os.walk(root):
        if ".artifacts" in dirnames:
            found.append(Path(dirpath) / ".artifacts")
            dirnames.remove(".artifacts")
    return sorted(found)


def verify_problems(root: Path) -> list[str]:
    """What ``artifact verify`` reports for the repository at ``root`` (in this process: faster
    than a CLI run, and the same library code).

    Objects a clone never fetched, or that ``cache cleanup`` dropped, are reported by verify as
    "on remote R", not as problems; a missing object with no remote holding it is a loss.
    """
    from artctl.api.repo import Repo
    from artctl.repository.repo import Repository

    try:
        repository = Repository(root)
        try:
            # the local store only: a remote's mirror would check the remote, and the test's
            # credentials for it are gone by now
            problems = Repo(repository).verify(remote=False).problems
        finally:
            repository.state.close()
    except Exception as exc:  # noqa: BLE001 - a repository that cannot even be opened fails too
        return [f"cannot verify: {type(exc).__name__}: {exc}"]
    return [" ".join(f"{k}={v}" for k, v in problem.items()) for problem in problems]


@pytest.fixture(autouse=True)
def verify_repositories_at_teardown(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Fail a test that leaves a repository under its ``tmp_path`` that ``verify`` rejects.

    Whatever a test did (kills, races, full disks, hostile remotes), nothing committed may be
    lost or damaged. A test that damages a repository on purpose says so with
    ``@pytest.mark.damages_repository``. A test that failed already is not checked again.
    """
    yield
    call = getattr(request.node, "report_call", None)
    if request.node.get_closest_marker("damages_repository") or call is None or not call.passed:
        return
    failures = {
        str(root): problems for root in repositories_under(tmp_path) if (problems := verify_problems(root))
    }
    if failures:
        pytest.fail(
            "artifact verify fails at the end of the test (mark it damages_repository if "
            f"that is intended): {failures}",
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def own_user_cache(tmp_path: Path) -> Iterator[Path]:
    """Each test its own user cache (``cache.dir``), in this process and the CLI processes it
    starts: no test shares downloads with another, or with the user's ``~/.cache/artctl``.

    Not through ``monkeypatch``: requesting that shared fixture from an autouse one would keep
    every test's monkeypatched environment (its ``XDG_CONFIG_HOME``) alive until after
    ``verify_repositories_at_teardown`` has run."""
    saved = {k: os.environ.get(k) for k in ("XDG_CACHE_HOME", "ARTCTL_CACHE_DIR")}
    os.environ["XDG_CACHE_HOME"] = str(tmp_path / "xdg-cache")
    os.environ.pop("ARTCTL_CACHE_DIR", None)
    yield tmp_path / "xdg-cache" / "artctl"
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def fsync_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every ``os.fsync`` of this process (still performed)."""
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    return calls
