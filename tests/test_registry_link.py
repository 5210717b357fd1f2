"""Registry collections and links (issue 17, W&B's Model Registry): ``artctl link``/``unlink``,
``artifact.link``, ``run.link_artifact`` — a version added to a registry collection without a
byte copied, with the collection's own numbers and aliases, no TTL, and lineage, gc and
push/pull that know about it (``artctl.ops.links``).
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from conftest import make_tree


@pytest.fixture(autouse=True)
def _no_active_run():  # type: ignore[no-untyped-def]
    yield
    from artctl.api import run as run_api

    run_api._active = None


def _model(cli, workdir: Path, name: str = "proj/cnn", *extra: str, files: dict | None = None) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """Put a small model version; return its ``put --json``."""
    src = make_tree(
        workdir / f"src-{len(os.listdir(workdir))}", files or {"w.bin": "weights", "c.json": "{}"}
    )
    return cli.ok(
        "artifact", "put", str(src), "-n", name, "-t", "model", "--json", *extra, cwd=workdir
    ).json()


def _store_files(root: Path) -> set[str]:
    """Every object, pack and manifest file of the repository at ``root``."""
    base = root / ".artifacts"
    return {
        str(p.relative_to(base))
        for d in ("objects", "packs", "manifests")
        for p in (base / d).rglob("*")
        if p.is_file()
    }


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# -- link REF TARGET: a version in a registry collection, no byte copied ---------------------------
def test_link_adds_a_version_to_a_registry_collection_without_copying_bytes(cli, repo_dir: Path) -> None:
    source = _model(cli, repo_dir)
    before = _store_files(repo_dir)

    linked = cli.ok("link", "proj/cnn:v0", "registry/cnn", "--alias", "production", "--json").json()

    assert _store_files(repo_dir) == before  # one small record, nothing in the store
    assert linked["name"] == "registry/cnn" and linked["version"] == "v0" and linked["created"] is True
    assert linked["link"] == "proj/cnn:v0" and linked["digest"] == source["digest"]
    assert linked["aliases"] == ["latest", "v0", "production"]
    rows = cli.ok("artifact", "ls", "registry/cnn", "--json").json()
    assert [(r["version"], r["link"]) for r in rows] == [("v0", "proj/cnn:v0")]
    assert "proj/cnn:v0" in cli.ok("artifact", "ls", "registry/cnn").stdout  # the link column
    root = cli.ok("artifact", "get", "registry/cnn:production", "--root", "out").stdout.strip()
    assert _tree(Path(root)) == {"c.json": b"{}", "w.bin": b"weights"}
    shown = cli.ok("artifact", "show", "registry/cnn:production", "--json").json()
    assert shown["link"] == "proj/cnn:v0" and shown["files"] == 2
    assert "proj/cnn:v0 (linked version)" in cli.ok("artifact", "show", "registry/cnn:v0").stdout
    assert cli.ok("artifact", "show", "proj/cnn", "--json").json()["linked"] == ["registry/cnn:v0"]
    assert cli.ok("artifact", "verify").returncode == 0


def test_a_registry_collection_numbers_and_aliases_its_links_on_its_own(cli, repo_dir: Path) -> None:
    _model(cli, repo_dir, "proj/cnn", "--alias", "best")
    _model(cli, repo_dir, "proj/cnn", files={"w.bin": "better weights"})
    cli.ok("link", "proj/cnn:v1", "registry/cnn", "-a", "staging")
    cli.ok("link", "proj/cnn:best", "registry/cnn", "-a", "production")  # proj's v0, linked second

    rows = {r["version"]: r for r in cli.ok("artifact", "ls", "registry/cnn", "--json").json()}
    assert rows["v0"]["link"] == "proj/cnn:v1" and rows["v1"]["link"] == "proj/cnn:v0"
    assert rows["v0"]["aliases"] == ["v0", "staging"]
    assert rows["v1"]["aliases"] == ["latest", "v1", "production"]  # latest: the newest link
    # The source collection keeps its own aliases; moving the registry's touches nothing there.
    cli.ok("alias", "add", "registry/cnn:v0", "production")
    assert cli.ok("alias", "ls", "registry/cnn", "--json").json() == [
        {"alias": "latest", "version": "v1", "managed": True, "state": "committed"},
        {"alias": "production", "version": "v0", "managed": False, "state": "committed"},
        {"alias": "staging", "version": "v0", "managed": False, "state": "committed"},
    ]
    assert cli.ok("artifact", "show", "proj/cnn:latest", "--json").json()["version"] == "v1"
    assert [a["alias"] for a in cli.ok("alias", "ls", "proj/cnn", "--json").json()] == ["latest", "best"]


def test_linking_the_same_version_again_only_moves_the_aliases(cli, repo_dir: Path) -> None:
    _model(cli, repo_dir)
    first = cli.ok("link", "proj/cnn:v0", "registry/cnn", "--json").json()
    again = cli.ok("link", "proj/cnn:latest", "registry/cnn", "-a", "production", "--json").json()
    assert (again["version"], again["created"]) == (first["version"], False)
    assert again["aliases"] == ["latest", "v0", "production"]
    assert "already linked" in cli.ok("link", "proj/cnn:v0", "registry/cnn").stdout
    # Linking a link links its source (W&B): another registry names proj/cnn:v0.
    other = cli.ok("link", "registry/cnn:production", "archive/cnn", "--json").json()
    assert other["link"] == "proj/cnn:v0"
    assert len(cli.ok("artifact", "ls", "registry/cnn", "--json").json()) == 1


def test_targets_that_are_not_registry_collections_are_refused(cli, repo_dir: Path) -> None:
    _model(cli, repo_dir)
    _model(cli, repo_dir, "proj/other")
    cli.ok("link", "proj/cnn:v0", "registry/cnn")

    err = cli.fails("link", "proj/cnn:v0", "proj/other").stderr  # an ordinary collection
    assert "proj/other is an ordinary collection" in err and "hint:" in err
    assert "names a version" in cli.fails("link", "proj/cnn:v0", "registry/cnn:prod", code=2).stderr
    assert "into itself" in cli.fails("link", "proj/cnn:v0", "proj/cnn").stderr
    files = make_tree(repo_dir / "more", {"w.bin": "other weights"})
    err = cli.fails("artifact", "put", str(files), "-n", "registry/cnn", "-t", "model").stderr
    assert "registry/cnn is a registry collection" in err and "artctl link" in err
    data = make_tree(repo_dir / "ds", {"x.csv": "1\n"})
    cli.ok("artifact", "put", str(data), "-n", "proj/ds", "-t", "dataset")
    assert "already exists with type 'model'" in cli.fails("link", "proj/ds:v0", "registry/cnn").stderr
    assert "not found" in cli.fails("link", "proj/nope:v0", "registry/cnn").stderr
    assert "Traceback" not in cli("link", "proj/cnn:v0", "registry/cnn", "-a", "v3").stderr


def test_a_bare_target_lands_in_the_sources_project(cli, repo_dir: Path) -> None:
    _model(cli, repo_dir)
    assert cli.ok("link", "proj/cnn:v0", "cnn-prod", "--json").json()["name"] == "proj/cnn-prod"


# -- TTL: a linked version never expires ----------------------------------------------------------
def test_a_linked_version_and_its_source_cannot_get_a_ttl(cli, repo_dir: Path) -> None:
    _model(cli, repo_dir, "proj/cnn", "--ttl", "2d")
    result = cli.ok("link", "proj/cnn:v0", "registry/cnn", "--json")
    assert result.json()["source_ttl_removed"] is True
    assert cli.ok("artifact", "show", "proj/cnn:v0", "--json").json()["ttl"] is None

    err = cli.fails("artifact", "update", "registry/cnn:v0", "--ttl", "1d").stderr
    assert "a linked version has no TTL" in err and "unlink it first" in err
    err = cli.fails("artifact", "update", "proj/cnn:v0", "--ttl", "1d").stderr
    assert "is linked to registry/cnn:v0" in err and "artctl unlink registry/cnn:v0" in err
    assert cli.fails("artifact", "update", "proj/cnn:v0", "--ttl", "1d", "--json").json()["error"][
        "code"
    ] == ("link_error")
    cli.ok("artifact", "update", "proj/cnn:v0", "--description", "still editable")
    # A project's default TTL applied to existing versions skips what is in a registry.
    cli.ok("config", "ttl.project.proj", "30d")
    cli.ok("config", "ttl.project.registry", "30d")
    for project in ("proj", "registry"):
        applied = cli.ok("ttl", "apply", "--project", project, "--json").json()
        assert applied["versions"] == [] and applied["kept"] == 1
    cli.ok("unlink", "registry/cnn:v0")
    cli.ok("artifact", "update", "proj/cnn:v0", "--ttl", "1d")  # allowed again once unlinked


def test_linking_removes_the_sources_ttl_and_says_so(cli, repo_dir: Path) -> None:
    _model(cli, repo_dir, "proj/cnn", "--ttl", "2d")
    result = cli.ok("link", "proj/cnn:v0", "registry/cnn")
    assert "removed the TTL of proj/cnn:v0" in result.stderr


# -- unlink, deletion ---------------------------------------------------------------------------------
def test_unlink_and_delete_of_links_and_their_sources(cli, repo_dir: Path) -> None:
    _model(cli, repo_dir)
    cli.ok("link", "proj/cnn:v0", "registry/cnn", "-a", "production")

    err = cli.fails("artifact", "rm", "proj/cnn:v0", "--delete-aliases").stderr  # the source: refused
    assert "proj/cnn:v0 is linked to registry/cnn:v0" in err and "artctl unlink registry/cnn:v0" in err
    assert "is linked to" in cli.fails("artifact", "rm", "proj/cnn", "--all").stderr
    err = cli.fails("unlink", "proj/cnn:v0").stderr
    assert "is not a linked version" in err and "artctl artifact rm proj/cnn:v0" in err

    gone = cli.ok("unlink", "registry/cnn:production", "--json").json()
    assert gone == {
        "name": "registry/cnn",
        "version": "v0",
        "link": "proj/cnn:v0",
        "aliases_removed": ["production"],
    }
    assert cli.ok("artifact", "ls", "registry/cnn", "--json").json() == []
    assert cli.ok("artifact", "show", "proj/cnn:v0", "--json").json()["linked"] == []
    relinked = cli.ok("link", "proj/cnn:v0", "registry/cnn", "--json").json()
    assert relinked["version"] == "v1"  # numbers are never reused
    # `artifact rm` of a link unlinks it, its aliases with it (W&B ignores delete_aliases there).
    # A draft of a link is one of its source (W&B): it commits to proj/cnn, not the registry.
    draft = cli.ok("draft", "new", "registry/cnn:v1").stdout.strip()
    make_tree(repo_dir / "extra", {"x.txt": "x"})
    cli.ok("draft", "add", draft, str(repo_dir / "extra" / "x.txt"))
    assert cli.ok("draft", "commit", draft, "--json").json()["name"] == "proj/cnn"
    cli.ok("alias", "add", "registry/cnn:v1", "staging")
    cli.ok("artifact", "rm", "registry/cnn:v1")
    cli.ok("artifact", "rm", "proj/cnn:v0")  # no link left: the source may go
    cli.ok("gc", "--grace-period", "0")
    assert cli.ok("artifact", "verify").returncode == 0


def test_a_link_keeps_its_files_when_a_pull_deletes_its_source(cli, workdir: Path, tmp_path: Path) -> None:
    """Defined here: the source may be deleted elsewhere (another clone, no link there); a pull
    brings the deletion, the link stays whole and gc keeps its bytes."""
    remote = f"file://{tmp_path / 'remote'}"
    a = workdir / "a"
    a.mkdir()
    cli.ok("init", cwd=a)
    _model(cli, a)
    cli.ok("remote", "add", "origin", remote, "--default", cwd=a)
    cli.ok("push", cwd=a)
    cli.ok("clone", remote, str(workdir / "b"))
    b = workdir / "b"
    cli.ok("pull", "--all", cwd=b)
    cli.ok("link", "proj/cnn:v0", "registry/cnn", "-a", "production", cwd=b)
    cli.ok("artifact", "rm", "proj/cnn:v0", cwd=a)
    cli.ok("push", cwd=a)
    cli.ok("pull", cwd=b)
    assert cli("artifact", "show", "proj/cnn:v0", cwd=b).returncode == 1  # deleted here too
    cli.ok("gc", "--grace-period", "0", cwd=b)
    root = cli.ok("artifact", "get", "registry/cnn:production", "--root", "out", cwd=b).stdout.strip()
    assert _tree(b / root) == {"c.json": b"{}", "w.bin": b"weights"}
    assert cli.ok("artifact", "show", "registry/cnn:v0", "--json", cwd=b).json()["link"] == "proj/cnn:v0"
    assert cli.ok("artifact", "verify", cwd=b).returncode == 0


# -- lineage --------------------------------------------------------------------------------------------
def test_lineage_shows_the_link(cli, repo_dir: Path) -> None:
    run = cli.ok("run", "start", "--job-type", "train").stdout.strip()
    src = make_tree(repo_dir / "m", {"w.bin": "weights"})
    cli.ok("artifact", "put", str(src), "-n", "proj/cnn", "-t", "model", "--run", run)
    cli.ok("run", "finish", run)
    cli.ok("link", "proj/cnn:v0", "registry/cnn")

    graph = cli.ok("lineage", "registry/cnn:v0", "--format", "json").json()
    assert {"from": "artifact:proj/cnn:v0", "to": "artifact:registry/cnn:v0", "kind": "link"} in graph[
        "edges"
    ]
    assert {"from": f"run:{run}", "to": "artifact:proj/cnn:v0", "kind": "logged"} in graph["edges"]
    assert "← linked from proj/cnn:v0 (model)" in cli.ok("lineage", "registry/cnn:v0").stdout
    assert "→ linked as registry/cnn:v0 (model)" in cli.ok("lineage", "proj/cnn:v0").stdout
    assert 'style="dashed", label="link"' in cli.ok("lineage", "proj/cnn:v0", "--format", "dot").stdout

    from artctl.api.repo import Repo
    from artctl.ui.graphdata import lineage_json

    page = lineage_json(Repo(repo_dir), "artifact:proj/cnn:v0")  # what the UI draws
    assert {"from": "artifact:proj/cnn:v0", "to": "artifact:registry/cnn:v0", "kind": "link"} in page["edges"]


def test_renaming_a_linked_source_keeps_its_links_and_their_rules(cli, repo_dir: Path) -> None:
    """`artifact rename` of a source (twice): the link still names it, lineage still joins them,
    and the source still cannot be deleted or given a TTL while it is linked."""
    _model(cli, repo_dir)
    cli.ok("link", "proj/cnn:v0", "registry/cnn", "--alias", "production")
    cli.ok("artifact", "rename", "proj/cnn", "proj/cnn-b")
    cli.ok("artifact", "rename", "proj/cnn-b", "proj/convnet")

    assert cli.ok("artifact", "show", "registry/cnn:production", "--json").json()["link"] == "proj/convnet:v0"
    assert "← linked from proj/convnet:v0 (model)" in cli.ok("lineage", "registry/cnn:v0").stdout
    assert "→ linked as registry/cnn:v0 (model)" in cli.ok("lineage", "proj/convnet:v0").stdout
    assert "is linked to registry/cnn:v0" in cli.fails("artifact", "rm", "proj/convnet:v0").stderr
    assert "does not expire" in cli.fails("artifact", "update", "proj/convnet:v0", "--ttl", "5d").stderr
    assert "(was proj/convnet:v0)" in cli.ok("unlink", "registry/cnn:v0").stdout
    cli.ok("artifact", "rm", "proj/convnet:v0")


# -- push / pull ----------------------------------------------------------------------------------------
def test_push_and_clone_carry_registry_collections(cli, repo_dir: Path, tmp_path: Path) -> None:
    _model(cli, repo_dir)
    cli.ok("link", "proj/cnn:v0", "registry/cnn", "-a", "production")
    cli.ok("remote", "add", "origin", f"file://{tmp_path / 'remote'}", "--default")
    cli.ok("push")

    clone = tmp_path / "clone"
    cli.ok("clone", f"file://{tmp_path / 'remote'}", str(clone))
    shown = cli.ok("artifact", "show", "registry/cnn:production", "--json", cwd=clone).json()
    assert (shown["version"], shown["link"]) == ("v0", "proj/cnn:v0")
    root = cli.ok("artifact", "get", "registry/cnn:production", "--root", "out", cwd=clone).stdout.strip()
    assert _tree(clone / root) == {"c.json": b"{}", "w.bin": b"weights"}
    # A registry collection stays one: putting into it is refused in the clone too, and a
    # second link made there comes back with the next pull.
    src = make_tree(clone / "m2", {"w.bin": "v2 weights"})
    cli.fails("artifact", "put", str(src), "-n", "registry/cnn", "-t", "model", cwd=clone)
    cli.ok("artifact", "put", str(src), "-n", "proj/cnn", "-t", "model", cwd=clone)
    cli.ok("link", "proj/cnn:v1", "registry/cnn", "-a", "production", cwd=clone)
    cli.ok("push", cwd=clone)
    cli.ok("pull")
    rows = {r["version"]: r for r in cli.ok("artifact", "ls", "registry/cnn", "--json").json()}
    assert rows["v1"]["link"] == "proj/cnn:v1" and "production" in rows["v1"]["aliases"]


def test_a_registry_collection_and_an_ordinary_one_of_one_name_do_not_merge(
    cli, repo_dir: Path, tmp_path: Path
) -> None:
    _model(cli, repo_dir)
    cli.ok("link", "proj/cnn:v0", "registry/cnn")
    cli.ok("remote", "add", "origin", f"file://{tmp_path / 'remote'}", "--default")
    cli.ok("push")
    other = tmp_path / "other"
    other.mkdir()
    cli.ok("init", cwd=other)
    _model(cli, other, "registry/cnn")  # an ordinary collection of that name, elsewhere
    cli.ok("remote", "add", "origin", f"file://{tmp_path / 'remote'}", "--default", cwd=other)
    assert "registry collection" in cli.fails("push", cwd=other).stderr
    assert "registry collection" in cli.fails("pull", cwd=other).stderr


# -- Python: artifact.link, run.link_artifact ---------------------------------------------------------
def test_artifact_link_in_wandbs_target_forms(repo_dir: Path) -> None:
    import artctl as wandb

    make_tree(repo_dir / "model", {"model.pt": "torch bytes"})
    run = wandb.init(project="mnist", job_type="train")
    art = wandb.Artifact("cnn", type="model", metadata={"acc": 0.9})
    art.add_dir("model")
    run.log_artifact(art)
    run.finish()

    linked = art.link("model-registry/mnist-cnn", aliases=["production"])
    assert linked.is_link and not art.is_link
    assert (linked.name, linked.qualified_name) == ("mnist-cnn:v0", "model-registry/mnist-cnn:v0")
    assert linked.aliases == ["latest", "production"] and linked.version == "v0"
    assert linked.source_artifact.qualified_name == "mnist/cnn:v0" and linked.source_name == "mnist/cnn:v0"
    assert linked.source_version == "v0" and linked.source_project == "mnist"
    assert linked.source_collection.qualified_name == "mnist/cnn" and linked.collection.is_sequence() is False
    assert linked.metadata == {"acc": 0.9} and linked.digest == art.digest
    assert [a.qualified_name for a in art.linked_artifacts] == ["model-registry/mnist-cnn:v0"]
    # W&B's entity/model-registry/name: the entity names the repository's owner (core.entity,
    # unset here), not another collection (docs/names.md): the same link, idempotently.
    with_entity = art.link("acme/model-registry/mnist-cnn")
    assert with_entity.qualified_name == "model-registry/mnist-cnn:v0" and with_entity.entity is None
    assert art.link("model-registry/mnist-cnn").version == "v0"  # idempotent

    fetched = wandb.Api().artifact("model-registry/mnist-cnn:production")
    assert fetched.is_link and Path(fetched.download(root="dl"), "model.pt").read_text() == "torch bytes"
    with pytest.raises(ValueError, match="it is linked to mnist/cnn:v0"):
        fetched.ttl = timedelta(days=1)
    with pytest.raises(ValueError, match="is linked to"):
        art.ttl = timedelta(days=1)
        art.save()
    with pytest.raises(ValueError, match="not a linked version"):
        wandb.Api().artifact("mnist/cnn:v0").unlink()
    fetched.unlink()
    assert not wandb.Api().artifact_exists("model-registry/mnist-cnn:production")
    assert wandb.Api().artifact("mnist/cnn:v0").state == "COMMITTED"


def test_run_link_artifact_logs_a_draft_then_links_it(repo_dir: Path) -> None:
    import artctl as wandb

    make_tree(repo_dir / "model", {"model.pt": "weights"})
    run = wandb.init(project="mnist", job_type="train")
    art = wandb.Artifact("cnn", type="model")
    art.add_dir("model")
    linked = run.link_artifact(art, "registry/cnn", aliases=["staging"])
    run.finish()

    assert art.logged_by().id == run.id  # the draft was logged by the run first
    assert linked.qualified_name == "registry/cnn:v0" and linked.aliases == ["latest", "staging"]
    assert linked.logged_by().id == run.id  # a link's producer is its source's
    bare = wandb.init(project="mnist", job_type="promote")
    assert bare.link_artifact(art, "promoted").qualified_name == "mnist/promoted:v0"  # the run's project
    bare.finish()
    draft = linked.new_draft()  # based on the source, saved to the source's collection (W&B)
    draft.add_file(str(make_tree(repo_dir / "more", {"extra.txt": "x"}) / "extra.txt"))
    draft.save()
    assert draft.qualified_name == "mnist/cnn:v1"
    linked.delete()  # a link's delete only unlinks it
    assert art.state == "COMMITTED" and wandb.Api().artifact("mnist/cnn:v0").linked_artifacts[0].name == (
        "promoted:v0"
    )


# -- the on-disk format --------------------------------------------------------------------------------
def test_old_records_read_and_write_unchanged_and_a_damaged_link_is_named(repo_dir: Path) -> None:
    from artctl.errors import RepositoryFormatError
    from artctl.format.records import ArtifactRecord, VersionRecord, dumps, loads

    old_version = {
        "format": 1, "name": "p/a", "type": "model", "index": 0, "manifest": "0" * 64,
        "created_at": "2026-01-01T00:00:00+00:00", "files": 1, "size": 1, "description": None,
        "metadata": {}, "ttl_seconds": None, "state": "committed", "deleted_at": None,
        "logged_by": None, "purged_at": None,
    }  # fmt: skip
    record = VersionRecord.from_json(old_version)
    assert record.link is None and dumps(record.to_json()) == dumps(old_version)
    old_artifact = {"format": 1, "name": "p/a", "type": "model", "created_at": "2026-01-01T00:00:00+00:00"}
    collection = ArtifactRecord.from_json(old_artifact)
    assert collection.portfolio is False and collection.to_json() == old_artifact
    linked = VersionRecord.from_json({**old_version, "name": "reg/a", "link": "p/a:v0"})
    assert loads(dumps(linked.to_json()), "x")["link"] == "p/a:v0"
    for bad in ("p/a:best", "p/a", 3):
        with pytest.raises(RepositoryFormatError, match="invalid 'link'"):
            VersionRecord.from_json({**old_version, "link": bad})
    with pytest.raises(RepositoryFormatError, match="invalid 'portfolio'"):
        ArtifactRecord.from_json({**old_artifact, "portfolio": "yes"})
    assert json.loads(json.dumps(linked.to_json()))["link"] == "p/a:v0"
