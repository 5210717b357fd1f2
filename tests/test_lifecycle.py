"""Aliases, soft delete and TTL: from the CLI (real subprocesses) and from Python."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from conftest import make_tree


def _versions(cli, workdir: Path, name: str = "p/m", count: int = 3) -> None:
    for i in range(count):
        make_tree(workdir / "src", {"w.bin": f"weights {i}"})
        cli.ok("artifact", "put", "src", "--name", name, "--type", "model")


# -- aliases --------------------------------------------------------------------------------------
def test_alias_add_moves_rm_and_ls(cli, repo_dir: Path) -> None:
    _versions(cli, repo_dir)
    added = cli.ok("alias", "add", "p/m:v0", "best", "--json").json()
    assert added == {"name": "p/m", "alias": "best", "version": "v0", "previous": None}
    moved = cli.ok("alias", "add", "p/m:v1", "best", "--json").json()
    assert moved["version"] == "v1" and moved["previous"] == "v0"
    assert "moved from v1" in cli.ok("alias", "add", "p/m:v2", "best").stdout
    cli.ok("alias", "add", "p/m", "production")  # latest
    listed = cli.ok("alias", "ls", "p/m", "--json").json()
    assert [(a["alias"], a["version"], a["managed"]) for a in listed] == [
        ("latest", "v2", True),
        ("best", "v2", False),
        ("production", "v2", False),
    ]
    assert cli.ok("artifact", "show", "p/m:best", "--json").json()["version"] == "v2"
    human = cli.ok("alias", "ls", "p/m").stdout
    assert "production" in human and "managed" in human
    removed = cli.ok("alias", "rm", "p/m", "best", "--json").json()
    assert removed["previous"] == "v2" and removed["version"] is None
    cli.fails("artifact", "get", "p/m:best")
    assert cli.ok("artifact", "show", "p/m:v2", "--json").json()["aliases"] == ["latest", "v2", "production"]


@pytest.mark.parametrize("alias", ["latest", "v0", "v12", "bad alias", "_x", "a:b"])
def test_managed_or_malformed_aliases_are_refused(cli, repo_dir: Path, alias: str) -> None:
    _versions(cli, repo_dir, count=1)
    before = cli.ok("alias", "ls", "p/m", "--json").json()
    err = cli.fails("alias", "add", "p/m:v0", alias, code=2)
    assert err.stderr.count("error:") == 1
    assert cli.ok("alias", "ls", "p/m", "--json").json() == before


def test_alias_bad_input(cli, repo_dir: Path) -> None:
    _versions(cli, repo_dir, count=1)
    assert "no alias" in cli.fails("alias", "rm", "p/m", "nope").stderr
    assert "managed" in cli.fails("alias", "rm", "p/m", "latest", code=2).stderr
    assert "not found" in cli.fails("alias", "ls", "p/nothing").stderr
    cli.fails("alias", "add", "p/m:v7", "best")
    cli.fails("alias", "ls", "p/m:v0", code=2)
    cli.fails("alias", "add", "p/m:v0", code=2)  # missing argument: usage error


def test_python_alias_append_and_remove_with_save(repo_dir: Path, repo) -> None:
    import artctl

    make_tree(repo_dir / "src", {"w.bin": "one"})
    repo.put(repo_dir / "src", name="p/m", type="model")
    make_tree(repo_dir / "src", {"w.bin": "two"})
    repo.put(repo_dir / "src", name="p/m", type="model")
    api = artctl.Api(dir=repo_dir)
    art = api.artifact("p/m:v0")
    art.aliases.append("best")
    art.save()
    assert api.artifact("p/m:best").version == "v0"
    assert "best" in api.artifact("p/m:v0").aliases
    newer = api.artifact("p/m:v1")
    newer.aliases.append("best")  # moves it
    newer.save()
    assert api.artifact("p/m:best").version == "v1"
    newer.aliases.remove("best")
    newer.save()
    assert not api.artifact_exists("p/m:best")
    bad = api.artifact("p/m:v1")
    from artctl.errors import InvalidName

    with pytest.raises(InvalidName, match="managed"):  # vN is the version itself, not an alias to add
        bad.aliases.append("v0")
    assert api.artifact("p/m:v0").version == "v0"


# -- delete ---------------------------------------------------------------------------------------
def test_rm_version_latest_moves_back_and_rm_twice_fails(cli, repo_dir: Path) -> None:
    _versions(cli, repo_dir)
    deleted = cli.ok("artifact", "rm", "p/m:v2", "--json").json()
    assert deleted == {"name": "p/m", "deleted": ["v2"], "aliases_removed": []}
    assert cli.ok("artifact", "show", "p/m", "--json").json()["version"] == "v1"
    assert [v["version"] for v in cli.ok("artifact", "ls", "p/m", "--json").json()] == ["v0", "v1"]
    everything = cli.ok("artifact", "ls", "p/m", "--all", "--json").json()
    assert [(v["version"], v["state"]) for v in everything][-1] == ("v2", "deleted")
    assert "deleted" in cli.fails("artifact", "get", "p/m:v2").stderr
    again = cli.fails("artifact", "rm", "p/m:v2")
    assert "deleted" in again.stderr
    # Bytes stay until gc: the deleted version can still be shown with --all.
    assert cli.ok("artifact", "show", "p/m:v2", "--all", "--json").json()["entries"]
    # New content after a deletion never reuses a number.
    make_tree(repo_dir / "src", {"w.bin": "fresh"})
    assert (
        cli.ok("artifact", "put", "src", "--name", "p/m", "--type", "model", "--json").json()["version"]
        == "v3"
    )


def test_rm_refused_while_aliased_unless_delete_aliases(cli, repo_dir: Path) -> None:
    _versions(cli, repo_dir, count=2)
    cli.ok("alias", "add", "p/m:v1", "best")
    cli.ok("alias", "add", "p/m:v1", "prod")
    err = cli.fails("artifact", "rm", "p/m:v1")
    assert "best" in err.stderr and "--delete-aliases" in err.stderr
    assert cli.ok("artifact", "show", "p/m:best", "--json").json()["state"] == "committed"
    result = cli.ok("artifact", "rm", "p/m:best", "--delete-aliases", "--json").json()
    assert result["deleted"] == ["v1"] and result["aliases_removed"] == ["best", "prod"]
    assert [a["alias"] for a in cli.ok("alias", "ls", "p/m", "--json").json()] == ["latest"]
    cli.fails("alias", "add", "p/m:v1", "best")  # a deleted version cannot get an alias


def test_rm_all_deletes_the_artifact(cli, repo_dir: Path) -> None:
    _versions(cli, repo_dir)
    _versions(cli, repo_dir, name="p/other", count=1)
    cli.ok("alias", "add", "p/m:v0", "best")
    result = cli.ok("artifact", "rm", "p/m", "--all", "--json").json()
    assert result["deleted"] == ["v0", "v1", "v2"] and result["aliases_removed"] == ["best"]
    assert [a["name"] for a in cli.ok("artifact", "ls", "--json").json()] == ["p/other"]
    assert "no live versions" in cli.fails("artifact", "get", "p/m").stderr
    cli.fails("artifact", "rm", "p/m", "--all")  # twice
    assert "without ':ALIAS'" in cli.fails("artifact", "rm", "p/other:v0", "--all", code=2).stderr
    cli.fails("artifact", "rm", "p/missing:v0")
    cli.ok("artifact", "verify")


def test_python_delete_and_artifact_versions(repo_dir: Path, repo) -> None:
    import artctl
    from artctl.errors import ArtifactNotFound, Conflict

    for i in range(4):
        make_tree(repo_dir / "src", {"w.bin": f"w{i}"})
        repo.put(repo_dir / "src", name="p/m", type="model", aliases=["best"] if i == 1 else ())
    api = artctl.Api(dir=repo_dir)
    with pytest.raises(Conflict):
        api.artifact("p/m:best").delete()
    # W&B's recipe: delete every version that has no custom alias (latest aside).
    for art in api.artifact_versions("model", "p/m"):
        if not [a for a in art.aliases if a != "latest" and a != art.version] and art.version != "v3":
            art.delete()
            assert art.state == "DELETED"  # W&B's value
    assert [a.version for a in api.artifact_versions("model", "p/m")] == ["v1", "v3"]
    aliased = api.artifact("p/m:best")
    aliased.delete(delete_aliases=True)
    assert [a.version for a in api.artifact_versions("model", "p/m")] == ["v3"]
    with pytest.raises(ArtifactNotFound):
        aliased.delete()  # deleting twice is an error, not a no-op


# -- TTL ------------------------------------------------------------------------------------------
def test_ttl_from_config_defaults(cli, repo_dir: Path) -> None:
    make_tree(repo_dir / "src", {"a.txt": "a"})
    cli.ok("config", "ttl.default", "30d")
    assert cli.ok("artifact", "put", "src", "--name", "p/a", "--type", "dataset", "--json").json()
    assert cli.ok("artifact", "show", "p/a", "--json").json()["ttl"] == "30d"
    cli.ok("config", "ttl.project.q", "2w")
    cli.ok("artifact", "put", "src", "--name", "q/a", "--type", "dataset")
    assert cli.ok("artifact", "show", "q/a", "--json").json()["ttl"] == "2w"
    make_tree(repo_dir / "src", {"a.txt": "b"})
    cli.ok("artifact", "put", "src", "--name", "q/a", "--type", "dataset", "--ttl", "1y")
    assert cli.ok("artifact", "show", "q/a", "--json").json()["ttl"] == "1y"  # --ttl wins


@pytest.mark.parametrize("ttl", ["3 weeks", "0d", "-1d", "10", "1.5d", "d"])
def test_malformed_ttl_is_refused(cli, repo_dir: Path, ttl: str) -> None:
    make_tree(repo_dir / "src", {"a.txt": "a"})
    err = cli.fails("artifact", "put", "src", "--name", "p/a", "--type", "dataset", "--ttl", ttl, code=2)
    assert "duration" in err.stderr or "TTL" in err.stderr
    assert cli.ok("artifact", "ls", "--json").json() == []
    cli.ok("artifact", "put", "src", "--name", "p/a", "--type", "dataset")
    cli.fails("artifact", "update", "p/a", "--ttl", ttl, code=2)
    assert cli.ok("artifact", "show", "p/a", "--json").json()["ttl"] is None


def test_python_ttl_set_and_cleared_with_save(repo_dir: Path, repo) -> None:
    import artctl

    make_tree(repo_dir / "src", {"a.txt": "a"})
    repo.put(repo_dir / "src", name="p/a", type="dataset")
    art = artctl.Api(dir=repo_dir).artifact("p/a:latest")
    art.ttl = timedelta(days=365 * 2)
    art.save()
    assert repo.resolve("p/a").ttl == timedelta(days=730)
    art.ttl = None
    art.save()
    assert repo.resolve("p/a").ttl is None
    art.ttl = timedelta(seconds=1)
    art.save()
    time.sleep(1.1)
    with pytest.raises(artctl.errors.ArtifactNotFound, match="expired"):
        artctl.Api(dir=repo_dir).artifact("p/a:v0")


def test_ttl_help_says_aliases_do_not_protect(cli) -> None:
    assert "alias" in cli.ok("gc", "--help").stdout
    assert "TTL" in cli.ok("alias", "add", "--help").stdout
