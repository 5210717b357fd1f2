"""artctl as users get it: the built wheel in a fresh venv, not the editable checkout (issue 17).

The wheel is built from this checkout with ``pip wheel`` (build isolation, as a user's pip
does) and installed into fresh venvs: one without extras (the light install: no cloud SDK, a
cloud URL names the extra to install) and one with ``[s3]``. Each is made once per session
and shared by xdist workers through a lock. Base dependencies come from PyPI (pip's cache
makes it quick). Select these tests alone with ``-m wheel``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPO_ROOT, make_tree
from servers import StorageServer

pytestmark = pytest.mark.wheel

#: What a wheel is built from (the rest of the checkout — tests, docs, .git — is not needed).
SOURCES = ("pyproject.toml", "README.md", "artctl", "man", "completions")

#: Where the wheel puts the shell completions (relative to the environment's prefix).
COMPLETIONS = {
    "share/bash-completion/completions/artctl": "completions/artctl.bash",
    "share/zsh/site-functions/_artctl": "completions/_artctl",
    "share/fish/vendor_completions.d/artctl.fish": "completions/artctl.fish",
}


@dataclass(frozen=True)
class Venv:
    """A fresh virtual environment with artctl installed from the wheel."""

    root: Path

    @property
    def artctl(self) -> Path:
        return self.root / "bin" / "artctl"

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """A user's environment: this venv first on PATH, nothing pointing at the checkout."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "ARTCTL_DIR", "ARTCTL_RUN", "ARTCTL_DEBUG", "MANPATH")
        }
        env["PATH"] = f"{self.root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["COLUMNS"] = "200"
        env.update(extra or {})
        return env

    def run(
        self, *args: str, cwd: Path, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.artctl), *args], cwd=cwd, env=self.env(env), capture_output=True, text=True, timeout=120
        )

    def ok(
        self, *args: str, cwd: Path, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        proc = self.run(*args, cwd=cwd, env=env)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc


def _shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's directory that every xdist worker sees (the per-worker one's parent)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _once(root: Path, name: str, make: Callable[[Path], None]) -> Path:
    """``root/name``, made by ``make`` by the first worker to get here; the others wait for it."""
    target = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / f"{name}.done").exists():
            shutil.rmtree(target, ignore_errors=True)
            make(target)
            (root / f"{name}.done").touch()
    return target


def _pip(*args: str, python: str = sys.executable) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([python, "-m", "pip", *args], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (args, proc.stdout[-3000:], proc.stderr[-3000:])


def _build_wheel(out: Path) -> None:
    """``pip wheel`` of a copy of the sources, so the build leaves no debris in the checkout."""
    src = out / "src"
    src.mkdir(parents=True)
    for name in SOURCES:
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(
                path, src / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy2(path, src / name)
    _pip("wheel", "--no-deps", "-q", "-w", str(out / "dist"), str(src))


def _make_venv(wheel: Path, extras: str) -> Callable[[Path], None]:
    def make(target: Path) -> None:
        subprocess.run([sys.executable, "-m", "venv", str(target)], check=True, timeout=120)
        _pip("install", "-q", f"{wheel}{extras}", python=str(target / "bin" / "python"))

    return make


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = _once(_shared_dir(tmp_path_factory), "wheel", _build_wheel)
    (path,) = (built / "dist").glob("artctl-*.whl")
    return path


@pytest.fixture(scope="session")
def light_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """``pip install artctl`` with no extra: no cloud SDK."""
    return Venv(_once(_shared_dir(tmp_path_factory), "venv-light", _make_venv(wheel, "")))


@pytest.fixture(scope="session")
def s3_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """``pip install 'artctl[s3]'``."""
    return Venv(_once(_shared_dir(tmp_path_factory), "venv-s3", _make_venv(wheel, "[s3]")))


# -- the wheel's contents ------------------------------------------------------------------------
def test_wheel_holds_the_man_pages_and_completion_scripts(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        data = {name.split(".data/data/", 1)[1]: name for name in archive.namelist() if ".data/data/" in name}
        pages = sorted(p.name for p in (REPO_ROOT / "man").glob("*.1"))
        assert "artctl.1" in pages
        assert sorted(k.rsplit("/", 1)[1] for k in data if k.startswith("share/man/man1/")) == pages
        for installed, source in COMPLETIONS.items():
            assert installed in data, installed
            assert archive.read(data[installed]) == (REPO_ROOT / source).read_bytes(), installed
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        requires = [
            line for line in archive.read(metadata).decode().splitlines() if line.startswith("Requires-Dist:")
        ]
    base = [line for line in requires if "extra ==" not in line]
    assert not any(sdk in line for line in base for sdk in ("s3fs", "gcsfs", "adlfs")), base
    for extra, sdk in (("s3", "s3fs"), ("gcs", "gcsfs"), ("azure", "adlfs")):
        assert any(sdk in line and f'extra == "{extra}"' in line for line in requires), (extra, requires)


# -- the light install ---------------------------------------------------------------------------
def test_installed_wheel_smoke(light_venv: Venv, tmp_path: Path) -> None:
    from artctl import __version__

    assert light_venv.ok("--version", cwd=tmp_path).stdout == f"artctl {__version__}\n"
    where = subprocess.run(
        [
            str(light_venv.root / "bin" / "python"),
            "-c",
            "import artctl, importlib.util as u; print(artctl.__file__); "
            "print([m for m in ('s3fs', 'gcsfs', 'adlfs') if u.find_spec(m)])",
        ],
        cwd=tmp_path,
        env=light_venv.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    module, sdks = where.stdout.splitlines()
    assert module.startswith(str(light_venv.root)) and sdks == "[]", where

    make_tree(tmp_path / "data", {"a.txt": "alpha\n", "sub/b.bin": b"\x00\x01beta"})
    repo = tmp_path / "repo"
    repo.mkdir()
    light_venv.ok("init", cwd=repo)
    light_venv.ok(
        "artifact", "put", str(tmp_path / "data"), "--name", "proj/d", "--type", "dataset", cwd=repo
    )
    light_venv.ok("artifact", "get", "proj/d:latest", "--root", str(tmp_path / "out"), cwd=repo)
    assert (tmp_path / "out" / "a.txt").read_text() == "alpha\n"
    assert (tmp_path / "out" / "sub" / "b.bin").read_bytes() == b"\x00\x01beta"
    light_venv.ok("artifact", "verify", "proj/d:latest", cwd=repo)

    # man finds the installed pages from PATH alone, and they render.
    env = light_venv.env({"MANPAGER": "cat", "MANWIDTH": "80"})
    found = subprocess.run(
        ["man", "-w", "artctl-artifact-put"], env=env, capture_output=True, text=True, timeout=60
    )
    page = Path(found.stdout.strip())
    assert found.returncode == 0 and page == light_venv.root / "share/man/man1/artctl-artifact-put.1", found
    shown = subprocess.run(["man", "-l", str(page)], env=env, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and "artctl artifact put" in shown.stdout and ".TH" not in shown.stdout, (
        shown
    )
    for installed, source in COMPLETIONS.items():
        assert (light_venv.root / installed).read_bytes() == (REPO_ROOT / source).read_bytes(), installed


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (("remote", "add", "x", "s3://bucket/p"), "s3"),
        (("clone", "s3://bucket/p", "copy"), "s3"),
        (("artifact", "put", "s3://bucket/p/", "--name", "proj/r", "--type", "dataset"), "s3"),
        (("remote", "add", "x", "gs://bucket/p"), "gcs"),
        (("artifact", "put", "az://container/p/", "--name", "proj/r", "--type", "dataset"), "azure"),
    ],
    ids=["remote-add-s3", "clone-s3", "reference-put-s3", "remote-add-gs", "reference-put-az"],
)
def test_cloud_url_without_its_extra_names_the_install_command(
    light_venv: Venv, tmp_path: Path, args: tuple[str, ...], extra: str
) -> None:
    light_venv.ok("init", cwd=tmp_path)
    proc = light_venv.run(*args, cwd=tmp_path)
    assert proc.returncode == 1, proc
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert f"pip install 'artctl[{extra}]'" in lines[0], lines
    assert not (tmp_path / "copy").exists()
    assert "remote.x" not in light_venv.ok("config", "--list", cwd=tmp_path).stdout


# -- with the [s3] extra ---------------------------------------------------------------------------
def test_s3_extra_makes_s3_remotes_work(
    s3_venv: Venv, s3_server: StorageServer, s3_bucket: str, tmp_path: Path
) -> None:
    make_tree(tmp_path / "data", {"a.txt": "over s3\n"})
    repo = tmp_path / "repo"
    repo.mkdir()
    env = dict(s3_server.env)
    s3_venv.ok("init", cwd=repo)
    s3_venv.ok("artifact", "put", str(tmp_path / "data"), "--name", "proj/d", "--type", "dataset", cwd=repo)
    s3_venv.ok("remote", "add", "origin", f"{s3_bucket}/repo", "--default", cwd=repo)
    s3_venv.ok("push", cwd=repo, env=env)
    s3_venv.ok("clone", f"{s3_bucket}/repo", str(tmp_path / "copy"), cwd=tmp_path, env=env)
    s3_venv.ok(
        "artifact", "get", "proj/d:latest", "--root", str(tmp_path / "out"), cwd=tmp_path / "copy", env=env
    )
    assert (tmp_path / "out" / "a.txt").read_text() == "over s3\n"
    missing = s3_venv.run("remote", "add", "g", "gs://bucket/p", cwd=repo)
    assert missing.returncode == 1 and "pip install 'artctl[gcs]'" in missing.stderr, missing
