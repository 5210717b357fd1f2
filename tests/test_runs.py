"""Runs from the shell and from Python: records, links, run exec, and the issue's bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import make_tree

PY = sys.executable


def _start(cli, *args: str) -> str:
    result = cli.ok("run", "start", *args)
    run_id = result.stdout.strip()
    assert run_id and "\n" not in run_id and run_id.isalnum(), result  # only the id on stdout
    return run_id


# -- shell runs --------------------------------------------------------------------------------
def test_run_start_put_get_finish_records_everything(cli, repo_dir: Path, data_dir: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=repo_dir, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x"],
        cwd=repo_dir,
        check=True,
    )
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo_dir, capture_output=True, text=True, check=True
    ).stdout.strip()
    run_id = _start(
        cli, "--job-type", "prepare", "--name", "make-ds", "--config", '{"rows": 3}', "--project", "proj"
    )
    env = {"ARTCTL_RUN": run_id}
    put = cli.ok(
        "artifact", "put", str(data_dir), "--name", "proj/ds", "--type", "dataset", "--json", env=env
    ).json()
    cli.ok(
        "artifact", "get", "proj/ds:v0", "--root", "out", env={"ARTCTL_RUN": _start(cli, "--job-type", "x")}
    )
    cli.ok("run", "finish", env=env)  # RUN_ID defaults to $ARTCTL_RUN
    shown = cli.ok("run", "show", run_id, "--json").json()
    assert shown["id"] == run_id and shown["job_type"] == "prepare" and shown["name"] == "make-ds"
    assert shown["project"] == "proj" and shown["config"] == {"rows": 3}
    assert shown["status"] == "finished" and shown["finished_at"] >= shown["started_at"]
    assert shown["command"][:3] == ["artctl", "run", "start"]
    assert shown["cwd"] == str(repo_dir) and shown["host"] and shown["git_commit"] == head
    assert shown["inputs"] == []
    assert shown["outputs"] == [
        {"name": "proj/ds", "version": "v0", "digest": put["digest"], "type": "dataset", "ref": "proj/ds:v0"}
    ]
    assert cli.ok("artifact", "show", "proj/ds:v0", "--json").json()["logged_by"] == run_id
    human = cli.ok("run", "show", run_id).stdout
    assert "make-ds" in human and "proj/ds:v0" in human and "logged" in human
    listed = cli.ok("run", "ls", "--json").json()
    assert [r["id"] for r in listed][0] == run_id and len(listed) == 2
    assert [r["id"] for r in cli.ok("run", "ls", "--job-type", "prepare", "--json").json()] == [run_id]
    assert run_id in cli.ok("run", "ls").stdout


def test_unknown_run_in_env_is_a_clear_error_and_nothing_is_logged(
    cli, repo_dir: Path, data_dir: Path
) -> None:
    bad = {"ARTCTL_RUN": "nosuchrun"}
    result = cli.fails("artifact", "put", str(data_dir), "--name", "proj/ds", "--type", "dataset", env=bad)
    assert "run 'nosuchrun' not found" in result.stderr
    assert cli.ok("artifact", "ls", "--json").json() == []
    assert cli.ok("run", "ls", "--json").json() == []
    cli.ok("artifact", "put", str(data_dir), "--name", "proj/ds", "--type", "dataset")
    result = cli.fails("artifact", "get", "proj/ds:v0", "--root", "out", env=bad)
    assert "nosuchrun" in result.stderr and not (repo_dir / "out").exists()
    result = cli.fails(
        "artifact",
        "put",
        str(data_dir),
        "--name",
        "proj/ds",
        "--type",
        "dataset",
        env={"ARTCTL_RUN": "../../etc"},
    )
    assert "invalid run id" in result.stderr
    assert [v["version"] for v in cli.ok("artifact", "ls", "proj/ds", "--json").json()] == ["v0"]
    assert cli.ok("artifact", "show", "proj/ds:v0", "--json").json()["logged_by"] is None


def test_finishing_twice_and_linking_to_a_finished_run_fail(cli, repo_dir: Path, data_dir: Path) -> None:
    run_id = _start(cli, "--job-type", "train")
    assert cli.ok("run", "finish", run_id, "--failed").stdout.strip() == f"run {run_id} failed"
    result = cli.fails("run", "finish", run_id)
    assert "already failed" in result.stderr
    result = cli.fails(
        "artifact", "put", str(data_dir), "--name", "proj/ds", "--type", "dataset", env={"ARTCTL_RUN": run_id}
    )
    assert "already failed" in result.stderr
    assert cli.ok("artifact", "ls", "--json").json() == []
    cli.fails("run", "finish", code=2)  # no id and no ARTCTL_RUN
    cli.fails("run", "show", "nosuchrun")
    cli.fails("run", "start", "--job-type", "train", "--config", "[1]", code=2)
    cli.fails("run", "start", "--job-type", "bad type!", code=2)


def test_cycle_attempt_is_refused_and_changes_nothing(cli, repo_dir: Path, data_dir: Path) -> None:
    cli.ok("artifact", "put", str(data_dir), "--name", "proj/ds", "--type", "dataset")
    run_id = _start(cli, "--job-type", "clean")
    env = {"ARTCTL_RUN": run_id}
    cli.ok("artifact", "get", "proj/ds:v0", "--root", "in", env=env)
    # Logging identical content resolves to the version it used: a run using its own output.
    result = cli.fails(
        "artifact",
        "put",
        str(data_dir),
        "--name",
        "proj/ds",
        "--type",
        "dataset",
        "--alias",
        "clean",
        env=env,
    )
    assert "cycle" in result.stderr
    shown = cli.ok("artifact", "show", "proj/ds:v0", "--json").json()
    assert shown["aliases"] == ["latest", "v0"]  # the alias did not move
    record = cli.ok("run", "show", run_id, "--json").json()
    assert record["outputs"] == [] and [i["ref"] for i in record["inputs"]] == ["proj/ds:v0"]


def test_transitive_cycle_is_refused_in_python(repo_dir: Path, data_dir: Path) -> None:
    import artctl
    from artctl.errors import RunError

    a = artctl.init(project="proj", job_type="a", dir=repo_dir)
    x = a.log_artifact(str(data_dir), name="x", type="dataset")
    b = artctl.init(project="proj", job_type="b", dir=repo_dir)
    b.use_artifact("x")
    y = b.log_artifact(str(data_dir / "a.txt"), name="y", type="dataset")
    with pytest.raises(RunError, match="cycle"):
        a.use_artifact(y)  # a → x → b → y → a
    with pytest.raises(RunError, match="cycle"):
        a.use_artifact("proj/x:v0")  # its own output
    c = artctl.init(project="proj", job_type="c", dir=repo_dir)
    c.use_artifact("proj/y")
    with pytest.raises(RunError, match="cycle"):
        c.log_artifact(x)  # x → b → y → c → x
    assert a.used_artifacts() == [] and c.logged_artifacts() == []
    assert [art.qualified_name for art in b.used_artifacts()] == [x.qualified_name]


# -- Python runs -------------------------------------------------------------------------------
def test_python_run_api(repo_dir: Path, workdir: Path) -> None:
    import artctl
    from artctl.errors import RunError

    make_tree(workdir / "raw", {"a.csv": "1,2\n"})
    with artctl.init(
        project="proj", job_type="create-dataset", name="make", config={"seed": 1}, dir=repo_dir
    ) as create:
        ds = artctl.Artifact("ds", type="dataset")
        ds.add_dir(workdir / "raw")
        create.log_artifact(ds)
    assert create.record.status == "finished" and create.record.config == {"seed": 1}
    assert ds.logged_by().id == create.id and ds.used_by() == []

    train = artctl.init(project="proj", job_type="train", dir=repo_dir)
    used = train.use_artifact("ds:latest")
    assert used.qualified_name == "proj/ds:v0"
    staged = artctl.Artifact("extra", type="dataset")
    staged.add_file(workdir / "raw" / "a.csv", name="b.csv")
    first = train.use_artifact(staged)  # unsaved: logged (without a producer), then used
    again = train.use_artifact(staged)  # idempotent
    twin = artctl.Artifact("extra", type="dataset")
    twin.add_file(workdir / "raw" / "a.csv", name="b.csv")
    third = train.use_artifact(twin)  # identical content → the same version, not a new one
    assert first.qualified_name == again.qualified_name == third.qualified_name == "proj/extra:v0"
    assert first.logged_by() is None
    model = artctl.Artifact("model", type="model", metadata={"acc": 0.9})
    with model.new_file("w.txt") as fh:
        fh.write("weights")
    train.log_artifact(model, aliases=["best"])
    assert [a.qualified_name for a in train.used_artifacts()] == ["proj/ds:v0", "proj/extra:v0"]
    assert [a.qualified_name for a in train.logged_artifacts()] == ["proj/model:v0"]
    train.finish()
    with pytest.raises(RunError, match="already finished"):
        train.finish()

    evaluate = artctl.init(project="proj", job_type="evaluate", dir=repo_dir)
    best = evaluate.use_artifact("model:best", type="model")
    evaluate.finish()
    api = artctl.Api(dir=repo_dir)
    assert [r.id for r in api.artifact("proj/ds:v0").used_by()] == [train.id]
    assert api.artifact("proj/model:v0").logged_by().id == train.id
    assert [r.id for r in best.used_by()] == [evaluate.id]
    record = api.run(train.id).record
    assert record.command == sys.argv and record.host and record.cwd and record.started_at
    with pytest.raises(RunError, match="not found"):
        api.run("nosuchrun")


# -- run exec ----------------------------------------------------------------------------------
def test_run_exec_fetches_inputs_runs_and_logs(cli, repo_dir: Path, data_dir: Path) -> None:
    cli.ok("artifact", "put", str(data_dir), "--name", "proj/ds-main", "--type", "dataset")
    cli.ok("artifact", "put", str(data_dir / "a.txt"), "--name", "other/ds-main", "--type", "dataset")
    cli.ok("artifact", "put", str(data_dir / "sub"), "--name", "proj/labels", "--type", "dataset")
    script = (
        "import json, os, pathlib, shutil\n"
        "env = {k: v for k, v in os.environ.items() if k.startswith('ARTCTL_')}\n"
        "out = pathlib.Path(os.environ['ARTCTL_OUTPUT_0'])\n"
        "out.mkdir()\n"
        "shutil.copy(pathlib.Path(os.environ['ARTCTL_INPUT_LABELS']) / 'b.txt', out / 'b.txt')\n"
        "(out / 'env.json').write_text(json.dumps(env, sort_keys=True))\n"
        "print('hello from the command')\n"
    )
    result = cli.ok(
        "run",
        "exec",
        "--job-type",
        "train",
        "--use",
        "proj/ds-main",
        "--use",
        "other/ds-main:v0",
        "--use",
        "proj/labels:latest",
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
        script,
    )
    doc = result.json()  # the command's stdout went to stderr, so stdout is one JSON document
    assert "hello from the command" in result.stderr
    run_id = doc["run"]
    assert doc["status"] == "finished" and doc["exit_code"] == 0
    assert [o["name"] for o in doc["outputs"]] == ["proj/model"]
    env = json.loads((repo_dir / "model" / "env.json").read_text())
    paths = [str(repo_dir / "artifacts" / n) for n in ("ds-main:v0", "ds-main:v0", "labels:v0")]
    # proj/ds-main and other/ds-main share the suffix DS_MAIN: only the numbered variables name them
    assert env == {
        "ARTCTL_RUN": run_id,
        "ARTCTL_DIR": str(repo_dir / ".artifacts"),
        "ARTCTL_INPUT_0": paths[0],
        "ARTCTL_INPUT_1": paths[1],
        "ARTCTL_INPUT_2": paths[2],
        "ARTCTL_INPUT_LABELS": paths[2],
        "ARTCTL_OUTPUT_0": str(repo_dir / "model"),
        "ARTCTL_INPUTS": json.dumps(
            {"other/ds-main:v0": paths[1], "proj/ds-main:v0": paths[0], "proj/labels:v0": paths[2]},
            sort_keys=True,
        ),
    }
    assert [i["env"] for i in doc["inputs"]] == [
        ["ARTCTL_INPUT_0"],
        ["ARTCTL_INPUT_1"],
        ["ARTCTL_INPUT_2", "ARTCTL_INPUT_LABELS"],
    ]
    record = cli.ok("run", "show", run_id, "--json").json()
    assert record["command"] == [PY, "-c", script] and record["exit_code"] == 0
    assert [i["ref"] for i in record["inputs"]] == ["proj/ds-main:v0", "other/ds-main:v0", "proj/labels:v0"]
    assert [o["ref"] for o in record["outputs"]] == ["proj/model:v0"]


def test_run_exec_failure_logs_nothing_and_passes_the_exit_code(cli, repo_dir: Path, data_dir: Path) -> None:
    cli.ok("artifact", "put", str(data_dir), "--name", "proj/ds", "--type", "dataset")
    script = "import os; os.mkdir('model'); open('model/w', 'w').write('x'); raise SystemExit(7)"
    result = cli(
        "run",
        "exec",
        "--job-type",
        "train",
        "--use",
        "proj/ds",
        "--log",
        "model",
        "--name",
        "proj/model",
        "--type",
        "model",
        "--",
        PY,
        "-c",
        script,
    )
    assert result.returncode == 7 and "Traceback" not in result.stderr, result
    runs = cli.ok("run", "ls", "--json").json()
    assert [(r["status"], r["exit_code"]) for r in runs] == [("failed", 7)]
    assert runs[0]["outputs"] == [] and [i["ref"] for i in runs[0]["inputs"]] == ["proj/ds:v0"]
    assert [a["name"] for a in cli.ok("artifact", "ls", "--json").json()] == ["proj/ds"]
    # success but the --log path was never written: failed run, nothing logged, exit 1
    result = cli.fails(
        "run",
        "exec",
        "--job-type",
        "train",
        "--log",
        "nothing",
        "--name",
        "proj/model",
        "--type",
        "model",
        "--",
        PY,
        "-c",
        "pass",
    )
    assert "did not create nothing" in result.stderr
    assert [r["status"] for r in cli.ok("run", "ls", "--json").json()] == ["failed", "failed"]
    # killed by a signal → 128 + N, as a shell reports it
    result = cli(
        "run",
        "exec",
        "--job-type",
        "x",
        "--",
        PY,
        "-c",
        "import os, signal; os.kill(os.getpid(), signal.SIGTERM)",
    )
    assert result.returncode == 143, result


def test_run_exec_bad_input(cli, repo_dir: Path, data_dir: Path) -> None:
    result = cli.fails("run", "exec", "--job-type", "train", code=2)
    assert "no command given" in result.stderr
    cli.fails("run", "exec", "--job-type", "train", "--", code=2)
    result = cli.fails(
        "run", "exec", "--job-type", "t", "--log", "m", "--name", "proj/m", "--", "true", code=2
    )
    assert "--type" in result.stderr
    # checked before any run exists
    result = cli.fails("run", "exec", "--job-type", "t", "--use", "proj/nothing", "--", "true")
    assert "proj/nothing not found" in result.stderr
    cli.ok("artifact", "put", str(data_dir), "--name", "proj/ds", "--type", "dataset")
    result = cli.fails(
        "run", "exec", "--job-type", "t", "--log", "x", "--name", "proj/ds", "--type", "model", "--", "true"
    )
    assert "already exists with type 'dataset'" in result.stderr
    assert cli.ok("run", "ls", "--json").json() == []
    result = cli.fails("run", "exec", "--job-type", "t", "--", "no-such-command-artctl", code=127)
    assert result.stderr.startswith("error: command not found: no-such-command-artctl")
    runs = cli.ok("run", "ls", "--json").json()
    assert [(r["status"], r["exit_code"]) for r in runs] == [("failed", 127)]  # as a shell would


def test_parallel_puts_into_one_run_lose_no_link(cli, repo_dir: Path, workdir: Path) -> None:
    from conftest import cli_env

    run_id = _start(cli, "--job-type", "shard")
    procs = []
    for i in range(6):
        make_tree(workdir / f"s{i}", {"part.txt": f"shard {i}\n"})
        procs.append(
            subprocess.Popen(
                [
                    PY,
                    "-m",
                    "artctl",
                    "artifact",
                    "put",
                    str(workdir / f"s{i}"),
                    "--name",
                    f"proj/shard-{i}",
                    "--type",
                    "dataset",
                ],
                cwd=repo_dir,
                env=cli_env({"ARTCTL_RUN": run_id}),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    outputs = cli.ok("run", "show", run_id, "--json").json()["outputs"]
    assert sorted(o["ref"] for o in outputs) == [f"proj/shard-{i}:v0" for i in range(6)]
