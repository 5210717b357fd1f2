"""The example pipeline the UI tests (and the README screenshots) browse.

raw dataset → ``preprocess`` run → ``clean`` dataset → a sweep of 6 ``train`` runs, each
logging one version of the ``cnn`` model → an ``evaluate`` run using the best model and
logging a ``report``. The 6 runs (and the 6 model versions) make the clusters of the graph.
Built through the library API, small (a few bytes per file), in well under a second.
"""

from __future__ import annotations

from pathlib import Path

from artctl.api.repo import Repo

SCRIPT = "<script>window.__xss = 1</script>"
#: ``<img onerror>`` fires even where ``<script>`` inserted by innerHTML would not.
IMG = '<img src=x onerror="window.__xss=2">'


def write(path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return path


def build_example(repo: Repo, scratch: Path) -> dict[str, str]:
    """Fill ``repo``; return the ids the tests need (``raw``, ``clean``, ``train_runs`` …)."""
    runs = repo.repository.runs
    raw_dir = write(
        scratch / "raw",
        {"images/cat.txt": "cat\n", "images/dog.txt": "dog\n", "labels.csv": "id,label\n1,cat\n2,dog\n"},
    )
    raw = repo.put(
        raw_dir,
        name="demo/raw-images",
        type="dataset",
        description=f"Raw images {SCRIPT}",
        metadata={"source": "camera", "note": SCRIPT, "html": IMG},
    )
    write(raw_dir, {"images/bird.txt": "bird\n"})
    raw2 = repo.put(
        raw_dir,
        name="demo/raw-images",
        type="dataset",
        aliases=["production"],
        metadata={"source": "camera", "rows": 3},
        ttl="30d",
    )

    prep = runs.create("preprocess", name="preprocess-1", config={"resize": 64, "note": SCRIPT})
    repo.get("demo/raw-images:v1", root=scratch / "in-prep", run_id=prep.id)
    clean_dir = write(scratch / "clean", {"train/a.txt": "a\n", "train/b.txt": "b\n", "test/c.txt": "c\n"})
    clean = repo.put(clean_dir, name="demo/clean-images", type="dataset", run_id=prep.id)
    runs.finish(prep.id)

    train_ids = []
    for i in range(6):
        run = runs.create("train", name=f"sweep-{i}", config={"lr": 10 ** -(i % 3 + 2), "epochs": 3 + i})
        repo.get("demo/clean-images:latest", root=scratch / f"in-train-{i}", run_id=run.id)
        model_dir = write(
            scratch / f"model-{i}", {"model.bin": f"weights {i}\n", "config.json": '{"layers": 4}'}
        )
        aliases = ["best"] if i == 3 else []
        repo.put(
            model_dir,
            name="demo/cnn",
            type="model",
            run_id=run.id,
            aliases=aliases,
            metadata={"accuracy": round(0.8 + i / 100, 2)},
        )
        runs.finish(run.id, failed=(i == 5))
        train_ids.append(run.id)

    evaluate = runs.create("evaluate", name="evaluate-best")
    repo.get("demo/cnn:best", root=scratch / "in-eval", run_id=evaluate.id)
    report_dir = write(scratch / "report", {"report.md": "# accuracy 0.83\n"})
    repo.put(report_dir, name="demo/eval-report", type="report", run_id=evaluate.id)
    runs.finish(evaluate.id)

    ref_dir = write(scratch / "refs", {"readme.txt": "refs\n", f"{IMG}.txt": "a hostile file name\n"})
    repo.put(ref_dir, name="other/notes", type="docs")
    ref_src = write(scratch / "refsrc", {"a.txt": "hi\n"})
    repo.put(ref_src.as_uri(), name="other/refs", type="dataset")  # a reference: bytes stay there
    return {
        "raw": f"{raw.record.name}:{raw.record.version}",
        "raw2": f"{raw2.record.name}:{raw2.record.version}",
        "clean": f"{clean.record.name}:{clean.record.version}",
        "prep": prep.id,
        "train_runs": ",".join(train_ids),
        "evaluate": evaluate.id,
        "ref_uri": (ref_src / "a.txt").as_uri(),
    }


# -- the server as a real subprocess ------------------------------------------------------------
def ui_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The CLI's test environment, without a token the developer may have exported."""
    from conftest import cli_env

    env = cli_env()
    env.pop("ARTCTL_UI_TOKEN", None)
    env.update(extra or {})
    return env


def start_ui(
    repo_dir: Path,
    *args: str,
    timeout: float = 20.0,
    open_browser: bool = False,
    env: dict[str, str] | None = None,
):  # type: ignore[no-untyped-def]
    """``artctl ui --no-open --port 0 ARGS`` in ``repo_dir``; return (process, the URL it printed).

    The URL is the one a user gets, with ``?token=…`` (unless ``--no-token``) and the start
    page's ``#fragment``."""
    import selectors
    import subprocess
    import sys
    import time

    argv = [sys.executable, "-m", "artctl", "ui", "--port", "0", *args]
    if not open_browser:
        argv.insert(4, "--no-open")
    proc = subprocess.Popen(
        argv, cwd=repo_dir, env=ui_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if selector.select(timeout=0.2):
            line = proc.stdout.readline().strip()
            if line.startswith("http://"):
                return proc, line
        if proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"artctl ui did not start: rc={proc.poll()} stderr={proc.stderr.read()}")


def stop_ui(proc, sig: int | None = None) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """Stop the server by its PID (SIGINT = Ctrl-C by default); return (exit code, stderr)."""
    import signal

    if proc.poll() is None:
        proc.send_signal(sig or signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=15)
    except Exception:  # noqa: BLE001 - a hung server is killed, then reported
        proc.kill()
        _, err = proc.communicate()
        raise
    return proc.returncode, err


def token_of(url: str) -> str | None:
    """The ``token`` query parameter of a printed URL (``None`` with ``--no-token``)."""
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(url).query).get("token", [None])[0]


def with_page(url: str, suffix: str) -> str:
    """The printed URL with ``suffix`` (``?poll=250#/runs`` …) merged into its query and fragment."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    extra = urlsplit(suffix)
    query = "&".join(q for q in (parts.query, extra.query) if q)
    return urlunsplit(
        (parts.scheme, parts.netloc, parts.path or "/", query, extra.fragment or parts.fragment)
    )
