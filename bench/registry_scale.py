"""Cloning the metadata of a 10,000-version remote from S3 (issue 16, "Scale").

The remote: 200 artifacts x 50 versions, one tiny distinct file each, built untimed with the
library in the artctl venv's interpreter (one ingest of all 10,000 files, a commit per version,
one push to a moto S3 server; the push writes the compacted registry index,
``artctl.ops.remote.index``). Timed: ``artctl clone s3://…`` (metadata only, the default) in a
fresh process, median of the repetitions, with the default ``core.fsync`` and again with
``ARTCTL_CORE_FSYNC=false`` (what is left when the local disk's flushes are not counted). Then
one untimed clone through a counting HTTP proxy in front of moto (``tests/countproxy.py``)
gives the number of requests, recorded as a note on the row.

Target (issue 16): under 10 s and under 300 requests.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from measure import run_quiet
from remote_read import _ensure_module
from suites import Context, Step

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from countproxy import CountingProxy  # noqa: E402

DATASET = "R"
ARTIFACTS, VERSIONS = 200, 50
REQUEST_TARGET = 300

BUILD = """\
import sys
from pathlib import Path
from artctl.api.repo import Repo
from artctl.format.manifest import Entry, Manifest
from artctl.format.names import parse_name
from artctl.ops.remote.config import add_remote
from artctl.ops.remote.push import push

root, url, artifacts, versions = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
files = root.parent / "files"
for a in range(artifacts):
    (files / f"a{a:03d}").mkdir(parents=True)
    for v in range(versions):
        (files / f"a{a:03d}" / f"v{v:02d}.txt").write_text(f"{a} {v}\\n")
repo, _ = Repo.init(root)
stored = {e.path: e for e in repo.store_files(repo.collect([(str(files), None)]))}
for a in range(artifacts):
    name = parse_name(f"scale/a{a:03d}")
    for v in range(versions):
        e = stored[f"a{a:03d}/v{v:02d}.txt"]
        repo.commit_manifest(name, "dataset", Manifest.from_entries([Entry("data.txt", e.digest, e.size)]))
add_remote(repo, "origin", url, None, default=True)
result = push(repo)
print(len(result.versions))
"""


def registry_scale_steps(ctx: Context, rep_dir: Path, repeat: int, s3) -> list[Step]:  # type: ignore[no-untyped-def]
    """The untimed build, then ``repeat`` timed clones with and without fsync, then the count."""
    a = ctx.tools["artctl"].argv
    python = Path(a[0]).parent / "python"
    env = {**s3.env, "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}
    full_env = {**ctx.env, **env}
    state = {"url": ""}
    steps: list[Step] = []

    def build() -> None:
        if state["url"]:
            return
        _ensure_module(python, "s3fs", "s3fs", full_env)
        state["url"] = f"s3://{s3.bucket()}/scale"
        build_env = {**full_env, "ARTCTL_CORE_FSYNC": "false"}  # setup, not measured
        ctx.log(f"building the {ARTIFACTS} x {VERSIONS} remote at {state['url']} (untimed)")
        argv = [str(python), "-c", BUILD, str(rep_dir / "src"), state["url"], str(ARTIFACTS), str(VERSIONS)]
        run_quiet(argv, rep_dir, build_env, timeout=ctx.timeout)
        for step in steps:
            step.argv[step.argv.index("URL")] = state["url"]

    for n in range(1, repeat + 1):
        for key, extra in (
            ("registry_clone", {}),
            ("registry_clone_nofsync", {"ARTCTL_CORE_FSYNC": "false"}),
        ):
            target = rep_dir / f"{key}-{n}"
            steps.append(
                Step(
                    "artctl",
                    key,
                    [*a, "clone", "URL", str(target)],
                    rep_dir,
                    prepare=build,
                    check=_cloned(ARTIFACTS * VERSIONS),
                    env={**env, **extra},
                )
            )
    return steps


def count_requests(ctx: Context, rep_dir: Path, s3, url: str) -> str:  # type: ignore[no-untyped-def]
    """One more (untimed) clone, through a counting proxy: ``"N requests (GET g, …)"``."""
    a = ctx.tools["artctl"].argv
    with CountingProxy(s3.endpoint) as proxy:
        env = {**ctx.env, **s3.env, "AWS_ENDPOINT_URL": proxy.url, "AWS_ENDPOINT_URL_S3": proxy.url}
        run_quiet([*a, "clone", url, str(rep_dir / "counted")], rep_dir, env, timeout=ctx.timeout)
        by_method = ", ".join(f"{m} {c}" for m, c in sorted(proxy.counts.items()))
        verdict = "PASS" if proxy.total < REQUEST_TARGET else "MISS"
        return f"{proxy.total} requests ({by_method}; target < {REQUEST_TARGET}: {verdict})"


def _cloned(versions: int):  # type: ignore[no-untyped-def]
    """The clone reported every version: a fast but empty clone cannot win."""

    def check(stdout: Path) -> tuple[str, str]:
        match = re.search(r"(\d+) new versions", stdout.read_text())
        found = int(match.group(1)) if match else -1
        return ("", "") if found == versions else (f"cloned {found} versions, expected {versions}", "")

    return check
