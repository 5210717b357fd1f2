"""Shared fixtures: a fresh repository per test, and the CLI run as a real subprocess.

``cli`` runs ``python -m artctl`` in a subprocess with the work tree on ``PYTHONPATH``, so the
tests exercise exactly what a user runs (exit codes, stdout/stderr separation) and do not
depend on an installed copy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest_plugins = ["servers"]

REPO_ROOT = Path(__file__).resolve().parent.parent


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
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("ARTCTL_RUN", None)
    env.pop("ARTCTL_DIR", None)
    env.pop("ARTCTL_DEBUG", None)
    env["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"
    env["COLUMNS"] = "200"
    if extra:
        env.update(extra)
    return env


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 300
) -> Result:
    argv = [sys.executable, "-m", "artctl", *map(str, args)]
    proc = subprocess.run(
        argv, cwd=cwd, env=cli_env(env), capture_output=True, text=True, input=input, timeout=timeout
    )
    return Result(list(map(str, args)), proc.returncode, proc.stdout, proc.stderr)


class CLI:
    """``cli("artifact", "put", …)`` → Result; ``cli.ok(…)`` asserts success."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.env: dict[str, str] = {}

    def __call__(
        self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, input: str | None = None
    ) -> Result:
        return run_cli(*args, cwd=cwd or self.cwd, env={**self.env, **(env or {})}, input=input)

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
    import signal

    result = run_cli(*args, cwd=cwd, env={**(env or {}), "ARTCTL_CRASH_AT": point})
    assert result.returncode == -signal.SIGKILL, f"not killed at {point}: {result}"
    return result


def crash_trace(*args: str, cwd: Path, trace: Path, env: dict[str, str] | None = None) -> list[str]:
    """Run the CLI once with ``ARTCTL_CRASH_TRACE`` and return the crash points it passed, in order."""
    trace.unlink(missing_ok=True)
    result = run_cli(*args, cwd=cwd, env={**(env or {}), "ARTCTL_CRASH_TRACE": str(trace)})
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
            problems = Repo(repository).verify().problems
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
