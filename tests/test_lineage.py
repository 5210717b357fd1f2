"""The lineage graph: the seeds' pipeline built from the CLI and from Python, exact nodes and
edges of ``--format json`` in each direction, depth, deletion, clusters, DOT and Mermaid."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import make_tree

PY = sys.executable
TRAIN = (
    "import os, pathlib, shutil\n"
    "out = pathlib.Path('model'); out.mkdir()\n"
    "shutil.copy(pathlib.Path(os.environ['ARTCTL_INPUT_DS']) / 'a.txt', out / 'seen.txt')\n"
    "(out / 'weights.bin').write_bytes(b'w' * 100)\n"
)


def cli_pipeline(cli, data_dir: Path) -> dict[str, str]:
    """create-dataset (run start/put/finish) → train (run exec) → evaluate (run exec): run ids."""
    create = cli.ok("run", "start", "--job-type", "create-dataset", "--name", "make-ds").stdout.strip()
    cli.ok(
        "artifact", "put", str(data_dir), "--name", "proj/ds", "--type", "dataset", env={"ARTCTL_RUN": create}
    )
    cli.ok("run", "finish", create)
    train = cli.ok(
        "run",
        "exec",
        "--job-type",
        "train",
        "--use",
        "proj/ds:latest",
        "--log",
        "model",
        "--name",
        "proj/model",
        "--type",
        "model",
        "--json",
        "--",
        PY,
        "-c",
        TRAIN,
    ).json()["run"]
    evaluate = cli.ok(
        "run", "exec", "--job-type", "evaluate", "--use", "proj/model:v0", "--json", "--", PY, "-c", "pass"
    ).json()["run"]
    return {"create": create, "train": train, "evaluate": evaluate}


def python_pipeline(repo_dir: Path, data_dir: Path) -> dict[str, str]:
    import artctl

    with artctl.init(project="proj", job_type="create-dataset", name="make-ds", dir=repo_dir) as create:
        ds = artctl.Artifact("ds", type="dataset")
        ds.add_dir(data_dir)
        create.log_artifact(ds)
    with artctl.init(project="proj", job_type="train", dir=repo_dir) as train:
        used = train.use_artifact("ds:latest")
        model = artctl.Artifact("model", type="model")
        with model.new_file("weights.bin", mode="wb") as fh:
            fh.write(b"w" * 100)
        model.add_file(Path(used.download(root=repo_dir / "in")) / "a.txt", name="seen.txt")
        train.log_artifact(model)
    with artctl.init(project="proj", job_type="evaluate", dir=repo_dir) as evaluate:
        evaluate.use_artifact("proj/model:v0")
    return {"create": create.id, "train": train.id, "evaluate": evaluate.id}


def shape(doc: dict) -> tuple[set, set]:
    """(nodes as (id, kind, label, type, state, level), edges as (from, to, kind))."""
    nodes = {(n["id"], n["kind"], n["label"], n["type"], n["state"], n["level"]) for n in doc["nodes"]}
    edges = {(e["from"], e["to"], e["kind"]) for e in doc["edges"]}
    return nodes, edges


def expected(ids: dict[str, str], root: str, direction: str) -> tuple[set, set]:
    c, t, e = (f"run:{ids[k]}" for k in ("create", "train", "evaluate"))
    ds, model = "artifact:proj/ds:v0", "artifact:proj/model:v0"
    kinds = {
        c: ("run", "make-ds", "create-dataset", "finished"),
        ds: ("artifact", "proj/ds:v0", "dataset", "committed"),
        t: ("run", ids["train"], "train", "finished"),
        model: ("artifact", "proj/model:v0", "model", "committed"),
        e: ("run", ids["evaluate"], "evaluate", "finished"),
    }
    chain = [c, ds, t, model, e]
    at = chain.index(root)
    keep = {"upstream": chain[: at + 1], "downstream": chain[at:], "both": chain}[direction]
    nodes = {(n, *kinds[n], chain.index(n) - at) for n in keep}
    edges = {
        (a, b, "logged" if a.startswith("run:") else "used")
        for a, b in itertools.pairwise(chain)
        if a in keep and b in keep
    }
    return nodes, edges


@pytest.mark.parametrize("builder", ["cli", "python"])
def test_pipeline_lineage_json_is_exact(builder: str, cli, repo_dir: Path, data_dir: Path) -> None:
    ids = cli_pipeline(cli, data_dir) if builder == "cli" else python_pipeline(repo_dir, data_dir)
    model, ds = "artifact:proj/model:v0", "artifact:proj/ds:v0"
    up = cli.ok("lineage", "proj/model:v0", "--upstream", "--format", "json").json()
    assert up["root"] == model and up["direction"] == "upstream" and up["depth"] is None
    assert shape(up) == expected(ids, model, "upstream")
    down = cli.ok("lineage", "proj/ds", "--downstream", "--json").json()  # proj/ds = proj/ds:latest
    assert shape(down) == expected(ids, ds, "downstream")
    both = cli.ok("lineage", "proj/model:v0", "--format", "json").json()
    assert shape(both) == expected(ids, model, "both")
    # node details the UI builds on
    by_id = {n["id"]: n for n in both["nodes"]}
    assert by_id[model]["aliases"] == ["latest", "v0"] and len(by_id[model]["digest"]) == 64
    assert by_id[f"run:{ids['train']}"]["run_id"] == ids["train"]
    assert by_id[f"run:{ids['create']}"]["name"] == "make-ds"
    # depth counts runs: one run away from the model
    one = cli.ok("lineage", "proj/model:v0", "--depth", "1", "--json").json()
    assert {n["id"] for n in one["nodes"]} == {ds, f"run:{ids['train']}", model, f"run:{ids['evaluate']}"}
    # a run as the root: run:<id> (depth 1 = the versions it used and logged)
    run_root = cli.ok("lineage", f"run:{ids['train']}", "--depth", "1", "--json").json()
    assert shape(run_root)[1] == {
        (ds, f"run:{ids['train']}", "used"),
        (f"run:{ids['train']}", model, "logged"),
    }
    assert {n["id"] for n in run_root["nodes"]} == {ds, f"run:{ids['train']}", model}
    # the same graph from Python
    import artctl

    graph = artctl.Api(dir=repo_dir).artifact("proj/model:v0").lineage(direction="upstream")
    assert graph.to_json() == up
    assert [(e.from_, e.to) for e in graph.edges] == [(e["from"], e["to"]) for e in up["edges"]]
    assert graph.node(model).kind == "artifact"
    down_py = artctl.Api(dir=repo_dir).artifact("proj/ds:v0").lineage(direction="downstream", depth=1)
    assert {n.id for n in down_py.nodes} == {ds, f"run:{ids['train']}", model}


def test_tree_text_and_deleted_versions_stay(cli, repo_dir: Path, data_dir: Path) -> None:
    ids = python_pipeline(repo_dir, data_dir)
    tree = cli.ok("lineage", "proj/model:v0").stdout
    assert tree.splitlines() == [
        "proj/model:v0 (model)",
        "├── ↑ upstream",
        f"│   └── ← logged by run {ids['train']} (train, finished)",
        "│       └── ← used proj/ds:v0 (dataset)",
        f"│           └── ← logged by run {ids['create']} make-ds (create-dataset, finished)",
        "└── ↓ downstream",
        f"    └── → used by run {ids['evaluate']} (evaluate, finished)",
    ]
    # soft-delete the dataset version and collect its bytes: the model's history is still
    # complete, with the dataset marked deleted
    from artctl.api.repo import Repo
    from artctl.ops.gc import gc

    cli.ok("artifact", "rm", "proj/ds:v0")
    gc(Repo(repo_dir), grace_period=0)
    up = cli.ok("lineage", "proj/model:v0", "--upstream", "--json").json()
    states = {n["id"]: n["state"] for n in up["nodes"]}
    assert states["artifact:proj/ds:v0"] == "deleted" and len(up["edges"]) == 3
    assert "proj/ds:v0 (dataset) [deleted]" in cli.ok("lineage", "proj/model:v0", "--upstream").stdout
    down = cli.ok("lineage", "proj/ds:v0", "--downstream", "--json").json()  # a deleted root resolves
    assert len(down["nodes"]) == 4 and down["nodes"][0]["state"] == "deleted"
    dot = cli.ok("lineage", "proj/model:v0", "--format", "dot").stdout
    assert "dashed" in dot


def test_depth_and_target_bad_input(cli, repo_dir: Path, data_dir: Path) -> None:
    from artctl.api.repo import Repo
    from artctl.errors import InvalidInput
    from artctl.ops.lineage import lineage

    cli.ok("artifact", "put", str(data_dir), "--name", "proj/ds", "--type", "dataset")
    for depth in ("0", "-1"):
        result = cli.fails("lineage", "proj/ds", "--depth", depth, code=2)
        assert "--depth" in result.stderr
    cli.fails("lineage", "proj/ds", "--depth", "x", code=2)
    cli.fails("lineage", "proj/ds", "--format", "png", code=2)
    assert "not both" in cli.fails("lineage", "proj/ds", "--upstream", "--downstream", code=2).stderr
    assert "not found" in cli.fails("lineage", "proj/nothing").stderr
    assert "not found" in cli.fails("lineage", "run:nosuchrun").stderr
    cli.fails("lineage", "not a ref", code=2)
    with pytest.raises(InvalidInput, match="depth"):
        lineage(Repo(repo_dir), "proj/ds", depth=0)
    with pytest.raises(InvalidInput, match="direction"):
        lineage(Repo(repo_dir), "proj/ds", direction="sideways")
    alone = cli.ok("lineage", "proj/ds", "--json").json()  # no runs at all: just the version
    assert [n["id"] for n in alone["nodes"]] == ["artifact:proj/ds:v0"] and alone["edges"] == []
    assert "(none)" in cli.ok("lineage", "proj/ds").stdout


def test_cluster_line_at_five_siblings(cli, repo_dir: Path, workdir: Path) -> None:
    import artctl

    make_tree(workdir / "m", {"w": "weights"})
    with artctl.init(project="proj", job_type="train", dir=repo_dir) as train:
        train.log_artifact(str(workdir / "m"), name="model", type="model")
        for i in range(5):  # one run logging five versions: an artifact cluster downstream of it
            make_tree(workdir / f"r{i}", {"r.json": str(i)})
            train.log_artifact(str(workdir / f"r{i}"), name=f"report-{i}", type="report")
    evals = []
    for i in range(4):
        with artctl.init(project="proj", job_type="evaluate", name=f"eval-{i}", dir=repo_dir) as run:
            run.use_artifact("proj/model:v0")
            evals.append(run.id)
    four = cli.ok("lineage", "proj/model:v0", "--downstream").stdout
    assert "4 runs" not in four and all(f"run {e} eval-" in four for e in evals)
    with artctl.init(project="proj", job_type="evaluate", name="eval-4", dir=repo_dir) as run:
        run.use_artifact("proj/model:v0")
        evals.append(run.id)
    five = cli.ok("lineage", "proj/model:v0", "--downstream").stdout
    assert five.splitlines() == [
        "proj/model:v0 (model)",
        f"└── → used by 5 runs: {evals[0]}, {evals[1]}, {evals[2]}, … (+2 more; --expand to list)",
    ]
    expanded = cli.ok("lineage", "proj/model:v0", "--downstream", "--expand").stdout
    assert len(expanded.splitlines()) == 6 and all(e in expanded for e in evals)
    from_run = cli.ok("lineage", f"run:{train.id}", "--downstream", "--depth", "1").stdout.splitlines()
    assert from_run[0] == f"run {train.id} (train, finished)"
    assert from_run[1:] == [
        "└── → logged 6 versions: proj/model:v0, proj/report-0:v0, proj/report-1:v0, "
        "… (+3 more; --expand to list)"
    ]


def _dot_binary() -> str:
    """Graphviz's ``dot``: installed by CI; locally installed on demand; missing in CI = failure."""
    dot = shutil.which("dot")
    if dot is None and os.environ.get("CI") != "true" and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "graphviz"], capture_output=True, timeout=600)
        dot = shutil.which("dot")
    assert dot is not None, (
        "Graphviz `dot` is missing: install it (apt-get install graphviz, .ci/install-tools.sh)"
    )
    return dot


def test_dot_is_valid_graphviz_and_mermaid_is_sane(cli, repo_dir: Path, data_dir: Path) -> None:
    import artctl

    ids = python_pipeline(repo_dir, data_dir)
    with artctl.init(
        project="proj", job_type="odd-job", name='odd "name" <b> back\\slash', dir=repo_dir
    ) as odd:
        odd.use_artifact("proj/model:v0")
    out = repo_dir / "g.dot"
    result = cli.ok("lineage", "proj/model:v0", "--format", "dot", "-o", str(out))
    assert result.stdout == "" and "wrote dot" in result.stderr
    text = out.read_text()
    assert text.startswith("digraph lineage {") and text.rstrip().endswith("}")
    assert f'"run:{ids["train"]}" -> "artifact:proj/model:v0";' in text
    svg = subprocess.run([_dot_binary(), "-Tsvg", str(out)], capture_output=True, text=True, timeout=60)
    assert svg.returncode == 0 and svg.stderr == "", svg.stderr
    assert (
        "<svg" in svg.stdout
        and svg.stdout.count('class="node"') == 6
        and svg.stdout.count('class="edge"') == 5
    )

    mermaid = cli.ok("lineage", "proj/model:v0", "--format", "mermaid").stdout
    lines = mermaid.splitlines()
    assert lines[0] == "flowchart LR"
    node_re = re.compile(r'  (n\d+)(\["[^"\n]*"\]|\(\["[^"\n]*"\]\))\Z')
    edge_re = re.compile(r"  (n\d+) --> (n\d+)\Z")
    other_re = re.compile(r"  (%% n\d+ = \S+|classDef \w+ [-#:,.\w ]+|class [n\d,]+ \w+)\Z")
    declared, edges = set(), []
    for line in lines[1:]:
        if m := node_re.match(line):
            declared.add(m.group(1))
        elif m := edge_re.match(line):
            edges.append((m.group(1), m.group(2)))
        else:
            assert other_re.match(line), f"unexpected mermaid line: {line!r}"
    assert len(declared) == 6 and len(edges) == 5
    assert all(a in declared and b in declared for a, b in edges)
    assert "#quot;name#quot; #lt;b#gt;" in mermaid  # quotes and markup escaped, never raw


def test_renderer_registry_is_extensible(repo_dir: Path, cli, data_dir: Path) -> None:
    from artctl.api.repo import Repo
    from artctl.cli.render.lineage import RENDERERS, RenderOptions, register_renderer, render
    from artctl.ops.lineage import lineage

    assert set(RENDERERS) >= {"tree", "json", "dot", "mermaid"}
    cli.ok("artifact", "put", str(data_dir), "--name", "proj/ds", "--type", "dataset")
    graph = lineage(Repo(repo_dir), "artifact:proj/ds:v0")
    register_renderer("count", lambda g, o: f"{len(g.nodes)} nodes\n")
    try:
        assert render(graph, "count", RenderOptions()) == "1 nodes\n"
    finally:
        del RENDERERS["count"]
    with pytest.raises(ValueError):
        register_renderer("Bad Name", lambda g, o: "")
    # a lazily imported renderer (how the UI's html format plugs in) is accepted by the CLI too
    from artctl.cli.render.lineage import lazy_renderer

    assert lazy_renderer("artctl.cli.render.lineage:render_json")(graph, RenderOptions()) == render(
        graph, "json"
    )
    assert "mermaid" in cli.fails("lineage", "proj/ds", "--format", "nope", code=2).stderr
