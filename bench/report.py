"""Turn rows into the issue's target table (ratios artctl/peer, PASS/MISS) and print it.

Each target line compares an artctl figure with a bound built from peer figures measured in
the same run, so machine speed cancels out of the verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from results import Results, label

GB = 1_000_000_000

# The issue's peer measurements (seconds), shown beside ours to compare machines.
ISSUE_PEERS: dict[str, dict[str, float]] = {
    "A": {
        "cp": 0.71,
        "b3sum": 0.20,
        "add_first": 6.9,
        "add_unchanged": 1.96,
        "add_changed": 2.3,
        "push": 6.7,
        "pull": 10.4,
        "checkout": 4.1,
    },
    "B": {
        "cp": 0.40,
        "b3sum": 0.28,
        "add_first": 4.0,
        "add_unchanged": 0.92,
        "add_changed": 0.83,
        "push": 2.4,
        "pull": 4.0,
        "checkout": 1.3,
    },
    "C": {
        "cp": 1.15,
        "b3sum": 0.30,
        "add_first": 6.7,
        "add_unchanged": 0.56,
        "add_changed": 4.9,
        "push": 1.0,
        "pull": 4.3,
        "checkout": 1.6,
    },
}
ISSUE_STARTUP = {"dvc --version": 0.15, "python -c pass": 0.012}
PEER_COLUMNS = [
    ("cp", "cp", "copy"),
    ("b3sum", "b3sum", "hash"),
    ("add_first", "dvc", "add_first"),
    ("add_unchanged", "dvc", "add_unchanged"),
    ("add_changed", "dvc", "add_changed"),
    ("push", "dvc", "push"),
    ("pull", "dvc", "pull"),
    ("checkout", "dvc", "checkout"),
]
PEER_HEADERS = [
    "cp -r",
    "b3sum",
    "dvc add first",
    "dvc add unchanged",
    "dvc add 1 changed",
    "dvc push",
    "dvc pull",
    "dvc checkout",
]


@dataclass
class Value:
    """A number, or why there is none."""

    number: float | None
    why: str = ""


def _sum(results: Results, parts: list[tuple[str, str, str]], scale: float = 1.0) -> Value:
    total = 0.0
    for ds, tool, step in parts:
        row = results.get(ds, tool, step)
        if row is None or row.median is None:
            return Value(None, f"{label(tool, step)} [{ds}]: {row.failure if row else 'not run'}")
        total += row.median
    return Value(total * scale)


def _rss(results: Results, ds: str) -> Value:
    row = results.get(ds, "artctl", "put_first")
    if row is None or row.peak_rss is None:
        return Value(None, row.failure if row else "not run (opt-in: --datasets M)")
    return Value(float(row.peak_rss))


@dataclass
class Target:
    """``artctl <= factor * base``, both computed from the same run."""

    measure: str
    dataset: str
    target: str
    art: Callable[[Results], Value]
    base: Callable[[Results], Value]
    factor: float
    unit: str = "s"


def _t(ds: str, tool: str, step: str) -> Callable[[Results], Value]:
    return lambda r: _sum(r, [(ds, tool, step)])


def _changed_bound(ds: str) -> Callable[[Results], Value]:
    def bound(r: Results) -> Value:
        unchanged = _sum(r, [(ds, "artctl", "put_unchanged")], 1.2)
        one = _sum(r, [(ds, "b3sum", "onefile")])
        if unchanged.number is None or one.number is None:
            return Value(None, unchanged.why or one.why)
        return Value(unchanged.number + one.number)

    return bound


def targets() -> list[Target]:
    """The issue's target table, one line per (measure, dataset, peer)."""
    out: list[Target] = [
        Target(
            "first put", "A", "<= 0.6 x cp -r", _t("A", "artctl", "put_first"), _t("A", "cp", "copy"), 0.6
        ),
        Target(
            "first put",
            "A",
            "<= 0.07 x dvc add",
            _t("A", "artctl", "put_first"),
            _t("A", "dvc", "add_first"),
            0.07,
        ),
    ]
    for ds in ("B", "C"):
        out += [
            Target(
                "first put", ds, "<= 1.3 x cp -r", _t(ds, "artctl", "put_first"), _t(ds, "cp", "copy"), 1.3
            ),
            Target(
                "first put",
                ds,
                "<= 0.2 x dvc add",
                _t(ds, "artctl", "put_first"),
                _t(ds, "dvc", "add_first"),
                0.2,
            ),
        ]
    out.append(
        Target(
            "unchanged re-put",
            "A",
            "<= 0.1 x dvc add unchanged",
            _t("A", "artctl", "put_unchanged"),
            _t("A", "dvc", "add_unchanged"),
            0.1,
        )
    )
    for ds in ("A", "C"):
        out.append(
            Target(
                "put, 1 file changed",
                ds,
                "<= 1.2 x unchanged re-put + hash+store 1 file",
                _t(ds, "artctl", "put_changed"),
                _changed_bound(ds),
                1.0,
            )
        )
    for ds in ("A", "B", "C"):
        out += [
            Target(
                "get (copy)", ds, "<= 1.3 x cp -r", _t(ds, "artctl", "get_copy"), _t(ds, "cp", "copy"), 1.3
            ),
            Target(
                "get (copy)",
                ds,
                "<= 0.3 x dvc checkout",
                _t(ds, "artctl", "get_copy"),
                _t(ds, "dvc", "checkout"),
                0.3,
            ),
        ]
    out += [
        Target(
            "push to file://",
            "A",
            "<= 0.1 x dvc push",
            _t("A", "artctl", "push"),
            _t("A", "dvc", "push"),
            0.1,
        ),
        Target(
            "clone + get from file://",
            "A",
            "<= 0.2 x dvc pull",
            lambda r: _sum(r, [("A", "artctl", "clone"), ("A", "artctl", "clone_get")]),
            _t("A", "dvc", "pull"),
            0.2,
        ),
        Target(
            "read 1 file from S3, no clone",
            "A",
            "<= 0.2 x dvc.api.read",
            _t("A", "artctl", "s3_read"),
            _t("A", "dvc", "s3_read"),
            0.2,
        ),
        Target(
            "clone metadata of 10,000 versions from S3",
            "R",
            "< 10 s (requests: see the row's note)",
            _t("R", "artctl", "registry_clone"),
            lambda r: Value(10.0),
            1.0,
        ),
        Target(
            "artctl --version",
            "-",
            "<= 0.4 x dvc --version",
            _t("-", "artctl", "version"),
            _t("-", "dvc", "version"),
            0.4,
        ),
        Target(
            "peak RSS, put of 1,000,000 x 1 KB",
            "M",
            "<= 1 GB",
            lambda r: _rss(r, "M"),
            lambda r: Value(float(GB)),
            1.0,
            unit="bytes",
        ),
    ]
    return out


def evaluate(results: Results, wanted: set[str], with_artctl: bool = True) -> list[dict]:
    """Each target line with values, ratio and verdict (PASS / MISS / ERROR / NOT RUN)."""
    lines = []
    for t in targets():
        art, base = t.art(results), t.base(results)
        ratio = art.number / base.number if art.number is not None and base.number else None
        if t.dataset not in wanted and t.dataset != "-":
            verdict, why = "NOT RUN", f"dataset {t.dataset} not selected"
        elif not with_artctl:
            verdict, why = "NOT RUN", "artctl not selected (--tools)"
        elif art.number is None:
            verdict, why = "ERROR", art.why
        elif ratio is None:
            verdict, why = "NO PEER", base.why
        elif ratio <= t.factor:
            verdict, why = "PASS", ""
        else:
            verdict, why = "MISS", f"{ratio / t.factor:.1f}x over the target"
        lines.append(
            {
                "measure": t.measure,
                "dataset": t.dataset,
                "target": t.target,
                "artctl": art.number,
                "base": base.number,
                "unit": t.unit,
                "ratio": ratio,
                "factor": t.factor,
                "verdict": verdict,
                "why": why,
            }
        )
    return lines


def _fmt(value: float | None, unit: str = "s") -> str:
    if value is None:
        return "-"
    if unit == "bytes":  # decimal MB, like the issue's "1 GB"
        return f"{value / 1e6:,.1f} MB" if value < 10e6 else f"{value / 1e6:,.0f} MB"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _short(text: str, n: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


class Printer:
    """rich tables when rich is importable, aligned plain text otherwise."""

    def __init__(self) -> None:
        try:
            import shutil

            from rich.console import Console
            from rich.table import Table

            width = shutil.get_terminal_size((200, 40)).columns
            self._console, self._table = Console(width=max(width, 160)), Table
        except ImportError:
            self._console = None

    def table(self, title: str, headers: list[str], rows: list[list[str]]) -> None:
        if self._console is not None:
            t = self._table(title=title, title_justify="left")
            for h in headers:
                t.add_column(h, overflow="fold")
            for r in rows:
                t.add_row(*r)
            self._console.print(t)
            return
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
        print(f"\n{title}")
        print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
        print("  ".join("-" * w for w in widths))
        for r in rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


def print_all(results: Results, target_lines: list[dict], datasets: list[str], quick: bool) -> None:
    p = Printer()
    rows = []
    for row in results.rows.values():
        runs = [f"{r.seconds:.3f}" for r in row.ok_runs]
        rows.append(
            [
                row.dataset,
                label(row.tool, row.step),
                _fmt(row.median),
                ", ".join(runs) if len(runs) > 1 else "",
                ("<= " if row.rss_is_bound else "") + _fmt(row.peak_rss, "bytes") if row.peak_rss else "-",
                f"{max(r.load1 for r in row.runs):.1f}" if row.runs else "-",
                _short(row.status() + ("; " + "; ".join(row.notes) if row.notes else "")),
            ]
        )
    p.table(
        "All measurements (median seconds of fresh subprocesses, warm page cache)",
        ["data", "command", "median s", "runs s", "peak RSS", "max load", "status"],
        rows,
    )

    peer_rows = []
    for ds in datasets:
        if ds not in ISSUE_PEERS:
            continue
        cells = [ds]
        for col, tool, step in PEER_COLUMNS:
            ours = results.median(ds, tool, step)
            cells.append(_fmt(ours) if quick else f"{_fmt(ours)} ({ISSUE_PEERS[ds][col]:g})")
        peer_rows.append(cells)
    if peer_rows:
        ref = "quick datasets, so no reference" if quick else "issue's reference in parentheses"
        p.table(f"Peers on this machine, median seconds ({ref})", ["data"] + PEER_HEADERS, peer_rows)

    t_rows = []
    for line in target_lines:
        ratio = f"{line['ratio']:.3f}" if line["ratio"] is not None else "-"
        t_rows.append(
            [
                line["measure"],
                line["dataset"],
                _fmt(line["artctl"], line["unit"]),
                _fmt(line["base"], line["unit"]),
                ratio,
                line["target"],
                line["verdict"] + (f" ({_short(line['why'], 60)})" if line["why"] else ""),
            ]
        )
    p.table(
        "Targets (ratio = artctl / peer; lower is faster)",
        ["measure", "data", "artctl", "peer/bound", "ratio", "target", "verdict"],
        t_rows,
    )
