"""Metadata and run config are validated in full before anything is written (issue 14, item 7):
plain JSON, finite numbers, nested at most 64 levels — from the CLI and the Python API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from artctl.errors import InvalidInput

from conftest import make_tree


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize("depth", [65, 500, 20_000])
def test_deep_metadata_is_refused_before_the_name_is_claimed(
    cli, repo_dir: Path, tmp_path: Path, depth: int
) -> None:
    data = make_tree(tmp_path / "d", {"a.txt": "a\n"})
    refused = cli.fails(
        "artifact",
        "put",
        str(data),
        "--name",
        "p/x",
        "--type",
        "dataset",
        "--metadata",
        nested(depth),
        code=2,
    )
    assert "--metadata" in refused.stderr and "nested more than 64 levels deep" in refused.stderr
    assert cli.ok("artifact", "ls", "--json").json() == []
    assert not list((repo_dir / ".artifacts/registry").rglob("*.json"))
    # the name was not claimed with the refused put's type
    cli.ok("artifact", "put", str(data), "--name", "p/x", "--type", "model", "--metadata", nested(64))
    assert cli.ok("artifact", "show", "p/x", "--json").json()["type"] == "model"


def test_deep_run_config_is_refused(cli, repo_dir: Path) -> None:
    refused = cli.fails("run", "start", "--job-type", "train", "--config", nested(500), code=2)
    assert "--config" in refused.stderr and "nested more than 64 levels deep" in refused.stderr
    assert cli.ok("run", "ls", "--json").json() == []


def test_deep_metadata_update_leaves_the_version_alone(cli, repo_dir: Path, tmp_path: Path) -> None:
    cli.ok(
        "artifact",
        "put",
        str(make_tree(tmp_path / "d", {"a": "a"})),
        "--name",
        "p/x",
        "--type",
        "dataset",
        "--metadata",
        '{"rows": 1}',
    )
    cli.fails("artifact", "update", "p/x:v0", "--metadata", nested(200), code=2)
    assert cli.ok("artifact", "show", "p/x", "--json").json()["metadata"] == {"rows": 1}


def test_python_api_refuses_deep_or_non_finite_metadata_before_writing(
    repo_dir: Path, tmp_path: Path
) -> None:
    import artctl
    from artctl.api.repo import Repo

    data = make_tree(tmp_path / "d", {"a.txt": "a\n"})
    deep = json.loads(nested(500))
    # checked when saved (metadata may change until then, as in W&B), before anything is stored
    art = artctl.Artifact("x", type="dataset", metadata=deep)
    art.add_file(str(data / "a.txt"))
    with pytest.raises(InvalidInput, match="nested more than 64"):
        art.save(project="p")
    art = artctl.Artifact("x", type="dataset")
    art.add_file(str(data / "a.txt"))
    art.metadata["deep"] = deep
    with pytest.raises(InvalidInput, match="nested more than 64"):
        art.save(project="p")
    repo = Repo(repo_dir)
    with pytest.raises(InvalidInput, match="nested more than 64"):
        repo.put(data, name="p/y", type="dataset", metadata=deep)
    with pytest.raises(InvalidInput, match="Infinity|inf"):
        repo.put(data, name="p/y", type="dataset", metadata={"x": [float("-inf")]})
    assert repo.list_artifacts() == []
    assert not list((repo_dir / ".artifacts/registry").rglob("*.json"))
    with pytest.raises(InvalidInput, match="nested more than 64"):
        repo.repository.runs.create("train", config=deep)
    with pytest.raises(InvalidInput, match="NaN"):
        repo.repository.runs.create("train", config={"lr": float("nan")})
    assert repo.repository.runs.list() == []
