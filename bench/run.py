"""Benchmark artctl against cp -r, b3sum and DVC on the same data (issue 9).

    python bench/run.py [--quick] [--datasets A,B,C] [--repeat N] [--json out.json] [--workdir DIR]

See bench/README.md for what each row means and which benchmark traps are handled.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import datagen  # noqa: E402
from measure import rss_source  # noqa: E402
from registry_scale import DATASET as REGISTRY_DATASET  # noqa: E402
from registry_scale import count_requests, registry_scale_steps  # noqa: E402
from remote_read import S3Server, remote_read_steps  # noqa: E402
from report import evaluate, print_all  # noqa: E402
from results import Results  # noqa: E402
from suites import (
    Context,
    artctl_million_steps,
    artctl_steps,
    dvc_steps,
    peer_steps,
    run_steps,
    startup_steps,
)  # noqa: E402
from tools import Tool, base_env, find_artctl, find_b3sum, find_dvc  # noqa: E402
from workspace import Trash  # noqa: E402

ALL_TOOLS = ("artctl", "cp", "b3sum", "dvc")
FEW_FILES = 100  # datasets this small may delete their outputs right away: few inodes freed
DISK_MARGIN = 2 << 30
COPIES_PER_REP = 14  # cp, gets, stores, remotes, DVC cache/remote/workspaces: upper estimate


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="scaled-down datasets for a smoke run")
    p.add_argument(
        "--datasets",
        default="A,B,C",
        help="comma list of A,B,C and opt-in M (1M x 1 KB) and R (clone of a 200 x 50-version S3 remote)",
    )
    p.add_argument("--repeat", type=int, default=3, help="runs per measurement, median reported (M: 1)")
    p.add_argument("--json", dest="json_out", type=Path, help="write all results here")
    p.add_argument(
        "--workdir",
        type=Path,
        default=Path("/tmp/artctl-bench"),
        help="datasets, scratch, trash and the DVC venv (one filesystem)",
    )
    p.add_argument("--tools", default=",".join(ALL_TOOLS), help="subset of " + ",".join(ALL_TOOLS))
    p.add_argument(
        "--artctl",
        help="artctl command (default: this checkout installed into "
        "WORKDIR/venv-artctl, reinstalled on each run)",
    )
    p.add_argument("--dvc", help="dvc command (default: WORKDIR/venv-dvc/bin/dvc, created on demand)")
    p.add_argument("--dvc-venv", type=Path, help="virtualenv for DVC (default WORKDIR/venv-dvc)")
    p.add_argument("--timeout", type=float, default=3600, help="seconds before one command is killed")
    p.add_argument("--keep", action="store_true", help="keep the trash (old outputs) for inspection")
    p.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each repetition wait up to this long for the load average to drop "
        "below 1.5 x cores (default 0: only warn)",
    )
    p.add_argument(
        "--settle",
        type=float,
        default=600,
        help="wait at most this long for file creation to be fast again after mass "
        "deletes (default 600; 0 to skip the wait)",
    )
    args = p.parse_args(argv)
    args.datasets = [d.strip().upper() for d in args.datasets.split(",") if d.strip()]
    bad = [d for d in args.datasets if d not in datagen.FULL and d != REGISTRY_DATASET]
    if bad:
        p.error(f"unknown dataset(s) {bad}; choose from {sorted([*datagen.FULL, REGISTRY_DATASET])}")
    args.tools = {t.strip() for t in args.tools.split(",") if t.strip()}
    if args.tools - set(ALL_TOOLS):
        p.error(f"unknown tool(s) {sorted(args.tools - set(ALL_TOOLS))}")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    args.workdir = args.workdir.resolve()
    return args


def log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


def discover(args: argparse.Namespace) -> dict[str, Tool]:
    """Find each tool once; a tool that cannot run is reported, not fatal."""
    tools = {"artctl": find_artctl(args.artctl, args.workdir / "venv-artctl", log), "b3sum": find_b3sum()}
    if "dvc" in args.tools:
        tools["dvc"] = find_dvc(args.dvc, args.dvc_venv or args.workdir / "venv-dvc", log)
    else:
        tools["dvc"] = Tool("dvc", [], error="not selected (--tools)")
    for t in tools.values():
        if t.name in args.tools:
            state = f"ERROR: {t.error}" if t.error else t.version or "ok"
            log(f"{t.name}: {' '.join(t.argv)} -> {state}")
    log(f"peak RSS via {rss_source()}")
    if tools["artctl"].error:
        log("artctl is not runnable yet: its rows will report errors, peer rows still run")
    return tools


def ensure_space(ctx: Context, spec: datagen.Spec, workdir: Path) -> None:
    """Empty the trash early rather than fill the disk (costs a possible inode-reuse slowdown)."""
    need = COPIES_PER_REP * spec.total_bytes + DISK_MARGIN
    if datagen.disk_free(workdir) >= need:
        return
    free = datagen.disk_free(workdir)
    log(f"low disk space ({free / 1e9:.1f} GB free, want {need / 1e9:.1f}): emptying trash")
    ctx.trash.purge()
    if datagen.disk_free(workdir) < need:
        log("warning: still short of disk space; large rows may fail")


def wait_idle(limit: float) -> None:
    """Other work on the machine inflates every timing; say so, and optionally wait it out."""
    cores = os.cpu_count() or 1
    deadline = time.monotonic() + limit
    load = os.getloadavg()[0]
    if load <= 1.5 * cores:
        return
    log(
        f"warning: load average {load:.1f} on {cores} cores: something else is running, "
        "timings will be inflated"
    )
    while load > 1.5 * cores and time.monotonic() < deadline:
        time.sleep(10)
        load = os.getloadavg()[0]
    if limit:
        log(f"load average now {load:.1f}")


def run_dataset(ctx: Context, ds: datagen.Dataset, repeat: int, workdir: Path) -> None:
    """All repetitions of one dataset back to back, so its inputs stay hot and comparable."""
    name = ds.spec.name
    dvc_broken = "dvc" in ctx.enabled and ctx.tools["dvc"].error
    if dvc_broken and name != "M":
        ctx.results.row(name, "dvc", "add_first").skipped.append(ctx.tools["dvc"].error)
    for rep in range(1, repeat + 1):
        ensure_space(ctx, ds.spec, workdir)
        wait_idle(ctx.wait_idle)
        ctx.trash.wait_for_fast_creates(ctx.settle, log)
        rep_dir = workdir / "runs" / name / f"rep{rep}"
        ctx.trash.move(rep_dir, name)
        rep_dir.mkdir(parents=True)
        logs = rep_dir / "logs"
        log(f"--- dataset {name} ({ds.spec.note}), repetition {rep}/{repeat}")
        steps = peer_steps(ctx, ds, rep_dir)
        if "artctl" in ctx.enabled:
            build = artctl_million_steps if name == "M" else artctl_steps
            steps += build(ctx, ds, rep_dir, rep)
        run_steps(ctx, name, steps, logs)
        if "dvc" in ctx.enabled and not dvc_broken and name != "M":  # DVC on 10^6 files: hours
            run_steps(ctx, name, dvc_steps(ctx, ds, rep_dir, rep), logs)
        if name == "A":
            run_remote_read(ctx, ds, rep_dir, logs)
        ctx.trash.move(rep_dir, name)
        if ds.spec.files <= FEW_FILES:
            ctx.trash.purge(name)


def run_remote_read(ctx: Context, ds: datagen.Dataset, rep_dir: Path, logs: Path) -> None:
    """One 4 KB file of A read from S3 with no clone: artctl:// against dvc.api.read (issue 18)."""
    if ctx.s3 is None:
        return
    if not ctx.s3.start():
        for tool in ("artctl", "dvc"):
            if tool in ctx.enabled and ctx.s3.error not in ctx.results.row("A", tool, "s3_read").skipped:
                ctx.results.row("A", tool, "s3_read").skipped.append(ctx.s3.error)
        return
    run_steps(ctx, ds.spec.name, remote_read_steps(ctx, ds, rep_dir, ctx.s3), logs)


def run_registry_scale(ctx: Context, workdir: Path, repeat: int) -> None:
    """Dataset R: clone the metadata of a 200 x 50-version S3 remote (issue 16), then count
    the requests of one more clone."""
    if "artctl" not in ctx.enabled or ctx.tools["artctl"].error:
        return
    row = ctx.results.row(REGISTRY_DATASET, "artctl", "registry_clone")
    if not ctx.s3.start():
        row.skipped.append(ctx.s3.error)
        return
    rep_dir = workdir / "runs" / REGISTRY_DATASET
    ctx.trash.move(rep_dir, REGISTRY_DATASET)
    rep_dir.mkdir(parents=True)
    log(f"--- dataset {REGISTRY_DATASET} (200 x 50 versions on S3), {repeat} repetition(s)")
    steps = registry_scale_steps(ctx, rep_dir, repeat, ctx.s3)
    run_steps(ctx, REGISTRY_DATASET, steps, rep_dir / "logs")
    url = next((s.argv[-2] for s in steps if s.argv[-2] != "URL"), "")
    if url and row.ok_runs:
        row.notes.append(count_requests(ctx, rep_dir, ctx.s3, url))
    ctx.trash.move(rep_dir, REGISTRY_DATASET)


def run_startup(ctx: Context, workdir: Path, repeat: int) -> None:
    """Startup rows: one untimed call first so imports come from the page cache."""
    scratch = workdir / "runs" / "startup"
    scratch.mkdir(parents=True, exist_ok=True)
    steps = startup_steps(ctx, scratch)
    for step in steps:
        try:
            subprocess.run(
                step.argv,
                cwd=scratch,
                env={**ctx.env, **ctx.tools.get(step.tool, Tool("", [])).env},
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=ctx.timeout,
            )
        except (OSError, subprocess.TimeoutExpired):
            pass  # the timed runs below record the failure
    wait_idle(ctx.wait_idle)
    log("--- startup")
    for _ in range(repeat):
        run_steps(ctx, "-", steps, scratch / "logs")


def guarded(what: str, fn, *args) -> None:
    """A bug in one part of the harness must not lose the rows already measured."""
    try:
        fn(*args)
    except Exception:  # noqa: BLE001 - reported, and the run goes on
        log(f"harness error in {what}, going on:\n{traceback.format_exc()}")


def machine_info(workdir: Path) -> dict:
    """What a reader needs to compare runs across machines."""
    fs = ""
    try:
        fs = subprocess.run(
            ["stat", "-f", "-c", "%T", str(workdir)], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "filesystem": fs,
        "rss_source": rss_source(),
        "when": _dt.datetime.now().isoformat(timespec="seconds"),
    }


def write_json(
    path: Path,
    args: argparse.Namespace,
    tools: dict[str, Tool],
    datasets: dict[str, datagen.Dataset],
    results: Results,
    target_lines: list[dict],
    workdir: Path,
) -> None:
    """Everything measured, every run kept, so a later reader can recompute any ratio."""
    doc = {
        "machine": machine_info(workdir),
        "config": {
            "quick": args.quick,
            "repeat": args.repeat,
            "datasets": args.datasets,
            "tools": sorted(args.tools),
            "workdir": str(workdir),
        },
        "tools": {
            n: {"argv": t.argv, "version": t.version, "error": t.error or None} for n, t in tools.items()
        },
        "datasets": {
            n: {
                "files": d.spec.files,
                "file_size": d.spec.size,
                "bytes": d.spec.total_bytes,
                "note": d.spec.note,
                "path": str(d.root),
            }
            for n, d in datasets.items()
        },
        "rows": [r.to_json() for r in results.rows.values()],
        "targets": target_lines,
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
    log(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    """Generate or reuse the data, time every tool per dataset, then report and clean up."""
    args = parse_args(argv)
    workdir = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    trash = Trash(workdir / "trash")
    trash.adopt_leftovers()
    tools = discover(args)
    results = Results()
    ctx = Context(
        tools=tools,
        enabled=args.tools,
        env=base_env(),
        trash=trash,
        results=results,
        timeout=args.timeout,
        log=log,
        settle=args.settle,
        wait_idle=args.wait_idle,
        s3=S3Server(workdir),
    )
    specs = datagen.QUICK if args.quick else datagen.FULL
    datasets: dict[str, datagen.Dataset] = {}
    try:
        for name in (d for d in args.datasets if d != REGISTRY_DATASET):
            datasets[name] = datagen.ensure(
                specs[name], workdir / "data", lambda p: trash.move(p, "data"), log
            )
        for name, ds in datasets.items():
            guarded(f"dataset {name}", run_dataset, ctx, ds, 1 if name == "M" else args.repeat, workdir)
        if REGISTRY_DATASET in args.datasets:
            guarded("registry scale", run_registry_scale, ctx, workdir, args.repeat)
        guarded("startup", run_startup, ctx, workdir, max(5, args.repeat))
    except KeyboardInterrupt:
        log("interrupted: reporting what was measured")
    finally:
        for ds in datasets.values():
            datagen.restore_changed(ds)
        if ctx.s3 is not None:
            ctx.s3.stop()
    target_lines = evaluate(results, set(args.datasets), "artctl" in args.tools)
    print_all(results, target_lines, args.datasets, args.quick)
    if args.quick:
        print("note: --quick uses scaled-down datasets; its ratios are a smoke test, not the verdict.")
    print("tools: " + "; ".join(f"{t.name} = {t.version or t.error}" for t in tools.values()))
    print(f"peak RSS via {rss_source()}")
    if args.json_out:
        write_json(args.json_out, args, tools, datasets, results, target_lines, workdir)
    if not args.keep:
        log("deleting the trash (old outputs)")
        trash.move(workdir / "runs", "runs")
        trash.purge()
    return 0


if __name__ == "__main__":
    sys.exit(main())
