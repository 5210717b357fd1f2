"""The W&B Artifacts guide (``/work/shared/reference/wandb-artifacts-guide.txt``), run as written.

One test per code snippet of the guide that needs no hosted W&B app, each run verbatim with
``import artctl as wandb``: placeholders (``<example>``, ``entity/project/run_id``, file paths)
are filled in; where the guide's own code is broken (an undefined variable) the fix is marked
``# guide:``. A snippet that names no project runs as in W&B: its run's project is
``uncategorized``; where ``Api()`` reads a bare name, ``ARTCTL_PROJECT`` plays ``WANDB_PROJECT``.
Each test then asserts what the guide says the snippet does.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from conftest import make_tree


@pytest.fixture(autouse=True)
def _no_active_run():  # type: ignore[no-untyped-def]
    """A test that fails mid-run must not leave its run active for the next test."""
    yield
    from artctl.api import run as run_api

    run_api._active = None


def _put(path: Path, name: str, kind: str = "dataset", aliases: tuple[str, ...] = ()) -> None:
    """Set-up outside the snippet: a version logged the plain way."""
    from artctl.api.repo import Repo

    Repo().put(path, name=name, type=kind, aliases=aliases)


def _runs(job_type: str) -> list:  # type: ignore[type-arg]
    import artctl

    return [r for r in artctl.Api().runs() if r.job_type == job_type]


# -- 1. Overview ---------------------------------------------------------------------------------
def test_overview_save_inside_a_run_then_use_and_download(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No repository yet: the first ``wandb.init`` creates one (said once on stderr).
    ``artifact.save()`` inside a run is logged by that run."""
    (workdir / "dataset.h5").write_bytes(b"HDF5 bytes")
    import artctl as wandb

    run = wandb.init(project="artifacts-example", job_type="add-dataset")
    artifact = wandb.Artifact(name="example_artifact", type="dataset")
    artifact.add_file(local_path="./dataset.h5", name="training_dataset")
    artifact.save()

    assert capsys.readouterr().err.count("created a repository") == 1
    assert artifact.name == "example_artifact:v0" and artifact.aliases == ["latest"]
    assert artifact.logged_by().id == run.id and not _runs("auto")
    run.finish()
    # "Following the preceding code snippet" — in a new run (a run may not use its own output);
    # guide: it names the file ("training_dataset"), not the artifact, in use_artifact.
    run = wandb.init(project="artifacts-example", job_type="use-dataset")
    artifact = run.use_artifact(
        "example_artifact:latest"
    )  # returns a run object using the "my_data" artifact
    datadir = artifact.download()  # downloads the full "my_data" artifact to the default directory.

    assert Path(datadir).resolve() == (workdir / "artifacts" / "example_artifact:v0").resolve()
    assert (Path(datadir) / "training_dataset").read_bytes() == b"HDF5 bytes"
    assert [a.qualified_name for a in run.used_artifacts()] == ["artifacts-example/example_artifact:v0"]


# -- 2. Construct artifacts ----------------------------------------------------------------------
def test_log_artifact_in_a_loop(repo_dir: Path) -> None:
    import artctl as wandb

    run = wandb.init(project="proj", job_type="race")
    for i in range(10):
        a = wandb.Artifact(
            "race",
            type="dataset",
            metadata={
                "index": i,
            },
        )
        # ... add files to artifact a ...
        with a.new_file("index.txt") as fh:
            fh.write(str(i))
        run.log_artifact(a)

    versions = wandb.Api().artifact_versions("dataset", "proj/race")
    assert [v.name for v in versions] == [f"race:v{i}" for i in range(10)]
    # Logging is synchronous here, so v0 does have index 0 (W&B does not promise it).
    assert [v.metadata["index"] for v in versions] == list(range(10))


def test_add_dir_and_new_file_produce_the_guide_table(repo_dir: Path) -> None:
    make_tree(repo_dir / "images", {"cat.png": "cat", "dog.png": "dog"})
    import artctl as wandb

    contents = []
    for call in ("add_dir", "add_dir_named", "new_file"):
        artifact = wandb.Artifact(f"proj/{call.replace('_', '-')}", type="dataset")
        if call == "add_dir":
            artifact.add_dir("images")
        elif call == "add_dir_named":
            artifact.add_dir("images", name="images")
        else:
            with artifact.new_file("hello.txt") as fh:
                fh.write("hello")
        artifact.save()
        contents.append(sorted(f.path for f in artifact.files()))

    assert contents == [["cat.png", "dog.png"], ["images/cat.png", "images/dog.png"], ["hello.txt"]]


def test_add_reference_with_a_name(repo_dir: Path, tmp_path: Path) -> None:
    uri = (make_tree(tmp_path / "bucket", {"data.csv": "a,b\n"}) / "data.csv").as_uri()
    import artctl as wandb

    artifact = wandb.Artifact("proj/refs", type="dataset")
    # Add a URI reference
    artifact.add_reference(uri=uri, name="optional-name")
    artifact.save()

    (entry,) = artifact.files()
    assert entry.path == "optional-name" and entry.ref == uri
    assert (Path(artifact.download()) / "optional-name").read_text() == "a,b\n"


def test_parallel_writers_share_the_runs_group_as_distributed_id(repo_dir: Path) -> None:
    """The ray snippet without ray and ``wandb.Table`` (not supported): every writer runs
    ``wandb.init(group=group_name)`` and upserts with no distributed_id; the group is the id."""
    import time

    import artctl as wandb

    artifact_type = "dataset"
    artifact_name = "proj/parallel-artifact"
    parts_path = "parts"
    num_parallel = 5
    group_name = f"writer-group-{round(time.time())}"

    def train(i):  # type: ignore[no-untyped-def]
        with wandb.init(group=group_name) as run:
            artifact = wandb.Artifact(name=artifact_name, type=artifact_type)
            with artifact.new_file(f"{parts_path}/table_{i}.json") as fh:
                fh.write(str([i, i * 2, 2**i]))
            run.upsert_artifact(artifact)

    for i in range(num_parallel):
        train(i)
    assert not wandb.Api().artifact_exists(artifact_name)  # not readable before the finish
    with wandb.init(group=group_name) as run:
        artifact = wandb.Artifact(artifact_name, type=artifact_type)
        run.finish_artifact(artifact)

    assert artifact.name == "parallel-artifact:v0"
    assert sorted(f.path for f in artifact.files()) == [f"parts/table_{i}.json" for i in range(5)]


# -- 3. Download and use -------------------------------------------------------------------------
@pytest.fixture
def bikes(repo_dir: Path) -> Path:
    make_tree(
        repo_dir / "bikes",
        {"bike.png": "bike", "images/bikes/a.png": "a", "images/bikes/b.png": "b", "images/cars/c.png": "c"},
    )
    _put(repo_dir / "bikes", "example/bike-dataset")
    return repo_dir


def test_download_inside_a_run_and_get_path(bikes: Path) -> None:
    import artctl as wandb

    run = wandb.init(project="example", job_type="job-type")
    artifact = run.use_artifact("bike-dataset:latest")
    datadir = artifact.download()
    name = "images/bikes/a.png"
    path = artifact.get_path(name)

    assert sorted(str(p.relative_to(datadir)) for p in Path(datadir).rglob("*.png")) == [
        "bike.png",
        "images/bikes/a.png",
        "images/bikes/b.png",
        "images/cars/c.png",
    ]
    assert path.ref is None and Path(path.download(root="one")).read_text() == "a"
    assert [a.name for a in run.used_artifacts()] == ["bike-dataset:v0"]


def test_download_outside_a_run_with_the_public_api(repo_dir: Path) -> None:
    make_tree(repo_dir / "src", {"f.txt": "x"})
    _put(repo_dir / "src", "entity/project/artifact", aliases=("alias",))
    import artctl as wandb

    api = wandb.Api()
    artifact = api.artifact("entity/project/artifact:alias")
    artifact.download()

    assert (repo_dir / "artifacts" / "artifact:v0" / "f.txt").read_text() == "x"
    assert artifact.aliases == ["latest", "alias"] and artifact.version == "v0"


def test_partial_download_with_path_prefix(bikes: Path) -> None:
    import artctl as wandb

    run = wandb.init(project="example", job_type="partial")
    artifact = run.use_artifact("bike-dataset:latest")
    artifact.download(path_prefix="bike.png")  # downloads only bike.png
    root = Path(
        artifact.download(path_prefix="images/bikes/")
    )  # downloads files in the images/bikes directory

    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png")) == [
        "bike.png",
        "images/bikes/a.png",
        "images/bikes/b.png",
    ]


def test_use_an_artifact_from_another_project_and_entity(repo_dir: Path) -> None:
    make_tree(repo_dir / "src", {"f.txt": "x"})
    _put(repo_dir / "src", "my-project/artifact", aliases=("alias",))
    import artctl as wandb

    run = wandb.init(project="example", job_type="job-type")
    artifact = run.use_artifact("my-project/artifact:alias")
    # The entity names the owner of the repository's projects, not another artifact: with
    # core.entity unset the prefix is accepted and names the same version (docs/names.md).
    artifact = run.use_artifact("my-entity/my-project/artifact:alias")

    assert artifact.qualified_name == "my-project/artifact:v0"
    assert [a.qualified_name for a in run.used_artifacts()] == ["my-project/artifact:v0"]


# -- 4. Update -----------------------------------------------------------------------------------
def test_update_description_inside_a_run(repo_dir: Path) -> None:
    make_tree(repo_dir / "src", {"f.txt": "x"})
    _put(repo_dir / "src", "example/artifact-name", aliases=("alias",))
    import artctl as wandb

    run = wandb.init(project="example")
    artifact = run.use_artifact("artifact-name:alias")
    artifact.description = "<description>"
    artifact.save()

    assert wandb.Api().artifact("example/artifact-name:v0").description == "<description>"
    assert not _runs("auto")  # an update logs nothing


def test_update_with_the_public_api(repo_dir: Path) -> None:
    """Every line works as in W&B but one: ``latest`` always names the newest version here, so
    removing it is an error instead of an edit that would silently not happen."""
    from artctl.errors import InvalidInput

    make_tree(repo_dir / "src", {"f.txt": "x"})
    _put(repo_dir / "src", "entity/project/artifact", aliases=("alias",))
    import artctl as wandb

    api = wandb.Api()
    artifact = api.artifact("entity/project/artifact:alias")
    # Update the description
    artifact.description = "My new description"
    # Selectively update metadata keys
    artifact.metadata["oldKey"] = "new value"
    # Replace the metadata entirely
    artifact.metadata = {"newKey": "new value"}
    # Add an alias
    artifact.aliases.append("best")
    # Remove an alias
    with pytest.raises(InvalidInput, match="'latest' always names the newest version"):
        artifact.aliases.remove("latest")
    # Completely replace the aliases
    artifact.aliases = ["replaced"]
    # Persist all artifact modifications
    artifact.save()

    again = api.artifact("entity/project/artifact:replaced")
    assert again.description == "My new description" and again.metadata == {"newKey": "new value"}
    assert again.aliases == ["latest", "replaced"]  # latest still holds: it is the newest
    assert not api.artifact_exists("entity/project/artifact:alias")
    assert not api.artifact_exists("entity/project/artifact:best")


def test_update_a_collection(repo_dir: Path) -> None:
    """Covered but the rename line: renaming a collection belongs to another part of issue 17."""
    make_tree(repo_dir / "src", {"f.txt": "x"})
    _put(repo_dir / "src", "example/collection-name", kind="type-name")
    import artctl as wandb

    run = wandb.init(project="example")
    api = wandb.Api()
    artifact = api.artifact_collection(type="type-name", collection="example/collection-name")
    artifact.name = "collection-name"
    artifact.description = "<This is where you'd describe the purpose of your collection.>"
    artifact.save()

    collection = api.artifact_collection("type-name", "example/collection-name")
    assert collection.description == "<This is where you'd describe the purpose of your collection.>"
    assert [v.name for v in collection.versions()] == ["collection-name:v0"]
    run.finish()


# -- 5. Aliases and versions ---------------------------------------------------------------------
def test_use_latest(bikes: Path) -> None:
    import artctl as wandb

    run = wandb.init(project="example")
    artifact = run.use_artifact("bike-dataset:latest")
    artifact.download()

    assert (bikes / "artifacts" / "bike-dataset:v0" / "bike.png").read_text() == "bike"


def test_single_run_inside(repo_dir: Path) -> None:
    (repo_dir / "image1.png").write_text("1")
    import artctl as wandb

    with wandb.init() as run:
        artifact = wandb.Artifact("artifact_name", "artifact_type")
        # Add Files and Assets to the artifact using
        # `.add`, `.add_file`, `.add_dir`, and `.add_reference`
        artifact.add_file("image1.png")
        run.log_artifact(artifact)

    assert artifact.name == "artifact_name:v0" and artifact.logged_by().id == run.id


def test_single_run_outside_creates_a_run(repo_dir: Path) -> None:
    """ "W&B creates a run when you log an artifact outside of a run": a finished ``auto`` run."""
    (repo_dir / "image1.png").write_text("1")
    import artctl as wandb

    artifact = wandb.Artifact("artifact_name", "artifact_type")
    # Add Files and Assets to the artifact using
    # `.add`, `.add_file`, `.add_dir`, and `.add_reference`
    artifact.add_file("image1.png")
    artifact.save()

    (auto,) = _runs("auto")
    assert artifact.logged_by().id == auto.id and auto.record.status == "finished"
    assert auto.project == "uncategorized" and wandb.run is None  # W&B's default project


def test_distributed_runs(repo_dir: Path) -> None:
    for i in (1, 2, 3):
        (repo_dir / f"image{i}.png").write_text(str(i))
    import artctl as wandb

    # Run 1
    with wandb.init() as run:
        artifact = wandb.Artifact("artifact_name", "artifact_type")
        artifact.add_file("image1.png")
        run.upsert_artifact(artifact, distributed_id="my_dist_artifact")
    # Run 2
    with wandb.init() as run:
        artifact = wandb.Artifact("artifact_name", "artifact_type")
        artifact.add_file("image2.png")
        run.upsert_artifact(artifact, distributed_id="my_dist_artifact")
    # Run 3
    with wandb.init() as run:
        artifact = wandb.Artifact("artifact_name", "artifact_type")
        artifact.add_file("image3.png")
        run.finish_artifact(artifact, distributed_id="my_dist_artifact")

    assert artifact.name == "artifact_name:v0"
    assert sorted(f.path for f in artifact.files()) == ["image1.png", "image2.png", "image3.png"]


@pytest.fixture
def my_artifact(repo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ARTCTL_PROJECT", "proj")
    make_tree(
        repo_dir / "base",
        {"deleted_file.txt": "d", "modified_file.txt": "old", "keep.txt": "k", "dir_to_remove/a.txt": "a"},
    )
    _put(repo_dir / "base", "proj/my_artifact")
    (repo_dir / "file_to_add.txt").write_text("added")
    (repo_dir / "modified_file.txt").write_text("new")
    return repo_dir


def test_incremental_inside_a_run(my_artifact: Path) -> None:
    import artctl as wandb

    # guide: job_type="modify dataset" — a job type is a word here (letters, digits, . _ -)
    with wandb.init(job_type="modify-dataset") as run:
        saved_artifact = run.use_artifact("my_artifact:latest")  # fetch artifact and input it into your run
        draft_artifact = saved_artifact.new_draft()  # create a draft version
        # modify a subset of files in the draft version
        draft_artifact.add_file("file_to_add.txt")
        draft_artifact.remove("dir_to_remove/")
        run.log_artifact(
            draft_artifact  # guide: `artifact`, undefined
        )  # log your changes to create a new version and mark it as output to your run

    assert draft_artifact.name == "my_artifact:v1" and draft_artifact.logged_by().id == run.id
    assert sorted(f.path for f in draft_artifact.files()) == [
        "deleted_file.txt",
        "file_to_add.txt",
        "keep.txt",
        "modified_file.txt",
    ]


def test_incremental_outside_a_run(my_artifact: Path) -> None:
    import artctl as wandb

    client = wandb.Api()
    saved_artifact = client.artifact("my_artifact:latest")  # load your artifact
    draft_artifact = saved_artifact.new_draft()  # create a draft version
    # modify a subset of files in the draft version
    draft_artifact.remove("deleted_file.txt")
    draft_artifact.add_file("modified_file.txt")
    draft_artifact.save()  # commit changes to the draft

    assert draft_artifact.name == "my_artifact:v1" and draft_artifact.logged_by().job_type == "auto"
    files = {f.path: f for f in draft_artifact.files()}
    assert sorted(files) == ["dir_to_remove/a.txt", "keep.txt", "modified_file.txt"]
    assert Path(files["modified_file.txt"].download(root="out")).read_text() == "new"


# -- 6. Track external files ---------------------------------------------------------------------
def test_track_an_s3_prefix_and_use_it(
    repo_dir: Path,
    s3_server,
    s3_bucket: str,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Against a real S3 server (moto), reached through ``AWS_S3_ENDPOINT_URL`` as the guide says
    ("the scripts below work as-is when you set AWS_S3_ENDPOINT_URL"): W&B's variable, not
    botocore's ``AWS_ENDPOINT_URL``."""
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    endpoint = s3_server.env["AWS_ENDPOINT_URL"]
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    monkeypatch.setenv("AWS_S3_ENDPOINT_URL", endpoint)
    fs = s3_server.filesystem()
    for i in range(3):
        fs.pipe_file(f"{s3_bucket}/datasets/mnist/{i}.png", b"digit %d" % i)
    import artctl as wandb

    run = wandb.init()
    artifact = wandb.Artifact("mnist", type="dataset")
    artifact.add_reference(f"{s3_bucket}/datasets/mnist")
    # Track the artifact and mark it as an input to
    # this run in one swoop. A new artifact version
    # is only logged if the files in the bucket changed.
    run.use_artifact(artifact)
    artifact_dir = artifact.download()

    assert artifact.name == "mnist:v0" and all(f.ref for f in artifact.files())
    assert (Path(artifact_dir) / "2.png").read_bytes() == b"digit 2"
    assert [a.name for a in run.used_artifacts()] == ["mnist:v0"]


def test_reference_artifact_for_private_buckets(
    repo_dir: Path,
    s3_server,
    s3_bucket: str,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    s3_server.filesystem().pipe_file(f"{s3_bucket}/animals/cat.jpg", b"meow")
    import artctl as wandb

    run = wandb.init()
    artifact = wandb.Artifact("animals", type="dataset")
    artifact.add_reference(f"{s3_bucket}/animals")

    run.log_artifact(artifact)  # (the guide stops before logging)
    assert [(f.path, f.ref) for f in artifact.files()] == [("cat.jpg", f"{s3_bucket}/animals/cat.jpg")]


def test_track_a_mounted_filesystem_and_use_it(repo_dir: Path, tmp_path: Path) -> None:
    mount = make_tree(tmp_path / "mount", {"datasets/mnist/0.png": "zero", "datasets/mnist/1.png": "one"})
    import artctl as wandb

    run = wandb.init()
    artifact = wandb.Artifact("mnist", type="dataset")
    artifact.add_reference(f"file://{mount}/datasets/mnist/")
    # Track the artifact and mark it as an input to
    # this run in one swoop. A new artifact version
    # is only logged if the files under the directory
    # changed.
    run.use_artifact(artifact)
    artifact_dir = artifact.download()

    # "the contents of /mount/datasets/mnist will be copied into the directory artifacts/mnist:v0/"
    assert Path(artifact_dir).resolve() == (repo_dir / "artifacts" / "mnist:v0").resolve()
    assert (Path(artifact_dir) / "1.png").read_text() == "one"
    # The version is a snapshot: the bytes downloaded once are kept, so overwriting the file
    # afterwards does not change (or break) what the version gives back.
    (mount / "datasets/mnist/1.png").write_text("overwritten")
    again = wandb.Api().artifact("uncategorized/mnist:v0").download(root="again")
    assert (Path(again) / "1.png").read_text() == "one"


def test_log_a_model_on_a_mounted_filesystem(repo_dir: Path, tmp_path: Path) -> None:
    mount = make_tree(tmp_path / "mount", {"cnn/my_model.h5": "weights"})
    import artctl as wandb

    run = wandb.init()
    # Training here...
    # Write model to disk
    model_artifact = wandb.Artifact("cnn", type="model")
    model_artifact.add_reference(f"file://{mount}/cnn/my_model.h5")
    run.log_artifact(model_artifact)

    assert model_artifact.name == "cnn:v0" and model_artifact.logged_by().id == run.id
    assert [f.path for f in model_artifact.files()] == ["my_model.h5"]


# -- 7. Delete -----------------------------------------------------------------------------------
def _log_versions(project: str, name: str, count: int, aliases: dict[int, list[str]] | None = None):  # type: ignore[no-untyped-def]
    import artctl

    run = artctl.init(project=project, job_type="producer")
    for i in range(count):
        art = artctl.Artifact(name, "model")
        with art.new_file("w.bin") as fh:
            fh.write(f"weights {i}")
        run.log_artifact(art, aliases=(aliases or {}).get(i, []))
    run.finish()
    return run


def test_delete_the_versions_a_run_logged(repo_dir: Path) -> None:
    producer = _log_versions("project", "m", 3)
    run_id = producer.id
    import artctl as wandb

    api = wandb.Api()  # guide: `api` is used without being created
    run = api.run(f"entity/project/{run_id}")
    for artifact in run.logged_artifacts():
        artifact.delete()

    assert not api.artifact_collection_exists("project/m", "model")


def test_delete_the_versions_a_run_logged_with_their_aliases(repo_dir: Path) -> None:
    from artctl.errors import Conflict

    producer = _log_versions("project", "m", 3, aliases={1: ["best"]})
    run_id = producer.id
    import artctl as wandb

    api = wandb.Api()
    run = api.run(f"entity/project/{run_id}")
    with pytest.raises(Conflict, match="best"):  # what delete_aliases=True is for
        run.logged_artifacts()[1].delete()
    for artifact in run.logged_artifacts():
        # Set delete_aliases=True in order to delete
        # artifacts with one more aliases
        artifact.delete(delete_aliases=True)

    assert not api.artifact_collection_exists("project/m", "model")


def test_delete_versions_with_a_specific_alias(repo_dir: Path) -> None:
    producer = _log_versions("project_name", "m", 6)
    run_id = producer.id
    import artctl as wandb

    api = wandb.Api()
    runs = api.run(f"entity/project_name/{run_id}")
    # Delete artifact ith alias 'v3' and 'v4
    for artifact_version in runs.logged_artifacts():
        # Replace with your own deletion logic.
        if artifact_version.name[-2:] == "v3" or artifact_version.name[-2:] == "v4":
            artifact_version.delete(delete_aliases=True)  # guide: `artifact`, undefined

    assert [v.version for v in api.artifact_versions("model", "project_name/m")] == ["v0", "v1", "v2", "v5"]


def test_delete_every_version_without_an_alias(repo_dir: Path) -> None:
    _log_versions("project", "m", 5, aliases={1: ["best"]})
    import artctl as wandb

    # Provide your entity and a project name when you
    # use wandb.Api methods.
    api = wandb.Api(overrides={"project": "project", "entity": "entity"})
    artifact_type, artifact_name = "model", "m"  # provide type and name
    for v in api.artifact_versions(artifact_type, artifact_name):
        # Clean up versions that don't have an alias such as 'latest'.
        # NOTE: You can put whatever deletion logic you want here.
        if len(v.aliases) == 0:
            v.delete()

    left = api.artifact_versions("model", "m")
    assert [(v.version, v.aliases) for v in left] == [("v1", ["best"]), ("v4", ["latest"])]


def test_delete_a_collection(repo_dir: Path) -> None:
    make_tree(repo_dir / "src", {"f.txt": "x"})
    _put(repo_dir / "src", "entity/project/artifact_collection_name", kind="model", aliases=("prod",))
    import artctl as wandb

    # Provide your entity and a project name when you
    # use wandb.Api methods.
    api = wandb.Api(overrides={"project": "project", "entity": "entity"})
    collection = api.artifact_collection("model", "entity/project/artifact_collection_name")
    collection.delete()

    assert not api.artifact_exists("entity/project/artifact_collection_name")
    assert not api.artifact_collection_exists("entity/project/artifact_collection_name", "model")


# -- 7.2 TTL -------------------------------------------------------------------------------------
@pytest.fixture
def my_model(repo_dir: Path) -> Path:
    make_tree(repo_dir / "src", {"w.bin": "w"})
    _put(repo_dir / "src", "my-entity/my-project/my-artifact", kind="model", aliases=("alias",))
    return repo_dir


def test_check_the_type(my_model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import artctl as wandb

    run = wandb.init(project="my-project-name")
    artifact = run.use_artifact(artifact_or_name="my-entity/my-project/my-artifact")
    print(artifact.type)

    assert capsys.readouterr().out == "model\n"


def test_set_a_ttl_inside_a_run(my_model: Path) -> None:
    from datetime import timedelta

    import artctl as wandb

    run = wandb.init(project="my-project")  # guide: `run` is used without being created
    artifact = run.use_artifact("my-entity/my-project/my-artifact:alias")
    artifact.ttl = timedelta(days=365 * 2)  # Delete in two years
    artifact.save()

    assert wandb.Api().artifact("my-entity/my-project/my-artifact:v0").ttl == timedelta(days=730)


def test_set_a_ttl_outside_a_run(my_model: Path) -> None:
    import artctl as wandb

    api = wandb.Api()
    artifact = api.artifact("my-entity/my-project/my-artifact:alias")
    artifact.ttl = timedelta(days=365)  # Delete in one year
    artifact.save()

    assert api.artifact("my-entity/my-project/my-artifact:v0").ttl == timedelta(days=365)


def test_no_ttl_for_a_model_linked_to_the_registry(my_model: Path) -> None:
    """The guide: "W&B deactivates the option to set a TTL policy for model artifacts linked to
    the Model Registry". Its TTL snippet, run on a model linked to a registry, is refused, on the
    source as on the link, and nothing is written."""
    import artctl as wandb

    api = wandb.Api()
    api.artifact("my-entity/my-project/my-artifact:alias").link("my-entity/model-registry/my-model")
    run = wandb.init(project="my-project")
    artifact = run.use_artifact("my-entity/my-project/my-artifact:alias")
    artifact.ttl = timedelta(days=365 * 2)  # Delete in two years
    with pytest.raises(ValueError, match="is linked to model-registry/my-model:v0"):
        artifact.save()
    linked = api.artifact("my-entity/model-registry/my-model:latest")
    with pytest.raises(ValueError, match="linked to my-project/my-artifact:v0"):
        linked.ttl = timedelta(days=365)
    assert api.artifact("my-entity/my-project/my-artifact:v0").ttl is None


# -- 8. Lineage ----------------------------------------------------------------------------------
def test_walk_the_graph(repo_dir: Path) -> None:
    (repo_dir / "image1.png").write_text("1")
    import artctl as wandb

    with wandb.init() as run:
        artifact = wandb.Artifact("artifact_name", "artifact_type")
        # Add Files and Assets to the artifact using
        # `.add`, `.add_file`, `.add_dir`, and `.add_reference`
        artifact.add_file("image1.png")
        run.log_artifact(artifact)
    with wandb.init(job_type="consume") as consumer:
        consumer.use_artifact("artifact_name:latest")
    # Walk up and down the graph from an artifact:
    producer_run = artifact.logged_by()
    consumer_runs = artifact.used_by()

    assert producer_run.id == run.id and [r.id for r in consumer_runs] == [consumer.id]


# -- 10. Tutorial --------------------------------------------------------------------------------
def test_tutorial(workdir: Path) -> None:
    """From an empty directory (no ``artctl init``), step 1 included: ``wandb.login()`` has
    nothing to log into and says so by returning True, as W&B's does once logged in."""
    (workdir / "dataset.h5").write_bytes(b"bicycles")
    import artctl as wandb

    assert wandb.login() is True

    # Create a W&B Run. Here we specify 'dataset' as the job type since this example
    # shows how to create a dataset artifact.
    run = wandb.init(project="artifacts-example", job_type="upload-dataset")
    artifact = wandb.Artifact(name="bicycle-dataset", type="dataset")
    # Add a file to the artifact's contents
    artifact.add_file(local_path="dataset.h5")
    # Save the artifact version to W&B and mark it
    # as the output of this run
    run.log_artifact(artifact)

    assert artifact.aliases == ["latest"]  # "A 'latest' alias is created by default"
    run.finish()
    # Create a W&B Run. Here we specify 'training' for 'type'
    # because we will use this run to track training.
    run = wandb.init(project="artifacts-example", job_type="training")
    # Query W&B for an artifact and mark it as input to this run
    artifact = run.use_artifact("bicycle-dataset:latest")
    # Download the artifact's contents
    artifact_dir = artifact.download()

    assert (Path(artifact_dir) / "dataset.h5").read_bytes() == b"bicycles"
    assert artifact.used_by()[0].id == run.id


# -- Zero set-up: the snippets as scripts, with no project anywhere -------------------------------
#: The overview's quickstart, the tutorial and the lineage page, verbatim; lines after ``# test:``
#: only report what the snippet returned.
_SCRIPTS = {
    "overview_log.py": """\
run = wandb.init(job_type="dataset-creation")
artifact = wandb.Artifact('my-dataset', type='dataset')
artifact.add_file('my-dataset.txt')
run.log_artifact(artifact)
""",
    "overview_use.py": """\
run = wandb.init(job_type="model-training")
artifact = run.use_artifact('my-dataset:latest')
artifact_dir = artifact.download()
# test:
print(artifact_dir)
""",
    "overview_new_version.py": """\
run = wandb.init(job_type="dataset-creation")
artifact = wandb.Artifact('my-dataset', type='dataset')
# Imagine more lines of text were added to this text file:
artifact.add_file('my-dataset.txt')
# Log that artifact, and we identify the changed file
run.log_artifact(artifact)
# Now you have a new version of the artifact, tracked in W&B
""",
    "tutorial.py": """\
wandb.login()
# Create a W&B Run. Here we specify 'dataset' as the job type since this example
# shows how to create a dataset artifact.
run = wandb.init(project="artifacts-example", job_type="upload-dataset")
artifact = wandb.Artifact(name="bicycle-dataset", type="dataset")  # guide: in prose only
# Add a file to the artifact's contents
artifact.add_file(local_path="dataset.h5")
# Save the artifact version to W&B and mark it
# as the output of this run
run.log_artifact(artifact)
# Create a W&B Run. Here we specify 'training' for 'type'
# because we will use this run to track training.
run = wandb.init(project="artifacts-example", job_type="training")
# Query W&B for an artifact and mark it as input to this run
artifact = run.use_artifact("bicycle-dataset:latest")
# Download the artifact's contents
artifact_dir = artifact.download()
""",
    "lineage.py": """\
with wandb.init() as run:
    artifact = wandb.Artifact("artifact_name", "artifact_type")
    # Add Files and Assets to the artifact using
    # `.add`, `.add_file`, `.add_dir`, and `.add_reference`
    artifact.add_file("image1.png")
    run.log_artifact(artifact)
# Walk up and down the graph from an artifact:
producer_run = artifact.logged_by()
consumer_runs = artifact.used_by()
# test:
print(producer_run.project, producer_run.id == run.id, len(consumer_runs))
""",
}


def test_snippets_without_a_project_run_as_scripts_with_zero_set_up(cli, workdir: Path) -> None:  # type: ignore[no-untyped-def]
    """``python script.py`` with ``import artctl as wandb`` in an empty directory: no
    ``artctl init``, no ``ARTCTL_PROJECT``, no ``core.project``. As in W&B, runs without a
    project are in ``uncategorized`` (the log raised "has no project"), silently (W&B names the
    project in its run banner; artctl prints none), and the CLI lists what they logged."""
    import subprocess
    import sys

    from conftest import cli_env

    env = cli_env()
    assert not {"ARTCTL_PROJECT", "ARTCTL_DIR", "ARTCTL_CORE_PROJECT"} & set(env)
    make_tree(workdir, {"my-dataset.txt": "rows 1\n", "dataset.h5": "bicycles", "image1.png": "png"})
    out: dict[str, str] = {}
    stderr = ""
    for name in (
        "overview_log.py",
        "overview_use.py",
        "overview_new_version.py",
        "tutorial.py",
        "lineage.py",
    ):
        if name == "overview_new_version.py":
            (workdir / "my-dataset.txt").write_text("rows 1\nrows 2\n")  # "more lines were added"
        (workdir / name).write_text("import artctl as wandb\n" + _SCRIPTS[name])
        done = subprocess.run(
            [sys.executable, name], cwd=workdir, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, (name, done.stderr)
        out[name], stderr = done.stdout, stderr + done.stderr
    # The repository's creation is said once; the fallback to "uncategorized" adds nothing.
    assert (
        stderr == f"artctl: created a repository in {workdir / '.artifacts'} (no .artifacts/ here or above)\n"
    )
    assert (Path(out["overview_use.py"].strip()) / "my-dataset.txt").read_text() == "rows 1\n"
    assert out["lineage.py"].split() == ["uncategorized", "True", "0"]

    listed = cli.ok("artifact", "ls", "uncategorized", "--json").json()
    assert [(a["name"], a["versions"]) for a in listed] == [
        ("uncategorized/artifact_name", 1),
        ("uncategorized/my-dataset", 2),
    ]
    versions = cli.ok("artifact", "ls", "uncategorized/my-dataset", "--json").json()
    assert [(v["version"], v["size"]) for v in versions] == [("v0", 7), ("v1", 14)]
    tutorial = cli.ok("artifact", "ls", "artifacts-example", "--json").json()
    assert [a["name"] for a in tutorial] == ["artifacts-example/bicycle-dataset"]
    runs = cli.ok("run", "ls", "--json").json()
    assert {r["job_type"]: r["project"] for r in runs} == {
        "dataset-creation": "uncategorized",
        "model-training": "uncategorized",
        "upload-dataset": "artifacts-example",
        "training": "artifacts-example",
        "job": "uncategorized",
    }
