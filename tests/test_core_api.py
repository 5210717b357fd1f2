"""The repository core from Python, with W&B's names."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

import artctl
from artctl.errors import (
    ArtctlError,
    ArtifactNotFound,
    Conflict,
    InvalidInput,
    InvalidName,
    RepositoryNotFound,
)

from conftest import make_tree


def test_log_and_use_artifact(repo_dir: Path, data_dir: Path) -> None:
    with artctl.init(project="proj", job_type="upload") as run:
        art = artctl.Artifact("mnist", type="dataset", description="digits", metadata={"rows": 3})
        art.add_dir("data")
        with art.new_file("notes/readme.txt") as fh:
            fh.write("hello")
        run.log_artifact(art, aliases=["best"])
        assert art.version == "v0" and "best" in art.aliases and "latest" in art.aliases
    with artctl.init(project="proj", job_type="train") as run:
        used = run.use_artifact("mnist:best")
        root = Path(used.download(root="out"))
    assert (root / "notes/readme.txt").read_text() == "hello"
    assert (root / "sub/b.txt").read_text() == "beta\n"
    record = artctl.Api().repo.repository.runs.get(run.id)
    assert [link.ref for link in record.inputs] == ["proj/mnist:v0"]
    assert record.status == "finished"


def test_api_artifact_fields_and_save(repo_dir: Path, data_dir: Path) -> None:
    art = artctl.Artifact("proj/ds", "dataset")
    art.add_file("data/a.txt", name="x/a.txt")
    art.save()
    fetched = artctl.Api().artifact("proj/ds:latest")
    assert fetched.version == "v0" and fetched.digest == art.digest
    assert fetched.aliases == ["latest"] and fetched.name == "ds:v0"  # W&B: vN is the version, not an alias
    fetched.description = "edited"
    fetched.metadata["k"] = "v"
    fetched.aliases.append("production")
    fetched.save()
    again = artctl.Api().artifact("proj/ds:production")
    assert again.description == "edited" and again.metadata == {"k": "v"}
    again.aliases.remove("production")
    again.save()
    with pytest.raises(ArtifactNotFound):
        artctl.Api().artifact("proj/ds:production")


def test_get_path_download(repo_dir: Path, data_dir: Path) -> None:
    art = artctl.Artifact("proj/ds", "dataset")
    art.add_dir("data", name="files")
    art.save()
    saved = artctl.Api().artifact("proj/ds")
    local = saved.get_path("files/sub/b.txt").download(root="one")
    assert Path(local).read_text() == "beta\n"
    assert sorted(p.name for p in Path("one").rglob("*") if p.is_file()) == ["b.txt"]
    with pytest.raises(ArtifactNotFound):
        saved.get_path("nope")


def test_remove_staged_and_identical_content(repo_dir: Path, data_dir: Path) -> None:
    first = artctl.Artifact("proj/ds", "dataset")
    first.add_dir("data")
    first.remove("sub/")
    first.save()
    assert sorted(e.path for e in first.manifest()) == ["a.txt", "big.bin"]
    second = artctl.Artifact("proj/ds", "dataset")
    second.add_file("data/a.txt")
    second.add_file("data/big.bin")
    second.save()
    assert second.version == "v0"  # identical content: no new version


def test_saved_artifact_is_immutable(repo_dir: Path, data_dir: Path) -> None:
    art = artctl.Artifact("proj/ds", "dataset")
    art.add_file("data/a.txt")
    art.save()
    with pytest.raises(ArtctlError, match="immutable"):
        art.add_file("data/sub/b.txt")


def test_python_bad_input(repo_dir: Path, data_dir: Path) -> None:
    with pytest.raises(InvalidInput):
        artctl.Artifact("proj/ds", "dataset").add_file("missing.txt")
    with pytest.raises(InvalidName):
        artctl.Artifact("proj/ds", "bad type")
    with pytest.raises(InvalidInput):
        artctl.Artifact("proj/ds", "dataset").save()  # no files
    art = artctl.Artifact("proj/ds", "dataset")
    art.add_file("data/a.txt")
    art.save()
    clash = artctl.Artifact("proj/ds", "model")
    clash.add_file("data/a.txt")
    with pytest.raises(Conflict):
        clash.save()
    with pytest.raises(ArtifactNotFound):
        artctl.Api().artifact("proj/ds:v7")
    with pytest.raises(InvalidInput):
        artctl.Artifact("proj/ds", "dataset").add_file("data/a.txt", name="../escape")


def test_outside_repository_python_creates_one_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """W&B needs no set-up: Api() and init() outside a repository create ./.artifacts (once, said
    on stderr); a repository above the working directory, or ARTCTL_DIR, is used instead."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ARTCTL_DIR", raising=False)
    api = artctl.Api()
    assert api.repo.root == (tmp_path / ".artifacts").resolve()
    assert capsys.readouterr().err.count("created a repository") == 1
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    with artctl.init(project="p", job_type="j") as run:  # found by walking up: nothing new
        assert run.repo.root == api.repo.root
    assert capsys.readouterr().err == "" and not (tmp_path / "sub" / ".artifacts").exists()
    monkeypatch.setenv("ARTCTL_DIR", str(tmp_path / "elsewhere"))
    assert artctl.Api().repo.root == (tmp_path / "elsewhere" / ".artifacts").resolve()
    assert "created a repository" in capsys.readouterr().err
    monkeypatch.delenv("ARTCTL_DIR")
    with pytest.raises(RepositoryNotFound):  # the library's Repo (and the CLI) still refuse
        artctl.Repo(tmp_path.parent)


def test_ttl_from_python(repo_dir: Path, data_dir: Path) -> None:
    art = artctl.Artifact("proj/ds", "dataset", ttl=timedelta(days=2))
    art.add_file("data/a.txt")
    art.save()
    assert artctl.Api().artifact("proj/ds").ttl == timedelta(days=2)


def test_stat_cache_makes_unchanged_reput_read_nothing(
    repo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unchanged re-put must not read file contents: prove it by making them unreadable
    through the store (the stat cache answers first)."""
    from artctl.api.repo import Repo

    src = make_tree(tmp_path / "src", {f"f{i}.txt": f"{i}" * 50 for i in range(50)})
    old = 1_600_000_000
    for path in src.iterdir():
        os.utime(path, (old, old))
    repo = Repo()
    repo.put(src, name="proj/s", type="dataset")
    import artctl.ops.ingest.read as ingest_module

    calls: list[str] = []
    original = ingest_module.read_small

    def spy(f):  # type: ignore[no-untyped-def]
        calls.append(f.local)
        return original(f)

    monkeypatch.setattr(ingest_module, "read_small", spy)
    again = repo.put(src, name="proj/s", type="dataset")
    assert again.created is False and calls == []
    (src / "f3.txt").write_text("changed")
    os.utime(src / "f3.txt", (old + 10, old + 10))
    third = repo.put(src, name="proj/s", type="dataset")
    assert third.created is True and calls == [str(src / "f3.txt")]
