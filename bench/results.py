"""Collected measurements: one Row per (dataset, tool, step), several Runs per Row."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from measure import Run

# Row key: (dataset, tool, step).  Dataset "-" is for startup rows.
Key = tuple[str, str, str]

LABELS: dict[tuple[str, str], str] = {
    ("cp", "copy"): "cp -r",
    ("b3sum", "hash"): "b3sum (all files)",
    ("b3sum", "onefile"): "hash+store 1 file (b3sum + cp of the changed file)",
    ("artctl", "init"): "artctl init",
    ("artctl", "put_first"): "artctl artifact put (first, fresh repo)",
    ("artctl", "ls"): "artctl artifact ls",
    ("artctl", "put_unchanged"): "artctl artifact put (unchanged)",
    ("artctl", "put_changed"): "artctl artifact put (1 file changed)",
    ("artctl", "get_copy"): "artctl artifact get --link copy",
    ("artctl", "get_auto"): "artctl artifact get --link auto",
    ("artctl", "remote_add"): "artctl remote add (file://)",
    ("artctl", "push"): "artctl push (file://)",
    ("artctl", "clone"): "artctl clone (file://)",
    ("artctl", "clone_get"): "artctl artifact get after clone",
    ("artctl", "show"): "artctl artifact show --json",
    ("artctl", "diff"): "artctl artifact diff v0 latest",
    ("artctl", "get_prefix"): "artctl artifact get --path-prefix (1 folder)",
    ("dvc", "add_first"): "dvc add (first)",
    ("dvc", "add_unchanged"): "dvc add (unchanged)",
    ("dvc", "add_changed"): "dvc add (1 file changed)",
    ("dvc", "checkout"): "dvc checkout (copy)",
    ("dvc", "push"): "dvc push (local remote)",
    ("dvc", "pull"): "dvc pull (empty cache)",
    ("artctl", "s3_read"): "artctl:// read of 1 file from S3 (no clone)",
    ("dvc", "s3_read"): "dvc.api.read of 1 file from S3 (no cache, no workspace copy)",
    ("artctl", "registry_clone"): "artctl clone of 200 x 50 versions from S3 (metadata)",
    ("artctl", "registry_clone_nofsync"): "the same clone with ARTCTL_CORE_FSYNC=false",
    ("python", "startup"): "python -c pass",
    ("artctl", "version"): "artctl --version",
    ("dvc", "version"): "dvc --version",
}


def label(tool: str, step: str) -> str:
    return LABELS.get((tool, step), f"{tool} {step}")


@dataclass
class Row:
    """All attempts at one measurement, with why any failed or were skipped."""

    dataset: str
    tool: str
    step: str
    runs: list[Run] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok_runs(self) -> list[Run]:
        return [r for r in self.runs if r.ok]

    @property
    def median(self) -> float | None:
        ok = self.ok_runs
        return statistics.median(r.seconds for r in ok) if ok else None

    @property
    def peak_rss(self) -> int | None:
        ok = self.ok_runs
        return max(r.maxrss_bytes for r in ok) if ok else None

    @property
    def rss_is_bound(self) -> bool:
        """True when the peak is no higher than the spawn floor, so only 'at most' is known."""
        ok = self.ok_runs
        return bool(ok) and max(r.maxrss_bytes for r in ok) <= max(r.rss_floor_bytes for r in ok)

    @property
    def failure(self) -> str:
        """Why this row has no number (empty when it has one)."""
        if self.ok_runs:
            return ""
        bad = [r for r in self.runs if not r.ok]
        if bad:
            return bad[-1].describe_failure()
        if self.skipped:
            return self.skipped[-1]
        return "not run"

    def status(self) -> str:
        n, ok = len(self.runs) + len(self.skipped), len(self.ok_runs)
        if ok == n:
            return "ok"
        if ok:
            return f"{ok}/{n} ok; {self.failure_any()}"
        if not self.runs:
            return f"SKIPPED ({self.failure.removeprefix('skipped: ')})"
        return f"FAILED: {self.failure}"

    def failure_any(self) -> str:
        bad = [r for r in self.runs if not r.ok]
        return bad[-1].describe_failure() if bad else (self.skipped[-1] if self.skipped else "")

    def to_json(self) -> dict:
        return {
            "dataset": self.dataset,
            "tool": self.tool,
            "step": self.step,
            "label": label(self.tool, self.step),
            "median_s": self.median,
            "min_s": min((r.seconds for r in self.ok_runs), default=None),
            "peak_rss_bytes": self.peak_rss,
            "ok": bool(self.ok_runs),
            "error": self.failure or None,
            "runs": [
                {
                    "seconds": r.seconds,
                    "rc": r.rc,
                    "maxrss_bytes": r.maxrss_bytes,
                    "rss_floor_bytes": r.rss_floor_bytes,
                    "load1": r.load1,
                    "user_s": r.user_s,
                    "sys_s": r.sys_s,
                    "ok": r.ok,
                    "error": None if r.ok else r.describe_failure(),
                }
                for r in self.runs
            ],
            "skipped": self.skipped,
            "notes": self.notes,
        }


class Results:
    """Rows in first-recorded order, so tables follow the order things ran."""

    def __init__(self) -> None:
        self.rows: dict[Key, Row] = {}

    def row(self, dataset: str, tool: str, step: str) -> Row:
        key = (dataset, tool, step)
        if key not in self.rows:
            self.rows[key] = Row(dataset, tool, step)
        return self.rows[key]

    def get(self, dataset: str, tool: str, step: str) -> Row | None:
        return self.rows.get((dataset, tool, step))

    def median(self, dataset: str, tool: str, step: str) -> float | None:
        row = self.get(dataset, tool, step)
        return row.median if row else None
