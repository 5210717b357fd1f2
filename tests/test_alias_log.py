"""``artctl alias log NAME [ALIAS]``: the history of alias moves (when, by whom, from → to),
newest first, from the alias snapshots, here and — by the same reader over a Backend — on a
remote."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from artctl.format.records import dumps


def _three_versions(cli, work: Path) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        (work / "x").write_text(f"{i}\n")
        cli.ok("artifact", "put", "x", "--name", "p/m", "--type", "model", cwd=work)


def _promote(cli, work: Path) -> None:  # type: ignore[no-untyped-def]
    cli.ok("alias", "add", "p/m:v0", "production", cwd=work)
    cli.ok("alias", "add", "p/m:v1", "staging", cwd=work)
    cli.ok("alias", "add", "p/m:v2", "production", cwd=work)
    cli.ok("alias", "rm", "p/m", "staging", cwd=work)


def test_alias_log_shows_every_move_newest_first(cli, repo_dir: Path) -> None:
    _three_versions(cli, repo_dir)
    _promote(cli, repo_dir)
    lines = cli.ok("alias", "log", "p/m").stdout.splitlines()
    pattern = r"\d{4}-\d\d-\d\d \d\d:\d\d  \S+@\S+  (\S+)\s+(\S+) -> (\S+)"
    changes = [re.fullmatch(pattern, line).groups() for line in lines]  # type: ignore[union-attr]
    assert changes == [
        ("staging", "v1", "(none)"),
        ("production", "v0", "v2"),
        ("staging", "(none)", "v1"),
        ("production", "(none)", "v0"),
    ]
    only = cli.ok("alias", "log", "p/m", "production", "--json").json()
    assert [(e["action"], e["from"], e["to"]) for e in only] == [("moved", "v0", "v2"), ("set", None, "v0")]
    assert all(e["by"] and "@" in e["by"] and e["at"] for e in only)
    assert len(cli.ok("alias", "log", "p/m", "--limit", "1", "--json").json()) == 1
    assert cli.ok("alias", "log", "p/m:production", "--json").json() == only  # NAME:ALIAS, as a ref


def test_alias_log_of_nothing_and_bad_input(cli, repo_dir: Path) -> None:
    _three_versions(cli, repo_dir)
    assert "no alias changes" in cli.ok("alias", "log", "p/m").stdout
    assert cli.ok("alias", "log", "p/m", "--json").json() == []
    assert "not found" in cli.fails("alias", "log", "p/nope").stderr
    managed = cli.fails("alias", "log", "p/m", "latest", code=2)
    assert "managed by artctl" in managed.stderr and "hint:" in managed.stderr
    assert cli("alias", "log", "p/m", "--limit", "0").returncode == 2  # a usage error


def test_a_snapshot_without_changes_is_compared_with_the_one_before(cli, repo_dir: Path) -> None:
    """Snapshots written before artctl recorded ``changes`` (or by another writer) still log."""
    _three_versions(cli, repo_dir)
    cli.ok("alias", "add", "p/m:v0", "best")
    snapshots = repo_dir / ".artifacts" / "registry" / "p" / "m" / "aliases"
    older = {"format": 1, "seq": 1, "aliases": {"best": "v1", "prod": "v2"}, "at": "2026-01-02T03:04:05Z"}
    (snapshots / "0000000001.json").write_bytes(dumps(older))
    log = cli.ok("alias", "log", "p/m", "--json").json()
    assert sorted((e["alias"], e["from"], e["to"], e["by"]) for e in log[:2]) == [
        ("best", "v0", "v1", None),
        ("prod", None, "v2", None),
    ]
    assert "(unknown)" in cli.ok("alias", "log", "p/m").stdout


def test_alias_log_through_the_python_api(repo, repo_dir: Path) -> None:  # type: ignore[no-untyped-def]
    import artctl

    (repo_dir / "x").write_text("1\n")
    repo.put(repo_dir / "x", name="p/m", type="model", aliases=["best"])
    events = repo.alias_log("p/m")
    assert [(e.alias, e.old, e.new) for e in events] == [("best", None, "v0")]
    collection = artctl.Api().artifact_collection("model", "p/m")
    assert [e.to_json()["to"] for e in collection.alias_log("best")] == ["v0"]


@pytest.mark.parametrize("backend", ["file", pytest.param("s3", marks=pytest.mark.servers)])
def test_alias_log_on_a_remote(cli, workdir: Path, request: pytest.FixtureRequest, backend: str) -> None:
    """The remote's history, read by the same code: a clone sees who promoted what."""
    env: dict[str, str] = {}
    if backend == "s3":
        server = request.getfixturevalue("s3_server")
        url, env = request.getfixturevalue("s3_bucket"), dict(server.env)
    else:
        url = (workdir / "remote").as_uri()
    cli.env.update(env)
    cli.ok("init")
    cli.ok("remote", "add", "origin", url, "--default")
    _three_versions(cli, workdir)
    cli.ok("alias", "add", "p/m:v1", "production")
    cli.ok("push")
    cli.ok("alias", "add", "p/m:v2", "production")
    cli.ok("push")
    log = cli.ok("alias", "log", "p/m", "production", "--remote", "origin", "--json").json()
    assert [(e["from"], e["to"]) for e in log] == [("v1", "v2"), (None, "v1")]
    assert "not exist" in cli.fails("alias", "log", "p/nope", "--remote", "origin").stderr
    text = cli.ok("alias", "log", "p/m", "--remote", "origin").stdout
    assert "production  v1 -> v2" in text
    assert json.loads(cli.ok("alias", "log", "p/m", "--json").stdout)[0]["to"] == "v2"
