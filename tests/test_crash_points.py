"""Kill put, draft add/commit, finish and gc at every named crash point; nothing committed is lost.

For each operation a template repository is built once (committed versions with packed small
files and loose large ones, plus the draft, distributed parts or garbage the operation needs).
Every case copies it, kills the operation with ``ARTCTL_CRASH_AT`` (``run_killed_at`` asserts
the SIGKILL landed at that point), then checks: ``verify`` passes, every version committed
before is byte-identical, the re-run of the same command succeeds with the right result, and
no debris is left (``tmp/`` empty, no half pack, no lock held, nothing for gc to collect).

Which points each operation must pass is not written here: ``crash_trace`` records the points a
successful run reaches, and the set reached must equal the declared points of the prefixes the
operation owns, so a point added to the code without a case here fails the test.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from artctl.base import crashpoints

from conftest import crash_trace, make_tree, run_cli, run_killed_at

#: A SIGKILLed process leaves what it wrote to the kernel, fsynced or not (docs/format.md): the
#: write order is the same either way, and without fsync the matrix runs several times faster.
FAST = {"ARTCTL_CORE_FSYNC": "0"}
NO_GRACE = {**FAST, "ARTCTL_GC_GRACE_PERIOD": "0"}
LARGE = 1024 * 1024 + 512  # just above the pack threshold: a loose object


def _bytes(seed: str, size: int) -> bytes:
    """Deterministic content (the same on every run), unique per seed."""
    block = (seed * (1 + 64 // max(1, len(seed)))).encode()[:64]
    return (block * (size // len(block) + 1))[:size]


def _ok(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = run_cli(*args, cwd=cwd, env={**FAST, **(env or {})})
    assert result.returncode == 0, result
    return result.stdout


@dataclass(frozen=True)
class Operation:
    """One write command under test: how to prepare for it and what it must leave."""

    args: tuple[str, ...]  # the command, run from the work directory
    prefixes: tuple[str, ...]  # crash points it is killed at (and must pass all of)
    setup: Callable[[Path], None]  # builds the template repository in a work directory
    check: Callable[[Path], None]  # after the successful re-run: the operation's own result
    env: dict[str, str] = field(default_factory=lambda: dict(FAST))


# -- the committed versions every operation starts from ------------------------------------------
def _base(work: Path) -> None:
    _ok("init", cwd=work)
    make_tree(
        work / "v0",
        {
            "a.txt": "alpha\n",
            "sub/b.txt": "beta\n",
            "old.txt": _bytes("old", 9000),
            "big0.bin": _bytes("big0", LARGE),
            "big1.bin": _bytes("big1", LARGE),
        },
    )
    _ok("artifact", "put", "v0", "--name", "p/ds", "--type", "dataset", "--alias", "best", cwd=work)
    make_tree(work / "v1", {"a.txt": "alpha\n", "sub/b.txt": "beta 2\n", "big1.bin": _bytes("big1", LARGE)})
    _ok("artifact", "put", "v1", "--name", "p/ds", "--type", "dataset", cwd=work)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _get(work: Path, ref: str) -> dict[str, bytes]:
    """A version's files, fetched with ``get`` into a fresh directory."""
    from artctl.api.repo import Repo

    root = work.parent / f"get-{time.monotonic_ns()}"
    with Repo(work) as repo:
        repo.get(ref, root=root, link="copy")
    try:
        return _tree(root)
    finally:
        shutil.rmtree(root)


def _live(work: Path) -> dict[str, dict[str, bytes]]:
    """Every live version (``name:vN``) with its files."""
    from artctl.api.repo import Repo
    from artctl.format.names import parse_name

    with Repo(work) as repo:  # closed here: the template is copied while the worker lives on
        refs = [
            f"{record.name}:{record.version}"
            for artifact in repo.registry.iter_artifacts()
            for record in repo.registry.versions(parse_name(artifact.name))
        ]
    return {ref: _get(work, ref) for ref in refs}


def _aliases(work: Path, name: str) -> dict[str, str]:
    from artctl.api.repo import Repo
    from artctl.format.names import parse_name

    with Repo(work) as repo:
        return repo.registry.aliases(parse_name(name))


# -- put ------------------------------------------------------------------------------------------
PUT_SOURCE = {
    "a.txt": "alpha\n",
    "c.txt": "gamma\n",
    "d/e.txt": _bytes("e", 3000),
    "big1.bin": _bytes("big1", LARGE),
    "big2.bin": _bytes("big2", LARGE),
    "big3.bin": _bytes("big3", LARGE),
}


def _put_setup(work: Path) -> None:
    _base(work)
    make_tree(work / "new", PUT_SOURCE)


def _put_check(work: Path) -> None:
    assert _get(work, "p/ds:v2") == {
        k: v.encode() if isinstance(v, str) else v for k, v in PUT_SOURCE.items()
    }
    assert _aliases(work, "p/ds") == {"best": "v2", "prod": "v2"}


# -- draft add / draft commit ----------------------------------------------------------------------
DRAFT_ID = "0123456789ab"


def _open_draft(work: Path) -> None:
    """A draft with a fixed id (ids are random; the command under test must name it)."""
    out = _ok("draft", "new", "p/ds:v1", cwd=work).strip().split()[-1]
    drafts = work / ".artifacts" / "drafts"
    text = (drafts / f"{out}.json").read_text().replace(out, DRAFT_ID)
    (drafts / f"{DRAFT_ID}.json").write_text(text)
    (drafts / f"{out}.json").unlink()


def _draft_add_setup(work: Path) -> None:
    _base(work)
    _open_draft(work)
    make_tree(work / "add", {"x.txt": "ex\n", "sub/b.txt": "beta 3\n", "bigx.bin": _bytes("bigx", LARGE)})


def _draft_add_check(work: Path) -> None:
    files = {
        f["path"]: f["status"] for f in json.loads(_ok("draft", "ls", DRAFT_ID, "--json", cwd=work))["files"]
    }
    assert files == {
        "a.txt": "base",
        "big1.bin": "base",
        "x.txt": "added",
        "sub/b.txt": "changed",
        "bigx.bin": "added",
    }, files


def _draft_commit_setup(work: Path) -> None:
    _base(work)
    _open_draft(work)
    make_tree(work / "add", {"x.txt": "ex\n", "bigx.bin": _bytes("bigx", LARGE)})
    _ok("draft", "add", DRAFT_ID, "add", "--name", "extra", cwd=work)
    _ok("draft", "rm", DRAFT_ID, "sub/b.txt", cwd=work)


def _draft_commit_check(work: Path) -> None:
    assert _get(work, "p/ds:v2") == {
        "a.txt": b"alpha\n",
        "big1.bin": _bytes("big1", LARGE),
        "extra/x.txt": b"ex\n",
        "extra/bigx.bin": _bytes("bigx", LARGE),
    }
    assert _aliases(work, "p/ds") == {"best": "v0", "cleaned": "v2"}
    assert not (work / ".artifacts" / "drafts" / f"{DRAFT_ID}.json").exists()


# -- distributed finish (with a last upsert) -------------------------------------------------------
DIST = ("--name", "p/dist", "--type", "dataset", "--distributed-id", "run-1")
PARTS = {
    "part-a": {"a/1.txt": "one\n", "a/big.bin": _bytes("dista", LARGE)},
    "part-b": {"b/2.txt": "two\n", "a/1.txt": "one\n"},
    "part-c": {"c/3.txt": "three\n", "c/big.bin": _bytes("distc", LARGE)},
}


def _finish_setup(work: Path) -> None:
    _base(work)
    for part, files in PARTS.items():
        make_tree(work / part, files)
    for part in ("part-a", "part-b"):
        _ok("artifact", "upsert", part, *DIST, cwd=work)


def _finish_check(work: Path) -> None:
    expected: dict[str, bytes] = {}
    for files in PARTS.values():
        expected.update({k: v.encode() if isinstance(v, str) else v for k, v in files.items()})
    assert _get(work, "p/dist:v0") == expected
    assert _aliases(work, "p/dist") == {"final": "v0"}
    area = work / ".artifacts" / "drafts" / "distributed" / "p" / "dist" / "run-1"
    assert (area / "finished.json").exists()
    assert sorted(os.listdir(area / "parts")) == []


# -- gc --------------------------------------------------------------------------------------------
def _gc_setup(work: Path) -> None:
    _base(work)
    # An expired version holding a custom alias: a packed blob and a loose one only it uses.
    make_tree(work / "short", {"t.txt": _bytes("t", 5000), "tbig.bin": _bytes("tbig", LARGE)})
    _ok(
        "artifact",
        "put",
        "short",
        "--name",
        "p/short",
        "--type",
        "dataset",
        "--ttl",
        "1s",
        "--alias",
        "keep",
        cwd=work,
    )
    # p/ds:v0 deleted: its manifest, big0.bin (loose) and old.txt (most of its pack) are dead.
    _ok("artifact", "rm", "p/ds:v0", "--delete-aliases", cwd=work)
    # An interrupted pack write (a .pack without .idx) and a stale temp file of another program.
    make_tree(work / "orphan", {"o.txt": "orphan\n"})
    run_killed_at(
        "store.pack-before-index",
        "artifact",
        "put",
        "orphan",
        "--name",
        "p/orphan",
        "--type",
        "dataset",
        cwd=work,
        env=FAST,
    )
    stale = work / ".artifacts" / "tmp" / "left-by-someone.tmp"
    stale.write_bytes(b"stale")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    time.sleep(1.1)  # p/short expires


def _gc_check(work: Path) -> None:
    from artctl.api.repo import Repo
    from artctl.format.names import parse_name
    from artctl.ops.gc import gc

    repo = Repo(work)
    assert sorted(_live(work)) == ["p/ds:v1"]
    assert not (work / ".artifacts" / "tmp" / "left-by-someone.tmp").exists()
    plan = gc(repo, dry_run=True, grace_period=0)
    assert (plan.manifests, plan.objects, plan.packs_deleted, plan.packs_repacked) == (0, 0, 0, 0), plan
    records = {
        f"{r.name}:{r.version}": r
        for name in ("p/ds", "p/short")
        for r in repo.registry.versions(parse_name(name), include_deleted=True)
    }
    assert records["p/ds:v0"].purged_at and records["p/short:v0"].purged_at
    assert _aliases(work, "p/short") == {}


# -- link (artctl.ops.links) ----------------------------------------------------------------------
def _link_setup(work: Path) -> None:
    _base(work)
    _ok("artifact", "update", "p/ds:v1", "--ttl", "30d", cwd=work)  # linking removes it


def _link_check(work: Path) -> None:
    from artctl.api.repo import Repo
    from artctl.format.names import parse_name

    repo = Repo(work)
    linked = repo.resolve("reg/ds:v0")
    assert linked.link == "p/ds:v1" and linked.manifest == repo.resolve("p/ds:v1").manifest
    assert [r.version for r in repo.registry.versions(parse_name("reg/ds"), include_deleted=True)] == ["v0"]
    assert _aliases(work, "reg/ds") == {"production": "v0"}
    assert repo.resolve("p/ds:v1").ttl_seconds is None


OPERATIONS: dict[str, Operation] = {
    "put": Operation(
        (
            "artifact",
            "put",
            "new",
            "--name",
            "p/ds",
            "--type",
            "dataset",
            "--alias",
            "best",
            "--alias",
            "prod",
        ),
        ("put.", "ingest.", "store.", "commit."),
        _put_setup,
        _put_check,
    ),
    "draft-add": Operation(
        ("draft", "add", DRAFT_ID, "add"), ("draft.add-",), _draft_add_setup, _draft_add_check
    ),
    "draft-commit": Operation(
        ("draft", "commit", DRAFT_ID, "--alias", "cleaned"),
        ("draft.commit-", "commit."),
        _draft_commit_setup,
        _draft_commit_check,
    ),
    "finish": Operation(
        ("artifact", "finish", "part-c", *DIST, "--alias", "final"),
        ("finish.", "upsert.", "commit."),
        _finish_setup,
        _finish_check,
    ),
    "gc": Operation(("gc",), ("gc.",), _gc_setup, _gc_check, NO_GRACE),
    "link": Operation(
        ("link", "p/ds:v1", "reg/ds", "--alias", "production"), ("link.",), _link_setup, _link_check
    ),
}
#: Points another suite kills at (push/pull run against servers: tests/test_transfer_crash*.py).
#: tests/test_crash_remotes.py, test_get_debris.py, test_user_cache.py
ELSEWHERE = ("push.", "pull.", "get.", "clone.", "usercache.")
#: Collection renames and deletions: tests/test_names_projects.py.
ELSEWHERE += ("rename.", "retire.", "delete-collection.")
#: A command on a remote's mirror: tests/test_repo_option.py.
ELSEWHERE += ("mirror.",)
#: The format-1 → 2 migration: tests/test_migration.py.
ELSEWHERE += ("migrate.",)
#: Garbage collection on a remote: tests/test_remote_gc.py.
ELSEWHERE += ("remote-gc.",)


def _declared(prefixes: tuple[str, ...]) -> set[str]:
    return {p for p in crashpoints.load_all() if p.startswith(prefixes)}


# -- templates: built once per operation, copied per case ----------------------------------------
_TEMPLATES: dict[str, tuple[Path, dict[str, dict[str, bytes]], Counter[str]]] = {}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """``template(op)`` → (work dir, live versions before, points a clean run passes)."""

    def build(op: str) -> tuple[Path, dict[str, dict[str, bytes]], Counter[str]]:
        if op not in _TEMPLATES:
            operation = OPERATIONS[op]
            work = tmp_path_factory.mktemp(f"template-{op}") / "work"
            work.mkdir()
            operation.setup(work)
            before = _live(work)
            probe = _copy(work, tmp_path_factory.mktemp(f"trace-{op}"))
            trace = crash_trace(
                *operation.args, cwd=probe, trace=probe.parent / "trace.txt", env=operation.env
            )
            operation.check(probe)
            _TEMPLATES[op] = (work, before, Counter(trace))
        return _TEMPLATES[op]

    return build


def _copy(work: Path, into: Path) -> Path:
    target = into / "work"
    shutil.copytree(work, target, symlinks=True)
    return target


def _cases() -> list[tuple[str, str]]:
    """(operation, point) for every declared point of every operation's prefixes."""
    return [
        (op, point) for op, operation in OPERATIONS.items() for point in sorted(_declared(operation.prefixes))
    ]


# -- checks ----------------------------------------------------------------------------------------
def _assert_consistent(work: Path, before: dict[str, dict[str, bytes]]) -> None:
    from artctl.api.repo import Repo

    with Repo(work) as repo:
        verify = repo.verify()
    assert verify.ok, verify.problems
    now = _live(work)
    for ref, files in before.items():
        assert now.get(ref) == files, f"{ref} changed"


def _assert_no_debris(work: Path) -> None:
    root = work / ".artifacts"
    assert os.listdir(root / "tmp") == [], "temp files left behind"
    packs = set(os.listdir(root / "packs"))
    halves = {
        n
        for n in packs
        if n.endswith((".pack", ".idx"))
        and not {n.rsplit(".", 1)[0] + ".pack", n.rsplit(".", 1)[0] + ".idx"} <= packs
    }
    assert halves == set(), "half-written packs left behind"
    for lock in os.listdir(root / "locks"):
        fd = os.open(root / "locks" / lock, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if some process still holds it
        finally:
            os.close(fd)
    from artctl.api.repo import Repo
    from artctl.ops.gc import gc

    with Repo(work) as repo:
        plan = gc(repo, dry_run=True, grace_period=0)
    assert (plan.manifests, plan.objects, plan.packs_deleted, plan.temp_files) == (0, 0, 0, 0), plan


@pytest.mark.parametrize("op", sorted(OPERATIONS))
def test_an_operation_passes_exactly_its_declared_points(template, op: str) -> None:
    """A point declared but never reached (or reached but not declared) fails here."""
    _, _, trace = template(op)
    prefixes = OPERATIONS[op].prefixes
    assert {p for p in trace if p.startswith(prefixes)} == _declared(prefixes)


def test_every_declared_point_belongs_to_an_operation_here() -> None:
    owned = tuple(p for operation in OPERATIONS.values() for p in operation.prefixes) + ELSEWHERE
    assert [p for p in crashpoints.load_all() if not p.startswith(owned)] == []


@pytest.mark.parametrize(("op", "point"), _cases())
def test_a_kill_at_any_point_loses_nothing_and_the_rerun_completes(
    template, tmp_path: Path, op: str, point: str
) -> None:
    work_template, before, trace = template(op)
    operation = OPERATIONS[op]
    assert trace[point], f"{op} never reaches {point}"
    hits = sorted({1, trace[point]})  # the first time and, for a repeated step, the last
    for nth in hits:
        work = _copy(work_template, tmp_path / f"at-{nth}")
        run_killed_at(f"{point}@{nth}", *operation.args, cwd=work, env=operation.env)
        _assert_consistent(work, before)
        rerun = run_cli(*operation.args, cwd=work, env=operation.env)
        assert rerun.returncode == 0, rerun
        _assert_consistent(work, before)
        operation.check(work)
        _assert_no_debris(work)


def test_gc_after_a_killed_repack_keeps_the_pack_it_rewrites_again(template, tmp_path: Path) -> None:
    """A repack killed between its new ``.pack`` and ``.idx`` leaves an interrupted pack. The next
    gc repacks the same blobs into the very same pack (pack ids are content-defined) and must
    not then delete it as the interrupted write it planned to remove: that lost live blobs once
    the leftover was older than an hour (and at once with a grace period of 0)."""
    work_template, before, _ = template("gc")
    work = _copy(work_template, tmp_path)
    run_killed_at("gc.repack-before-index", "gc", cwd=work, env=NO_GRACE)
    packs = work / ".artifacts" / "packs"
    assert [p for p in packs.glob("*.pack") if not p.with_suffix(".idx").exists()]
    for path in (work / ".artifacts").rglob("*"):  # that gc was killed yesterday
        os.utime(path, (time.time() - 7200, time.time() - 7200))
    assert run_cli("gc", cwd=work, env={**FAST, "ARTCTL_GC_GRACE_PERIOD": "1h"}).returncode == 0
    _assert_consistent(work, before)


def test_docs_list_every_crash_point() -> None:
    """docs/robustness.md's table and ``crashpoints.POINTS`` name the same points (those of every
    module that declares any, push/pull included), each with what a kill there leaves."""
    import re

    text = (Path(__file__).resolve().parent.parent / "docs" / "robustness.md").read_text()
    section = text.split("\n## Crash points\n", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([^`]+)` \| (.+?) \|$", section, re.MULTILINE))
    assert sorted(rows) == sorted(crashpoints.load_all())
    assert all(len(guarantee) > 20 for guarantee in rows.values())


def test_only_the_temp_files_of_processes_that_are_gone_are_removed(tmp_path: Path) -> None:
    """The sweep each writer runs: a dead process's staged file goes, a live one's stays (it is
    about to be renamed into place), and so do files of another host or of another program."""
    import subprocess
    import sys

    from artctl.base.fsutil import remove_dead_temps, temp_path_in

    from conftest import cli_env

    mine = temp_path_in(tmp_path)
    mine.write_bytes(b"in flight")
    code = (
        "import sys; from pathlib import Path; from artctl.base.fsutil import temp_path_in; "
        "p = temp_path_in(Path(sys.argv[1])); p.write_bytes(b'left'); print(p)"
    )
    child = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], env=cli_env(), capture_output=True, text=True, check=True
    )
    dead = Path(child.stdout.strip())
    pid = dead.name.split("-")[1]
    other_host = tmp_path / f".{'0' * 8}-{pid}-{'a' * 32}.tmp"
    foreign = tmp_path / "someone-else.tmp"
    for path in (other_host, foreign):
        path.write_bytes(b"not ours")
    assert dead.exists() and remove_dead_temps(tmp_path) == 1
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in (mine, other_host, foreign))


@pytest.mark.damages_repository
def test_the_teardown_verify_finds_a_damaged_repository(tmp_path: Path) -> None:
    """The check every test gets at teardown (conftest) can fail: a corrupt object is reported."""
    from conftest import repositories_under, verify_problems

    work = tmp_path / "work"
    work.mkdir()
    _ok("init", cwd=work)
    make_tree(work / "d", {"small.txt": "small\n", "big.bin": _bytes("big", LARGE)})
    _ok("artifact", "put", "d", "--name", "p/d", "--type", "dataset", cwd=work)
    assert repositories_under(tmp_path) == [work / ".artifacts"]
    assert verify_problems(work / ".artifacts") == []
    obj = next(p for p in (work / ".artifacts" / "objects").rglob("*") if p.is_file())
    obj.chmod(0o644)
    obj.write_bytes(b"rotten")
    assert [p for p in verify_problems(work / ".artifacts") if "problem=corrupt" in p]
