"""What is timed for each tool, and the loop that times it.

A step that fails records its stderr and marks its row failed; steps that need it are
skipped for that repetition, and everything else carries on.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datagen import Dataset, change_one_file, check_tree, restore_changed
from measure import Run, flush_writeback, run_quiet, run_timed, warm
from results import Results, label
from tools import Tool
from workspace import Trash

NAME = "bench/ds"
REF = f"{NAME}:latest"

# (error, note): a non-empty error invalidates the run, a note is only reported.
Verdict = tuple[str, str]


@dataclass
class Step:
    """One timed command with its untimed preparation and validation."""

    tool: str
    key: str
    argv: list[str]
    cwd: Path
    warm: list[Path] = field(default_factory=list)
    needs: tuple[str, ...] = ()
    prepare: Callable[[], None] | None = None
    finish: Callable[[], None] | None = None  # always runs after the command (e.g. undo a change)
    check: Callable[[Path], Verdict] | None = None  # given the stdout file
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Context:
    """Everything the steps need that does not change between repetitions."""

    tools: dict[str, Tool]
    enabled: set[str]
    env: dict[str, str]
    trash: Trash
    results: Results
    timeout: float
    log: Callable[[str], None]
    settle: float = 600.0
    wait_idle: float = 0.0
    seen_errors: set[str] = field(default_factory=set)
    #: The S3 server of the remote-read rows (``remote_read.S3Server``), started on first use.
    s3: Any = None


def installation(tool: Tool | None) -> list[Path]:
    """What a tool's process reads to start (warmed with the step's inputs, after the page cache
    was dropped): for a Python tool its virtualenv, the standard library, the interpreter and
    every shared library they load; for a binary, itself and its shared libraries."""
    if tool is None or not tool.argv:
        return []
    return list(_installation(tool.argv[0]))


@functools.cache
def _installation(command: str) -> tuple[Path, ...]:
    exe = Path(shutil.which(command) or command).resolve()
    venv = Path(command).parent.parent
    if not (venv / "pyvenv.cfg").is_file():
        return (exe, *_shared_libraries([exe]))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    skip = {"site-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip"}
    trees = [venv, *(p for p in stdlib.iterdir() if p.name not in skip)]
    python = (venv / "bin" / "python").resolve()
    extensions = [p for tree in (venv, stdlib / "lib-dynload") for p in tree.rglob("*.so*") if p.is_file()]
    return (*trees, python, *_shared_libraries([python, *extensions]))


def _shared_libraries(binaries: list[Path]) -> list[Path]:
    """The shared libraries ``ldd`` says these load (once per tool: a few hundred ms)."""
    found: set[Path] = set()
    for binary in binaries:
        try:
            out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        for line in out.splitlines():
            path = line.split("=>")[-1].strip().split(" (")[0].strip()
            if path.startswith("/") and os.path.isfile(path):
                found.add(Path(path).resolve())
    return sorted(found)


def run_steps(ctx: Context, dataset: str, steps: list[Step], logs: Path) -> None:
    """Time each step once, in order, honouring dependencies within this repetition."""
    failed: set[str] = set()
    for step in steps:
        row = ctx.results.row(dataset, step.tool, step.key)
        tag = f"[{dataset}] {label(step.tool, step.key)}"
        missing = [n for n in step.needs if n in failed]
        tool = ctx.tools.get(step.tool)
        if missing:
            row.skipped.append(f"skipped: needs {', '.join(missing)}")
            failed.add(step.key)
            ctx.log(f"{tag}: skipped (needs {', '.join(missing)})")
            continue
        try:
            if step.prepare:
                step.prepare()
        except Exception as exc:  # a broken setup must not end the whole benchmark
            row.skipped.append(f"setup failed: {exc}")
            failed.add(step.key)
            ctx.log(f"{tag}: setup failed: {exc}")
            continue
        try:
            flush_writeback()
            warm(step.warm + installation(tool))
            run = run_timed(
                step.argv,
                step.cwd,
                {**ctx.env, **(tool.env if tool else {}), **step.env},
                logs / f"{step.tool}-{step.key}.out",
                ctx.timeout,
            )
        finally:
            if step.finish:
                step.finish()
        if run.ok and step.check:
            error, note = step.check(logs / f"{step.tool}-{step.key}.out")
            run.error = error
            if note and note not in row.notes:
                row.notes.append(note)
        row.runs.append(run)
        _report(ctx, tag, run)
        if not run.ok:
            failed.add(step.key)


def _report(ctx: Context, tag: str, run: Run) -> None:
    if run.ok:
        ctx.log(f"{tag}: {run.seconds:.3f} s, peak RSS {run.maxrss_bytes / 1e6:.0f} MB, load {run.load1:.1f}")
        return
    ctx.log(f"{tag}: FAILED ({run.describe_failure()})")
    tail = run.stderr_tail.strip()
    if tail and tail not in ctx.seen_errors:  # print each distinct stderr once
        ctx.seen_errors.add(tail)
        ctx.log("    " + "\n    ".join(tail.splitlines()[-15:]))


# --- peers: cp -r, b3sum --------------------------------------------------------------------


def _b3sum_tree_argv(b3: Tool) -> list[str]:
    """b3sum over every file; find|xargs keeps argv short even for a million files."""
    if b3.argv[0].endswith("b3sum"):
        return ["sh", "-c", f"find . -type f -print0 | xargs -0 -r {shlex.join(b3.argv)} >/dev/null"]
    return b3.argv + ["."]


def peer_steps(ctx: Context, ds: Dataset, rep_dir: Path) -> list[Step]:
    """Copying and hashing the same files: the floor any versioning tool is measured against."""
    steps: list[Step] = []
    if "cp" in ctx.enabled:
        steps.append(
            Step("cp", "copy", ["cp", "-r", str(ds.root), str(rep_dir / "cp")], rep_dir, warm=[ds.root])
        )
    if "b3sum" in ctx.enabled and not ctx.tools["b3sum"].error:
        b3 = ctx.tools["b3sum"]
        changed = ds.root / ds.spec.changed_relpath()
        one = f'{shlex.join(b3.argv)} "$1" >/dev/null && cp "$1" "$2"'
        steps += [
            Step("b3sum", "hash", _b3sum_tree_argv(b3), ds.root, warm=[ds.root]),
            Step(
                "b3sum",
                "onefile",
                ["sh", "-c", one, "sh", str(changed), str(rep_dir / "onefile.bin")],
                rep_dir,
                warm=[changed],
            ),
        ]
    return steps


# --- artctl ------------------------------------------------------------------------------------


def _put_check(ds: Dataset, expect_created: bool | None) -> Callable[[Path], Verdict]:
    """Read put's --json: a wrong file count invalidates the run, odd 'created' is a note."""

    def check(stdout: Path) -> Verdict:
        try:
            doc = json.loads(stdout.read_text() or "null")
        except (ValueError, OSError):
            return "", "put --json printed no JSON document on stdout"
        if not isinstance(doc, dict):
            return "", "put --json printed no JSON object"
        files = doc.get("files")
        if files is not None and files != ds.spec.files:
            return f"put reported files={files}, expected {ds.spec.files}", ""
        if expect_created is not None and doc.get("created") is not expect_created:
            return "", f"put reported created={doc.get('created')}, expected {expect_created}"
        return "", ""

    return check


def _tree_check(ds: Dataset, root: Path) -> Callable[[Path], Verdict]:
    return lambda _stdout: (check_tree(ds.spec, root), "")


def artctl_steps(ctx: Context, ds: Dataset, rep_dir: Path, rep: int) -> list[Step]:
    """init, put (first / unchanged / 1 changed), get (copy / auto), push, clone + get."""
    a = ctx.tools["artctl"].argv
    base = rep_dir / "art"
    repo, remote, clone = base / "repo", base / "remote", base / "clone"
    store = repo / ".artifacts"
    put = a + ["artifact", "put", str(ds.root), "--name", NAME, "--type", "dataset", "--json"]
    changed = ds.root / ds.spec.changed_relpath()
    env = {"XDG_CACHE_HOME": str(base / "xdg-cache")}  # no per-user cache shared across reps

    def get(
        root: Path, mode: str, cwd: Path, warm_paths: list[Path], needs: tuple[str, ...], key: str
    ) -> Step:
        return Step(
            "artctl",
            key,
            a + ["artifact", "get", REF, "--root", str(root), "--link", mode],
            cwd,
            warm=warm_paths,
            needs=needs,
            check=_tree_check(ds, root),
            env=env,
        )

    return [
        Step("artctl", "init", a + ["init"], repo, prepare=lambda: repo.mkdir(parents=True), env=env),
        Step(
            "artctl",
            "put_first",
            put,
            repo,
            warm=[ds.root, store],
            needs=("init",),
            check=_put_check(ds, True),
            env=env,
        ),
        Step("artctl", "ls", a + ["artifact", "ls"], repo, warm=[store], needs=("put_first",), env=env),
        Step(
            "artctl",
            "put_unchanged",
            put,
            repo,
            warm=[ds.root, store],
            needs=("put_first",),
            check=_put_check(ds, False),
            env=env,
        ),
        Step(
            "artctl",
            "put_changed",
            put,
            repo,
            warm=[ds.root, store],
            needs=("put_first",),
            prepare=lambda: change_one_file(changed, f"artctl-{rep}", ds.journal),
            finish=lambda: restore_changed(ds),
            check=_put_check(ds, True),
            env=env,
        ),
        get(base / "get-copy", "copy", repo, [store], ("put_first",), "get_copy"),
        get(base / "get-auto", "auto", repo, [store], ("put_first",), "get_auto"),
        Step(
            "artctl",
            "remote_add",
            a + ["remote", "add", "origin", remote.as_uri(), "--default"],
            repo,
            warm=[store],
            needs=("init",),
            prepare=lambda: remote.mkdir(parents=True),
            env=env,
        ),
        Step("artctl", "push", a + ["push"], repo, warm=[store], needs=("put_first", "remote_add"), env=env),
        Step(
            "artctl",
            "clone",
            a + ["clone", remote.as_uri(), str(clone)],
            base,
            warm=[remote],
            needs=("push",),
            env=env,
        ),
        get(base / "clone-get", "copy", clone, [remote, clone], ("clone",), "clone_get"),
    ]


def artctl_million_steps(ctx: Context, ds: Dataset, rep_dir: Path, rep: int) -> list[Step]:
    """The memory dataset: put, re-put, show, diff and a partial get of 10^6 files."""
    a = ctx.tools["artctl"].argv
    base = rep_dir / "art"
    repo = base / "repo"
    store = repo / ".artifacts"
    put = a + ["artifact", "put", str(ds.root), "--name", NAME, "--type", "dataset", "--json"]
    changed = ds.root / ds.spec.changed_relpath()
    first_dir = ds.spec.relpath(0).partition("/")[0] + "/"
    env = {"XDG_CACHE_HOME": str(base / "xdg-cache")}
    return [
        Step("artctl", "init", a + ["init"], repo, prepare=lambda: repo.mkdir(parents=True), env=env),
        Step(
            "artctl",
            "put_first",
            put,
            repo,
            warm=[ds.root],
            needs=("init",),
            check=_put_check(ds, True),
            env=env,
        ),
        Step(
            "artctl",
            "put_unchanged",
            put,
            repo,
            warm=[ds.root, store],
            needs=("put_first",),
            check=_put_check(ds, False),
            env=env,
        ),
        Step(
            "artctl",
            "put_changed",
            put,
            repo,
            warm=[ds.root, store],
            needs=("put_first",),
            prepare=lambda: change_one_file(changed, f"artctl-{rep}", ds.journal),
            finish=lambda: restore_changed(ds),
            check=_put_check(ds, True),
            env=env,
        ),
        Step(
            "artctl",
            "show",
            a + ["artifact", "show", REF, "--json"],
            repo,
            warm=[store],
            needs=("put_first",),
            env=env,
        ),
        Step(
            "artctl",
            "diff",
            a + ["artifact", "diff", f"{NAME}:v0", REF],
            repo,
            warm=[store],
            needs=("put_changed",),
            env=env,
        ),
        Step(
            "artctl",
            "get_prefix",
            a
            + [
                "artifact",
                "get",
                REF,
                "--root",
                str(base / "get-prefix"),
                "--path-prefix",
                first_dir,
                "--link",
                "copy",
            ],
            repo,
            warm=[store],
            needs=("put_first",),
            env=env,
        ),
    ]


# --- DVC ---------------------------------------------------------------------------------------


def dvc_steps(ctx: Context, ds: Dataset, rep_dir: Path, rep: int) -> list[Step]:
    """dvc add (first / unchanged / 1 changed), checkout, push, pull, on a copy of the data.

    DVC tracks files inside its workspace, so it works on a copy (the cp -r output when that
    ran); ``--no-scm`` spares it git's overhead, which only makes DVC faster.
    """
    d = ctx.tools["dvc"].argv
    base = rep_dir / "dvc"
    ws, cache, remote = base / "ds", base / ".dvc" / "cache", rep_dir / "dvc-remote"
    dvc_dir = base / ".dvc"  # cache, state and config: what artctl's .artifacts is to artctl
    env = {"DVC_SITE_CACHE_DIR": str(rep_dir / "dvc-site"), "XDG_CACHE_HOME": str(rep_dir / "dvc-xdg")}
    full_env = {**ctx.env, **env}
    bin_name = ds.spec.name

    def setup() -> None:
        base.mkdir(parents=True, exist_ok=True)
        if (rep_dir / "cp").is_dir():
            os.rename(rep_dir / "cp", ws)
        else:
            run_quiet(["cp", "-r", str(ds.root), str(ws)], base, full_env)
        for argv in (
            ["init", "--no-scm", "-q"],
            ["config", "core.analytics", "false"],
            ["config", "core.check_update", "false"],
            ["config", "cache.type", "copy"],
            ["remote", "add", "-d", "origin", str(remote)],
        ):
            run_quiet(d + argv, base, full_env)

    def empty_workspace() -> None:
        ctx.trash.move(ws, bin_name)

    def empty_cache() -> None:
        ctx.trash.move(cache, bin_name)
        ctx.trash.move(ws, bin_name)

    add = d + ["add", "ds"]
    return [
        Step("dvc", "add_first", add, base, warm=[ws, dvc_dir], prepare=setup, env=env),
        Step("dvc", "add_unchanged", add, base, warm=[ws, dvc_dir], needs=("add_first",), env=env),
        Step(
            "dvc",
            "add_changed",
            add,
            base,
            warm=[ws, dvc_dir],
            needs=("add_first",),
            env=env,
            prepare=lambda: change_one_file(ws / ds.spec.changed_relpath(), f"dvc-{rep}"),
        ),
        Step(
            "dvc",
            "checkout",
            d + ["checkout"],
            base,
            warm=[dvc_dir],
            needs=("add_first",),
            env=env,
            prepare=empty_workspace,
            check=_tree_check(ds, ws),
        ),
        Step("dvc", "push", d + ["push"], base, warm=[dvc_dir], needs=("add_first",), env=env),
        Step(
            "dvc",
            "pull",
            d + ["pull"],
            base,
            warm=[remote, dvc_dir],
            needs=("push",),
            env=env,
            prepare=empty_cache,
            check=_tree_check(ds, ws),
        ),
    ]


# --- startup -----------------------------------------------------------------------------------


def startup_steps(ctx: Context, scratch: Path) -> list[Step]:
    """Bare interpreter, ``artctl --version`` and ``dvc --version``, each from a cold process."""
    steps = [Step("python", "startup", [sys.executable, "-c", "pass"], scratch)]
    if "artctl" in ctx.enabled:
        steps.append(Step("artctl", "version", ctx.tools["artctl"].argv + ["--version"], scratch))
    if "dvc" in ctx.enabled and not ctx.tools["dvc"].error:
        steps.append(Step("dvc", "version", ctx.tools["dvc"].argv + ["--version"], scratch))
    return steps
