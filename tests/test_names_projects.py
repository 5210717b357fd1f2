"""Issue 17: what a name means (entity, default project) and the life of a collection's name
(rename, delete frees it), through the CLI and the Python API alike (docs/names.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import artctl
from artctl.errors import ArtctlError, ArtifactNotFound, InvalidName

from conftest import make_tree


@pytest.fixture(autouse=True)
def _no_active_run():  # type: ignore[no-untyped-def]
    yield
    from artctl.api import run as run_api

    run_api._active = None


def _show(cli, ref: str, **kwargs) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(cli.ok("artifact", "show", ref, "--json", **kwargs).stdout)


# -- 1. entity/project/name: the entity is the repository's owner ------------------------------------
def test_entity_prefix_names_the_owner_not_another_artifact_cli(cli, repo_dir: Path) -> None:  # type: ignore[no-untyped-def]
    make_tree(repo_dir / "d", {"a.txt": "1"})
    cli.ok("artifact", "put", "d", "--name", "proj/ds", "--type", "dataset")
    # No owner configured: any entity prefix names the same artifact (W&B scripts run as written).
    assert _show(cli, "someone/proj/ds:v0")["name"] == "proj/ds"
    put = cli.ok("artifact", "put", "d", "--name", "team/proj/ds", "--type", "dataset", "--json")
    assert json.loads(put.stdout)["created"] is False  # the same artifact, the same content
    cli.ok("config", "core.entity", "alice")
    assert _show(cli, "alice/proj/ds")["version"] == "v0"
    assert "proj/ds" in cli.ok("artifact", "ls", "alice/proj").stdout
    failed = cli.fails("artifact", "get", "bob/proj/ds", "--root", "out")
    assert "'bob'" in failed.stderr and "'alice'" in failed.stderr and "hint:" in failed.stderr
    cli.fails("artifact", "put", "d", "--name", "bob/proj/other", "--type", "dataset")
    cli.fails("artifact", "ls", "bob/proj")
    assert not (repo_dir / "out").exists()
    assert not list((repo_dir / ".artifacts" / "registry").glob("@*"))  # no entity namespace on disk
    cli.fails("config", "core.entity", "a/b", code=2)


def test_entity_in_python_overrides_runs_and_projects(cli, repo_dir: Path) -> None:  # type: ignore[no-untyped-def]
    make_tree(repo_dir / "d", {"a.txt": "1"})
    cli.ok("artifact", "put", "d", "--name", "proj/ds", "--type", "dataset")
    with artctl.init(project="proj", job_type="train") as run:
        run.use_artifact("ds")
    run_id = run.id
    api = artctl.Api(overrides={"entity": "acme", "project": "proj"})  # no owner set: taken as given
    assert api.artifact("ds").qualified_name == "proj/ds:v0"
    assert api.artifact("acme/proj/ds:v0").entity is None  # artifacts belong to the repository
    with pytest.raises(ArtifactNotFound, match="'other'.*'acme'"):
        api.artifact("other/proj/ds")
    cli.ok("config", "core.entity", "acme")
    api = artctl.Api(overrides={"entity": "acme", "project": "proj"})
    assert api.artifact("ds").entity == "acme"
    assert api.run(f"acme/proj/{run_id}").id == run_id
    assert [r.id for r in api.runs("acme/proj")] == [run_id]
    assert api.runs("acme/elsewhere") == []
    assert [(p.name, p.entity) for p in api.projects()] == [("proj", "acme")]
    with pytest.raises(ArtctlError, match="'bob'.*'acme'"):
        api.run(f"bob/proj/{run_id}")
    with pytest.raises(ArtifactNotFound, match="'bob'.*'acme'"):
        artctl.Api(overrides={"entity": "bob"})
    with pytest.raises(ArtifactNotFound, match="'bob'.*'acme'"):
        artctl.init(entity="bob", job_type="train")


# -- 2. a default project for bare names, in every command ---------------------------------------------
def test_default_project_applies_to_bare_names_in_every_cli_command(cli, repo_dir: Path) -> None:  # type: ignore[no-untyped-def]
    make_tree(repo_dir / "d", {"a.txt": "1"})
    failed = cli.fails("artifact", "put", "d", "--name", "mnist", "--type", "dataset", code=2)
    assert "has no project" in failed.stderr and "core.project" in failed.stderr
    cli.ok("config", "core.project", "vision")
    assert "vision/mnist:v0" in cli.ok("artifact", "put", "d", "--name", "mnist").stdout
    (repo_dir / "d" / "a.txt").write_text("2")
    cli.ok("artifact", "put", "d", "--name", "mnist")
    cli.ok("alias", "add", "mnist:v0", "best")
    assert "best" in cli.ok("alias", "ls", "mnist").stdout
    assert _show(cli, "mnist:best")["name"] == "vision/mnist"
    assert "a.txt" in cli.ok("artifact", "diff", "mnist:v0", "mnist:v1").stdout
    cli.ok("artifact", "update", "mnist:v1", "--description", "second")
    assert "second" in cli.ok("artifact", "log", "mnist").stdout
    assert cli.ok("artifact", "get", "mnist:best", "--root", "out").stdout.strip().endswith("out")
    assert (repo_dir / "out" / "a.txt").read_text() == "1"
    versions = json.loads(cli.ok("artifact", "ls", "mnist", "--json").stdout)
    assert [v["version"] for v in versions] == ["v0", "v1"]
    graph = json.loads(cli.ok("lineage", "mnist", "--format", "json").stdout)
    assert any(n["id"].endswith("vision/mnist:v1") for n in graph["nodes"])
    cli.ok("artifact", "verify", "mnist")
    cli.ok("alias", "rm", "mnist", "best")
    # ARTCTL_PROJECT wins over core.project (a shell's or CI job's choice over the file's).
    other = cli.ok("artifact", "put", "d", "--name", "mnist", env={"ARTCTL_PROJECT": "audio"})
    assert "audio/mnist:v0" in other.stdout
    cli.ok("artifact", "rm", "mnist", "--all", env={"ARTCTL_PROJECT": "audio"})
    assert _show(cli, "mnist")["version"] == "v1"  # vision/mnist untouched
    failed = cli.fails("artifact", "show", "mnist", env={"ARTCTL_PROJECT": "bad project"}, code=2)
    assert "ARTCTL_PROJECT" in failed.stderr


def test_default_project_applies_to_bare_names_in_python(cli, repo_dir: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidName, match="has no project"):
        artctl.Api().artifact("mnist")
    cli.ok("config", "core.project", "vision")
    art = artctl.Artifact("mnist", "dataset")
    with art.new_file("a.txt") as fh:
        fh.write("1")
    art.save()  # outside a run: an `auto` run logs it, in the default project
    assert art.qualified_name == "vision/mnist:v0"
    assert artctl.Api().artifact("mnist:v0").qualified_name == "vision/mnist:v0"
    assert [c.name for c in artctl.Api().artifact_collections()] == ["mnist"]
    with artctl.init(job_type="eval") as run:
        assert run.project == "vision"
        assert run.use_artifact("mnist").qualified_name == "vision/mnist:v0"
    assert artctl.Api(overrides={"project": "other"}).artifact_exists("mnist") is False
