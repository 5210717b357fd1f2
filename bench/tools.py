"""Locate the commands under test: artctl, b3sum (or a fallback) and DVC in its own venv.

DVC lives in a separate virtualenv because installing it beside artctl would pin fsspec
and friends to versions artctl does not test against.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent


@dataclass
class Tool:
    """A command prefix plus what to call it in the output; ``error`` if it cannot run."""

    name: str
    argv: list[str]
    version: str = ""
    error: str = ""
    env: dict[str, str] = field(default_factory=dict)


def base_env() -> dict[str, str]:
    """Environment for every subprocess: no inherited repository or run, no telemetry."""
    env = dict(os.environ)
    for key in ("ARTCTL_DIR", "ARTCTL_RUN", "ARTCTL_DEBUG"):
        env.pop(key, None)
    env["DVC_NO_ANALYTICS"] = "1"
    return env


def _version(argv: list[str], env: dict[str, str]) -> tuple[str, str]:
    try:
        res = subprocess.run(argv, capture_output=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "", str(exc)
    if res.returncode != 0:
        err = res.stderr.decode("utf-8", "replace").strip().splitlines()
        return "", err[-1] if err else f"rc={res.returncode}"
    out = res.stdout.decode("utf-8", "replace").strip()
    return (out.splitlines()[0] if out else ""), ""


def _venv_install(
    venv: Path, command: str, packages: list[str], log, what: str, refresh: list[str] | None = None
) -> str:
    """Install ``packages`` into ``venv`` (created on demand) unless ``bin/<command>`` is there
    already, and ``pip install refresh`` every time; an error message, or "" when ready."""
    pip = venv / "bin" / "pip"
    try:
        if not (venv / "bin" / command).exists():
            log(f"creating virtualenv {venv} ({what})")
            if not pip.exists():
                subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
            subprocess.run(
                [str(pip), "install", "--quiet", *packages], check=True, capture_output=True, timeout=3600
            )
        if refresh:
            subprocess.run(
                [str(pip), "install", "--quiet", *refresh], check=True, capture_output=True, timeout=600
            )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        tail = detail.decode("utf-8", "replace").strip().splitlines()[-1:] if detail else []
        return f"{exc} {' '.join(tail)}".strip()
    return ""


def find_artctl(override: str | None, venv: Path, log) -> Tool:
    """This checkout installed into ``venv`` (its console script), unless ``--artctl`` names one.

    Installed the way users get it, like DVC beside it: a regular (not editable) install whose
    modules pip byte-compiles, in a virtualenv without the host's ``.pth`` hooks. Timing
    ``python -m artctl`` from the source tree instead would charge artctl for compiling every
    module on each run wherever ``PYTHONDONTWRITEBYTECODE`` is set, and for whatever the host
    interpreter imports at startup. The checkout is reinstalled on every run (``--no-deps``, a
    few seconds), so the working tree is what gets measured.
    """
    if override:
        argv = shlex.split(override)
    else:
        exe = venv / "bin" / "artctl"
        error = _venv_install(
            venv,
            "artctl",
            [str(REPO_ROOT)],
            log,
            "pip install of this checkout",
            refresh=["--no-deps", "--force-reinstall", str(REPO_ROOT)],
        )
        if error:
            return Tool("artctl", [str(exe)], error=f"artctl install failed: {error}")
        argv = [str(exe)]
    version, error = _version(argv + ["--version"], base_env())
    return Tool("artctl", argv, version, error and f"`{' '.join(argv)} --version` failed: {error}")


def find_b3sum() -> Tool:
    """The ``b3sum`` binary (Debian package) or, failing that, the PyPI ``blake3`` module."""
    exe = shutil.which("b3sum")
    if exe:
        version, _ = _version([exe, "--version"], base_env())
        return Tool("b3sum", [exe], f"{version or 'b3sum'} (binary {exe})")
    argv = [sys.executable, str(BENCH_DIR / "b3hash.py")]
    try:
        import blake3  # noqa: F401
    except ImportError:
        return Tool("b3sum", argv, error="neither `b3sum` nor the Python `blake3` module is installed")
    ver = getattr(sys.modules["blake3"], "__version__", "?")
    return Tool("b3sum", argv, f"fallback: PyPI blake3 {ver} via bench/b3hash.py (no b3sum binary)")


def find_dvc(override: str | None, venv: Path, log) -> Tool:
    """DVC from ``--dvc``, else from ``venv`` — created and ``pip install dvc``-ed on first use."""
    if override:
        argv = shlex.split(override)
    else:
        exe = venv / "bin" / "dvc"
        error = _venv_install(venv, "dvc", ["dvc"], log, "pip install dvc; takes a minute or two")
        if error:
            return Tool("dvc", [str(exe)], error=f"DVC install failed: {error}")
        argv = [str(exe)]
    version, error = _version(argv + ["--version"], base_env())
    return Tool("dvc", argv, f"dvc {version}" if version else "", error and f"dvc --version failed: {error}")
