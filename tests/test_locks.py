"""artctl/base/locks.py owns every lock: names, files, modes and THE LOCK ORDER, checked in
every process; and the parts of the repository that only need a lock get a lock, not the
whole repository (no import circle registry ↔ repo ↔ runs)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from artctl.base import locks
from artctl.base.locks import LockOrderError
from artctl.errors import LockTimeout

from conftest import REPO_ROOT


def test_locks_taken_in_order_nest(tmp_path: Path) -> None:
    d = tmp_path / "locks"
    with (
        locks.shared_use(d),
        locks.writing(d),
        locks.named(d, "draft-0123456789ab"),
        locks.named(d, "artifact-p/x"),
        locks.named(d, "artifact-p/y"),  # one kind twice: in name order (a rename's two names)
        locks.named(d, "lineage"),
        locks.named(d, "run-abc"),
    ):
        with locks.writing(d):  # re-entering the gc guard waits for nothing: allowed anywhere
            pass
    assert sorted(p.name for p in d.iterdir()) == sorted(
        ["cache.lock", "gc-gate.lock", "gc.lock", "draft-0123456789ab.lock", "artifact-p__x.lock"]
        + ["artifact-p__y.lock", "lineage.lock", "run-abc.lock"]
    )


@pytest.mark.parametrize(
    ("outer", "inner"),
    [
        ("artifact-p/x", "draft-0123456789ab"),  # an artifact's lock, then a draft's
        ("run-abc", "artifact-p/x"),  # a run's lock, then an artifact's
        ("artifact-p/y", "artifact-p/x"),  # two artifacts against name order (a rename goes p/x, p/y)
        ("run-abc", "lineage"),
    ],
)
def test_a_lock_out_of_order_is_refused_before_waiting(tmp_path: Path, outer: str, inner: str) -> None:
    d = tmp_path / "locks"
    with locks.named(d, outer), pytest.raises(LockOrderError, match="lock order violated"):
        with locks.named(d, inner):
            pass
    with locks.named(d, inner):  # nothing is left held by the refused attempt
        pass


def test_the_cache_lock_is_never_taken_inside_the_gc_guard(tmp_path: Path) -> None:
    d = tmp_path / "locks"
    with locks.writing(d), pytest.raises(LockOrderError):
        with locks.shared_use(d):
            pass
    with locks.named(d, "artifact-p/x"), pytest.raises(LockOrderError):
        with locks.gc_exclusive(d, timeout=1):
            pass


def test_every_lock_has_a_place_in_the_order(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown lock"):
        with locks.named(tmp_path, "mystery"):
            pass


def test_repository_lock_delegates_with_its_signature(repo) -> None:  # type: ignore[no-untyped-def]
    repository = repo.repository
    with repository.lock("artifact-@team/p/x"):
        assert (repository.locks_dir / "artifact-_at_team__p__x.lock").exists()
        with pytest.raises(LockOrderError):
            with repository.lock("draft-0123456789ab"):
                pass


def test_the_order_is_checked_in_a_real_command(cli, repo_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """put → run link → draft commit → gc: a whole command sequence never trips the check."""
    data = tmp_path / "d"
    data.mkdir()
    (data / "a.txt").write_text("a\n")
    run = cli.ok("run", "start", "--job-type", "t").stdout.strip().split()[0]
    cli.ok("artifact", "put", str(data), "--name", "p/x", "--type", "d", "--run", run)
    draft = cli.ok("draft", "new", "p/x").stdout.strip().split()[-1]
    cli.ok("draft", "add", draft, str(data / "a.txt"), "--name", "b.txt")
    cli.ok("draft", "commit", draft)
    cli.ok("gc", "--grace-period", "0")


def _imports(path: Path) -> set[str]:
    """Every ``artctl`` module ``path`` imports, at any level (TYPE_CHECKING blocks too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("artctl"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("artctl"))
    return found


def test_registry_runs_and_journal_do_not_need_the_repository() -> None:
    for name in ("registry", "runs", "journal"):
        imported = _imports(REPO_ROOT / "artctl" / "repository" / f"{name}.py")
        assert "artctl.repository.repo" not in imported, name
    assert "artctl.repository.registry" not in _imports(REPO_ROOT / "artctl" / "repository" / "runs.py")


def test_no_module_but_locks_uses_flock() -> None:
    users = [
        p.relative_to(REPO_ROOT).as_posix()
        for p in (REPO_ROOT / "artctl").rglob("*.py")
        if "flock(" in p.read_text() or "LOCK_EX" in p.read_text()
    ]
    assert users == ["artctl/base/locks.py"]


def test_a_lock_dies_with_its_process(tmp_path: Path) -> None:
    d = tmp_path / "locks"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from artctl.base import locks\n"
            "with locks.named(Path(sys.argv[1]), 'artifact-p/x'):\n"
            "    print('held', flush=True); time.sleep(60)",
            str(d),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockTimeout):
            with locks.named(d, "artifact-p/x", timeout=0.2):
                pass
    finally:
        holder.kill()
        holder.wait()
    with locks.named(d, "artifact-p/x", timeout=5):
        pass
