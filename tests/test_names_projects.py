"""Issue 17: what a name means (entity, default project) and the life of a collection's name
(rename, delete frees it), through the CLI and the Python API alike (docs/names.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import artctl
from artctl.errors import ArtctlError, ArtifactNotFound

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
    assert cli.ok("run", "start", "--job-type", "t", "--json").json()["project"] == "vision"
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
    with pytest.raises(ArtifactNotFound, match="uncategorized/mnist"):  # as wandb.Api reads it
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


def test_wandb_surfaces_without_any_project_use_uncategorized(cli, repo_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """W&B's ``wandb.init(project=None)`` with no project anywhere runs in ``uncategorized``;
    so do ``artifact.save()``'s ``auto`` run and the bare names used, logged and linked inside
    the run. A default project (``core.project``) and an explicit ``project=`` still win."""
    draft = artctl.Artifact("mnist", "dataset")
    with draft.new_file("a.txt") as fh:
        fh.write("1")
    draft.save()  # outside a run: it raised "has no project"
    assert draft.qualified_name == "uncategorized/mnist:v0"
    assert draft.logged_by().job_type == "auto" and draft.logged_by().project == "uncategorized"
    with artctl.init(job_type="train") as run:
        assert run.project == "uncategorized"
        assert run.use_artifact("mnist").qualified_name == "uncategorized/mnist:v0"
        model = artctl.Artifact("model", "model")
        with model.new_file("w.bin") as fh:
            fh.write("w")
        linked = run.link_artifact(model, "best-models")
    assert model.qualified_name == "uncategorized/model:v0"
    assert linked.qualified_name == "uncategorized/best-models:v0"
    assert "uncategorized/mnist" in cli.ok("artifact", "ls", "uncategorized").stdout
    cli.ok("config", "core.project", "vision")
    with artctl.init(job_type="train") as run:
        assert run.project == "vision"
    with artctl.init(project="audio", job_type="train") as run:
        assert run.project == "audio"


# -- 3. rename: every version, alias and run link, whole or not at all --------------------------------
def _collection_with_a_run(cli, repo_dir: Path) -> str:  # type: ignore[no-untyped-def]
    """``p/m`` (model, v0 and v1, alias ``best`` on v0) used by a finished run; return its id."""
    make_tree(repo_dir / "d", {"w.bin": "weights 0"})
    cli.ok("artifact", "put", "d", "--name", "p/m", "--type", "model")
    make_tree(repo_dir / "d", {"w.bin": "weights 1"})
    cli.ok("artifact", "put", "d", "--name", "p/m", "--type", "model", "--alias", "best")
    run_id = cli.ok("run", "start", "--job-type", "eval", "--json").json()["id"]
    cli.ok("artifact", "get", "p/m:best", "--root", "used", "--run", run_id)
    cli.ok("run", "finish", run_id)
    return run_id


def _renamed_whole(cli, repo_dir: Path, run_id: str, before: dict[str, dict]) -> None:  # type: ignore[no-untyped-def]
    """Only ``p/m2`` exists, with the same versions, aliases, digests and the run's link."""
    assert [a["name"] for a in cli.ok("artifact", "ls", "--json").json()] == ["p/m2"]
    assert "not found" in cli.fails("artifact", "show", "p/m").stderr
    for version, shown in before.items():
        now = _show(cli, f"p/m2:{version}")
        assert (now["digest"], now["entries"], now["type"]) == (shown["digest"], shown["entries"], "model")
    assert _show(cli, "p/m2:best")["version"] == "v1"
    inputs = cli.ok("run", "show", run_id, "--json").json()["inputs"]
    assert [(i["name"], i["version"]) for i in inputs] == [("p/m2", "v1")]
    graph = cli.ok("lineage", "p/m2:best", "--format", "json").json()
    assert f"run:{run_id}" in {n["id"] for n in graph["nodes"]}
    cli.ok("artifact", "get", "p/m2:v0", "--root", "check")
    assert (repo_dir / "check" / "w.bin").read_text() == "weights 0"
    cli.ok("artifact", "verify")


def test_rename_moves_versions_aliases_and_run_links_cli_and_python(cli, repo_dir: Path) -> None:  # type: ignore[no-untyped-def]
    run_id = _collection_with_a_run(cli, repo_dir)
    before = {v: _show(cli, f"p/m:{v}") for v in ("v0", "v1")}
    renamed = cli.ok("artifact", "rename", "p/m", "m2", "--json").json()  # stays in project p
    assert renamed == {"old": "p/m", "new": "p/m2", "type": "model", "versions": ["v0", "v1"]}
    _renamed_whole(cli, repo_dir, run_id, before)
    make_tree(repo_dir / "d", {"w.bin": "weights 2"})
    assert "p/m2:v2" in cli.ok("artifact", "put", "d", "--name", "p/m2").stdout  # numbering goes on
    # The old name is free: a new collection starts there at v0.
    assert "p/m:v0" in cli.ok("artifact", "put", "d", "--name", "p/m", "--type", "dataset").stdout
    failed = cli.fails("artifact", "rename", "p/m2", "p/m")
    assert "already exists" in failed.stderr and "hint:" in failed.stderr
    cli.fails("artifact", "rename", "p/missing", "p/other")
    cli.fails("artifact", "rename", "p/m2:v0", "p/other", code=2)
    # W&B: collection.name = "new"; collection.save()
    collection = artctl.Api().artifact_collection("model", "p/m2")
    collection.name = "m3"
    collection.description = "renamed from Python"
    collection.save()
    again = artctl.Api().artifact_collection("model", "p/m3")
    assert (again.name, again.description, [a.version for a in again.versions()]) == (
        "m3",
        "renamed from Python",
        ["v0", "v1", "v2"],
    )
    assert not artctl.Api().artifact_collection_exists("p/m2", "model")
    assert artctl.Api().run(run_id).used_artifacts()[0].qualified_name == "p/m3:v1"
    taken = artctl.Api().artifact_collection("model", "p/m3")
    taken.name = "m"
    with pytest.raises(ArtctlError, match="already exists"):
        taken.save()


def test_a_rename_into_another_project_is_found_from_the_old_name(cli, repo_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """`artifact show OLD` says where it went, and the same rename runs again, also when the
    new name is in another project (only OLD's project was searched)."""
    make_tree(repo_dir / "d", {"w.bin": "weights"})
    cli.ok("artifact", "put", "d", "--name", "lab/cnn", "--type", "model")
    cli.ok("artifact", "get", "lab/cnn", "--root", "work")
    cli.ok("artifact", "rename", "lab/cnn", "prod/cnn")
    assert "hint: it was renamed to prod/cnn" in cli.fails("artifact", "show", "lab/cnn").stderr
    cli.ok("artifact", "rename", "lab/cnn", "prod/cnn")  # repeated: already done
    assert cli.ok("status", "--json", cwd=repo_dir / "work").json()["name"] == "prod/cnn"


RENAME_POINTS = [
    "rename.after-intent",
    "rename.after-new-directory",
    "rename.after-old-moved",
    "rename.after-runs",
]


def test_rename_passes_its_crash_points_in_order(cli, repo_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from conftest import crash_trace

    _collection_with_a_run(cli, repo_dir)
    trace = crash_trace("artifact", "rename", "p/m", "p/m2", cwd=repo_dir, trace=tmp_path / "trace")
    assert [p for p in trace if p.startswith("rename.")] == RENAME_POINTS


@pytest.mark.parametrize("point", RENAME_POINTS)
def test_rename_killed_at_any_point_leaves_the_old_or_the_new_name_whole(
    cli, repo_dir: Path, point: str
) -> None:  # type: ignore[no-untyped-def]
    from conftest import run_killed_at

    run_id = _collection_with_a_run(cli, repo_dir)
    before = {v: _show(cli, f"p/m:{v}") for v in ("v0", "v1")}
    run_killed_at(point, "artifact", "rename", "p/m", "p/m2", cwd=repo_dir)
    # The intent was written before the kill: every reader finishes the rename before looking.
    _renamed_whole(cli, repo_dir, run_id, before)
    again = cli.ok("artifact", "rename", "p/m", "p/m2", "--json").json()  # the same command again
    assert again["new"] == "p/m2" and again["versions"] == ["v0", "v1"]
    _renamed_whole(cli, repo_dir, run_id, before)
    artifacts = repo_dir / ".artifacts"
    assert list((artifacts / "tmp").iterdir()) == []  # no debris
    assert list((artifacts / "journal" / "renames").iterdir()) == []
    assert sorted(p.name for p in (artifacts / "registry" / "p").iterdir()) == ["m2"]


def test_rename_killed_before_its_intent_leaves_the_old_name(cli, repo_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """A kill while the new name is being freed (before the intent): nothing renamed yet."""
    from conftest import run_killed_at

    run_id = _collection_with_a_run(cli, repo_dir)
    make_tree(repo_dir / "d2", {"x.txt": "x"})
    cli.ok("artifact", "put", "d2", "--name", "p/m2", "--type", "dataset")
    cli.ok("artifact", "rm", "p/m2", "--all")  # a deleted collection: its name is free
    run_killed_at("retire.after-rename", "artifact", "rename", "p/m", "p/m2", cwd=repo_dir)
    assert [a["name"] for a in cli.ok("artifact", "ls", "--json").json()] == ["p/m"]
    assert _show(cli, "p/m:best")["version"] == "v1"
    cli.ok("artifact", "verify")
    cli.ok("artifact", "rename", "p/m", "p/m2")
    inputs = cli.ok("run", "show", run_id, "--json").json()["inputs"]
    assert [(i["name"], i["version"]) for i in inputs] == [("p/m2", "v1")]


# -- 4. deleting a collection frees its name -----------------------------------------------------------
def test_deleting_a_collection_frees_its_name_cli(cli, repo_dir: Path) -> None:  # type: ignore[no-untyped-def]
    run_id = _collection_with_a_run(cli, repo_dir)
    cli.ok("artifact", "rm", "p/m", "--all", "--delete-aliases")
    make_tree(repo_dir / "d", {"rows.csv": "a,b\n"})
    fresh = cli.ok("artifact", "put", "d", "--name", "p/m", "--type", "dataset", "--json").json()
    assert (fresh["version"], fresh["type"], fresh["created"]) == ("v0", "dataset", True)
    every = cli.ok("artifact", "ls", "p/m", "--all", "--json").json()
    assert [(v["version"], v["state"], v["type"]) for v in every] == [("v0", "committed", "dataset")]
    assert "no alias 'best'" in cli.fails("artifact", "show", "p/m:best").stderr
    # The old run's link names the deleted v1 (another digest): it is not the new collection's.
    graph = cli.ok("lineage", "p/m:v0", "--format", "json").json()
    assert f"run:{run_id}" not in {n["id"] for n in graph["nodes"]}
    assert "already deleted" not in cli.ok("artifact", "rm", "p/m", "--all").stderr
    assert "already deleted" in cli.fails("artifact", "rm", "p/m", "--all").stderr
    cli.ok("artifact", "verify")
    cli.ok("gc", "--grace-period", "0")
    cli.ok("artifact", "verify")


def test_deleting_a_collection_frees_its_name_python(repo_dir: Path) -> None:
    def log(kind: str, text: str) -> artctl.Artifact:
        art = artctl.Artifact("p/cats", kind)
        with art.new_file("f.txt") as fh:
            fh.write(text)
        art.save()
        return art

    log("model", "1")
    log("model", "2")
    api = artctl.Api(overrides={"project": "p"})
    api.artifact_collection("model", "cats").delete()
    assert not api.artifact_collection_exists("cats", "model")
    with pytest.raises(ArtifactNotFound):
        api.artifact_collection("model", "cats")
    again = log("dataset", "3")
    assert (again.version, again.type) == ("v0", "dataset")
    assert [a.version for a in api.artifact_collection("dataset", "cats").versions()] == ["v0"]


def test_delete_collection_killed_before_the_mark_is_finished_by_a_rerun(cli, repo_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from conftest import run_killed_at

    _collection_with_a_run(cli, repo_dir)
    run_killed_at("delete-collection.before-mark", "artifact", "rm", "p/m", "--all", cwd=repo_dir)
    assert cli.ok("artifact", "ls", "--json").json() == []  # every version deleted already
    cli.ok("artifact", "verify")
    assert cli.ok("artifact", "rm", "p/m", "--all", "--json").json()["deleted"] == []  # finished
    make_tree(repo_dir / "d", {"rows.csv": "a,b\n"})
    assert cli.ok("artifact", "put", "d", "--name", "p/m", "--json").json()["version"] == "v0"
    assert list((repo_dir / ".artifacts" / "tmp").iterdir()) == []
