"""W&B's Python names beyond the guide's snippets (issue 17): each means what it means in W&B."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

import artctl
from artctl.errors import ArtctlError, InvalidInput, InvalidName

from conftest import make_tree


@pytest.fixture(autouse=True)
def _no_active_run():  # type: ignore[no-untyped-def]
    yield
    from artctl.api import run as run_api

    run_api._active = None


def _log(name: str, files: dict[str, str], **kwargs) -> artctl.Artifact:  # type: ignore[no-untyped-def]
    art = artctl.Artifact(name, "dataset", **kwargs)
    for path, text in files.items():
        with art.new_file(path) as fh:
            fh.write(text)
    art.save()
    return art


def test_name_is_name_colon_version_and_aliases_hold_no_version(repo_dir: Path) -> None:
    first = _log("p/ds", {"a.txt": "1"})
    second = _log("p/ds", {"a.txt": "2"})
    assert (first.name, first.qualified_name, first.version) == ("ds:v0", "p/ds:v0", "v0")
    old = artctl.Api().artifact("p/ds:v0")
    assert old.aliases == [] and old.name == "ds:v0" and second.aliases == ["latest"]
    with pytest.raises(ValueError):
        old.aliases.remove("latest")  # not there: plain list behaviour
    with pytest.raises(InvalidName, match="newest version"):
        old.aliases.append("latest")
    with pytest.raises(InvalidInput, match="cannot be removed"):
        second.aliases.remove("latest")
    with pytest.raises(InvalidInput, match="cannot be removed"):
        second.aliases.clear()
    with pytest.raises(InvalidName, match="managed"):
        second.aliases.append("v3")
    with pytest.raises(InvalidInput):
        first.name = "other"  # a saved version's name is fixed
    second.aliases += ["best", "best"]
    second.save()
    assert artctl.Api().artifact("p/ds:best").aliases == ["latest", "best"]


def test_checkout_makes_the_directory_exactly_the_version(repo_dir: Path, tmp_path: Path) -> None:
    art = _log("p/ds", {"a.txt": "A", "sub/b.txt": "B"})
    root = make_tree(
        repo_dir / "wd",
        {
            "a.txt": "edited",
            "extra.txt": "x",
            "junk/deep/c.txt": "c",
            "sub": "a file where the version has a directory",
        },
    )
    outside = make_tree(tmp_path / "outside", {"keep.txt": "k"})
    os.symlink(outside, root / "link")
    assert Path(art.checkout(root)) == root.resolve()
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
    assert files == ["a.txt", "sub", "sub/b.txt"]
    assert (root / "a.txt").read_text() == "A" and (outside / "keep.txt").exists()
    art.verify(root)


def test_download_allow_missing_references(repo_dir: Path, tmp_path: Path) -> None:
    data = make_tree(tmp_path / "nfs", {"a.txt": "a", "b.txt": "b"})
    art = artctl.Artifact("p/refs", "dataset")
    art.add_reference(data.as_uri())
    art.save()
    (data / "b.txt").write_text("changed")  # never downloaded: the logged state is gone
    with pytest.raises(ArtctlError):
        art.download(root="strict")
    root = Path(art.download(root="lenient", allow_missing_references=True))
    assert sorted(p.name for p in root.iterdir()) == ["a.txt"]


def test_download_skip_cache_writes_independent_copies(repo_dir: Path) -> None:
    art = _log("p/ds", {"big.bin": "x" * 2_000_000})  # above the pack threshold: a loose object
    artctl.Repo().repository.config.set("core.link", "hardlink")
    linked = Path(art.download(root="linked")) / "big.bin"
    copied = Path(art.download(root="copied", skip_cache=True)) / "big.bin"
    assert linked.stat().st_nlink > 1 and copied.stat().st_nlink == 1
    assert copied.read_text() == "x" * 2_000_000


def test_id_updated_at_collection_draft_and_wait(repo_dir: Path) -> None:
    draft = artctl.Artifact("p/ds", "dataset")
    assert draft.is_draft() and draft.id is None
    with pytest.raises(ArtctlError, match="not saved"):
        draft.wait()
    one = _log("p/ds", {"a.txt": "1"})
    two = _log("p/ds", {"a.txt": "2"})
    assert not one.is_draft() and one.wait() is one
    assert one.id and one.id != two.id and artctl.Api().artifact("p/ds:v0").id == one.id
    assert one.updated_at == one.created_at
    one.description = "edited"
    one.save()
    assert one.updated_at > one.created_at
    collection = two.collection
    assert (collection.name, collection.type, collection.aliases) == ("ds", "dataset", ["latest"])
    assert [v.name for v in collection.versions()] == ["ds:v0", "ds:v1"]


def test_ttl_inherit_none_and_timedelta(repo_dir: Path) -> None:
    artctl.Repo().repository.config.set("ttl.project.p", "30d")
    inherited = _log("p/a", {"a.txt": "1"})
    assert artctl.Artifact("p/x", "dataset").ttl is artctl.ArtifactTTL.INHERIT
    assert inherited.ttl == timedelta(days=30)
    none = _log("p/b", {"a.txt": "1"}, ttl=None)
    assert none.ttl is None  # None means no TTL, not the project's default
    none.ttl = artctl.ArtifactTTL.INHERIT
    none.save()
    assert artctl.Api().artifact("p/b").ttl == timedelta(days=30)
    none.ttl = None
    none.save()
    assert artctl.Api().artifact("p/b").ttl is None
    with pytest.raises(InvalidInput):
        none.ttl = 30  # type: ignore[assignment]


def test_tags_on_versions_and_collections(repo_dir: Path) -> None:
    art = _log("p/ds", {"a.txt": "1"}, tags=["raw data", "v-2"])
    assert artctl.Api().artifact("p/ds").tags == ["raw data", "v-2"]
    art.tags.append("clean")
    art.save()
    assert artctl.Api().artifact("p/ds").tags == ["clean", "raw data", "v-2"]  # tags are kept sorted
    with pytest.raises(InvalidName):
        art.tags = ["bad/tag"]
    collection = artctl.Api().artifact_collection("dataset", "p/ds")
    collection.tags = ["curated"]
    collection.description = "the data"
    collection.save()
    again = artctl.Api().artifact_collection("dataset", "p/ds")
    assert (again.tags, again.description) == (["curated"], "the data")


def test_init_fields_active_run_and_use_as(repo_dir: Path) -> None:
    _log("p/ds", {"a.txt": "1"})
    assert artctl.run is None
    run = artctl.init(
        project="p",
        job_type="train",
        name="first",
        entity="team",
        group="g1",
        tags=["baseline"],
        notes="try 1",
        config={"lr": 0.1},
    )
    assert artctl.run is run
    assert (run.entity, run.group, run.tags, run.notes, run.name, run.config) == (
        "team",
        "g1",
        ("baseline",),
        "try 1",
        "first",
        {"lr": 0.1},
    )
    run.use_artifact("ds:latest", use_as="training data")
    assert run.record.inputs[0].use_as == "training data"
    draft = artctl.Artifact("model", "model")
    with draft.new_file("w.bin") as fh:
        fh.write("w")
    draft.save()  # inside the active run: logged by it
    assert draft.logged_by().id == run.id
    run.finish()
    assert artctl.run is None
    with pytest.raises(InvalidName):
        artctl.init(project="p", tags=["no/slash"])


def test_log_artifact_of_a_path_takes_wandbs_name_and_type(repo_dir: Path) -> None:
    """`run.log_artifact("model.pt")`, as W&B: name "run-<id>-model.pt", type "unspecified";
    given ones win. (It raised "needs name= and type=".)"""
    make_tree(repo_dir, {"model.pt": "weights", "plots/a.png": "png"})
    with artctl.init(project="p", job_type="train") as run:
        model = run.log_artifact("model.pt")
        plots = run.log_artifact("plots/", type="figures")
        named = run.log_artifact(repo_dir / "model.pt", name="cnn", type="model")
    assert (model.name, model.type) == (f"run-{run.id}-model.pt:v0", "unspecified")
    assert (plots.name, plots.type) == (f"run-{run.id}-plots:v0", "figures")
    assert (named.qualified_name, named.type) == ("p/cnn:v0", "model")
    assert [f.path for f in plots.files()] == ["a.png"]
    assert {a.name for a in run.logged_artifacts()} == {model.name, plots.name, named.name}


def test_state_takes_wandbs_values(repo_dir: Path) -> None:
    """`artifact.state == "COMMITTED"` as W&B scripts test it (it was "committed", so the test
    was silently false); PENDING before logging, DELETED after delete()."""
    art = artctl.Artifact("p/st", "dataset")
    with art.new_file("a.txt") as fh:
        fh.write("1")
    assert art.state == "PENDING"
    art.save()
    assert art.state == "COMMITTED" and artctl.Api().artifact("p/st:v0").state == "COMMITTED"
    art.delete()
    assert art.state == "DELETED"


def test_file_downloads_a_one_file_version_and_returns_the_files_path(repo_dir: Path) -> None:
    """`model_path = run.use_artifact("cnn:latest").file()`, as in W&B (it had no `file`)."""
    _log("p/cnn", {"weights/model.pt": "w"})
    _log("p/two", {"a.txt": "a", "b.txt": "b"})
    with artctl.init(project="p", job_type="eval") as run:
        path = run.use_artifact("cnn:latest").file()
        assert Path(path).read_text() == "w" and path.endswith("cnn:v0/weights/model.pt")
        assert (
            Path(artctl.Api().artifact("p/cnn:v0").file(root="elsewhere"))
            == Path("elsewhere/weights/model.pt").resolve()
        )
        with pytest.raises(ValueError, match="holds 2 files, not one"):
            run.use_artifact("two:latest").file()
    assert [a.qualified_name for a in run.used_artifacts()] == ["p/cnn:v0", "p/two:v0"]


def test_distributed_id_defaults_to_the_group_and_is_required_otherwise(repo_dir: Path) -> None:
    with artctl.init(project="p") as run:
        art = artctl.Artifact("ds", "dataset")
        with art.new_file("a.txt") as fh:
            fh.write("a")
        with pytest.raises(InvalidInput, match="distributed_id") as info:
            run.upsert_artifact(art)
        assert "group" in (info.value.hint or "")
    with artctl.init(project="p", group="bad group") as run:
        with pytest.raises(InvalidInput, match="cannot serve as the distributed id"):
            run.finish_artifact(art)
    with artctl.init(project="p", group="g1") as run:
        run.upsert_artifact(art)
    with artctl.init(project="p", group="g1") as run:
        final = artctl.Artifact("ds", "dataset", tags=["merged"])
        final.aliases.append("all")
        run.finish_artifact(final)
    assert (final.name, final.tags, final.aliases) == ("ds:v0", ["merged"], ["latest", "all"])
    assert [f.path for f in final.files()] == ["a.txt"]


def test_collections_types_and_existence(repo_dir: Path) -> None:
    _log("p/ds", {"a.txt": "1"})
    model = artctl.Artifact("p/net", "model")
    with model.new_file("w.bin") as fh:
        fh.write("w")
    model.save()
    _log("q/other", {"a.txt": "1"})
    api = artctl.Api(overrides={"project": "p"})
    assert [c.name for c in api.artifact_collections("p", "dataset")] == ["ds"]
    assert [c.name for c in api.artifact_collections()] == ["ds", "net"]
    assert [t.name for t in api.artifact_types()] == ["dataset", "model"]
    assert [c.name for c in api.artifact_type("model").collections()] == ["net"]
    assert api.artifact_type("model").collection("net").qualified_name == "p/net"
    assert api.artifact_exists("ds") and api.artifact_exists("p/net:v0", type="model")
    assert not api.artifact_exists("p/net", type="dataset") and not api.artifact_exists("p/nope")
    assert api.artifact_collection_exists("net", "model")
    assert not api.artifact_collection_exists("net", "dataset")
    api.artifact_collection("model", "net").delete()
    assert not api.artifact_collection_exists("net", "model")
    assert [t.name for t in api.artifact_types()] == ["dataset"]
    collection = api.artifact_collection("dataset", "ds")
    collection.name = "renamed"  # renames the collection (tests/test_names_projects.py)
    collection.save()
    assert api.artifact("renamed").qualified_name == "p/renamed:v0" and not api.artifact_exists("ds")


def test_save_outside_a_run_refuses_bad_input_before_creating_a_run(repo_dir: Path) -> None:
    """A draft that cannot be logged (type clash, bad project, no files) leaves no failed run."""
    from artctl.errors import Conflict

    _log("p/ds", {"a.txt": "1"})
    (auto,) = [r for r in artctl.Api().runs() if r.job_type == "auto"]
    clash = artctl.Artifact("p/ds", "model")
    with clash.new_file("a.txt") as fh:
        fh.write("2")
    with pytest.raises(Conflict):
        clash.save()
    bare = artctl.Artifact("ds", "dataset")
    with bare.new_file("a.txt") as fh:
        fh.write("2")
    with pytest.raises(InvalidName, match="invalid project"):
        bare.save(project="no such/project/x")
    with pytest.raises(InvalidInput, match="no files"):
        artctl.Artifact("p/empty", "dataset").save()
    assert [r.id for r in artctl.Api().runs()] == [auto.id]
    bare.save(project="p")
    assert bare.qualified_name == "p/ds:v1" and bare.logged_by().project == "p"
