"""Repository format 2 locally: a version record is created once and never rewritten; every
later change is one more immutable file (docs/format.md): edit snapshots, tombstones, purge
markers, alias snapshots. Merges and renames rewrite a slot whole."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from artctl.format.layout import version_of_file
from artctl.format.records import dumps


def _registry(work: Path, name: str = "p/d") -> Path:
    return work / ".artifacts" / "registry" / name


def _records(work: Path, name: str = "p/d") -> dict[str, bytes]:
    files = sorted((_registry(work, name) / "versions").iterdir())
    return {p.name: p.read_bytes() for p in files if version_of_file(p.name) is not None}


def _files(work: Path, name: str = "p/d") -> list[str]:
    root = _registry(work, name)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_every_change_is_a_new_file_and_no_record_is_rewritten(cli, repo_dir: Path) -> None:
    (repo_dir / "x").write_text("1\n")
    cli.ok("artifact", "put", "x", "--name", "p/d", "--type", "t", "--alias", "best")
    (repo_dir / "x").write_text("2\n")
    cli.ok("artifact", "put", "x", "--name", "p/d", "--type", "t")
    records = _records(repo_dir)
    cli.ok("artifact", "update", "p/d:v0", "--description", "one", "--ttl", "5d")
    cli.ok("artifact", "update", "p/d:v0", "--description", "two")
    cli.ok("artifact", "update", "p/d:v0", "--description", "two")  # no change: no new file
    cli.ok("alias", "add", "p/d:v1", "best")
    cli.ok("alias", "rm", "p/d", "best")
    cli.ok("artifact", "rm", "p/d:v0")
    cli.ok("gc", "--grace-period", "0")
    cli.ok("ttl", "apply", "--project", "p", "--ttl", "30d")
    assert _records(repo_dir) == records  # every vN.json as it was created
    assert _files(repo_dir) == [
        "aliases/0000000000.json",
        "aliases/0000000001.json",
        "aliases/0000000002.json",
        "artifact.json",
        "edits/v0/0000000000.json",
        "edits/v0/0000000001.json",
        "edits/v1/0000000000.json",
        "versions/v0.deleted.json",
        "versions/v0.json",
        "versions/v0.purged.json",
        "versions/v1.json",
    ]
    shown = {v["version"]: v for v in cli.ok("artifact", "ls", "p/d", "--all", "--json").json()}
    assert (shown["v0"]["description"], shown["v0"]["state"], shown["v0"]["ttl"]) == ("two", "deleted", "5d")
    assert shown["v1"]["ttl"] == "30d" and shown["v1"]["aliases"] == ["latest", "v1"]
    snapshot = json.loads((_registry(repo_dir) / "aliases" / "0000000002.json").read_text())
    assert snapshot["aliases"] == {} and snapshot["changes"] == [{"alias": "best", "from": "v1", "to": None}]
    assert "@" in snapshot["by"] and snapshot["at"]
    edit = json.loads((_registry(repo_dir) / "edits" / "v0" / "0000000001.json").read_text())
    assert (edit["seq"], edit["description"], edit["ttl_seconds"]) == (1, "two", 5 * 86400)
    cli.ok("artifact", "verify")


def test_a_merge_rewrites_each_slot_whole(cli, workdir: Path) -> None:
    """A pull that renumbers: slot 0 held a local edited version, slot 1 a deleted one; after the
    merge each slot holds the journal's record alone (no stale edit or tombstone folds over it)."""
    remote, a, b = workdir / "remote", workdir / "a", workdir / "b"
    for repo in (a, b):
        repo.mkdir()
        cli.ok("init", cwd=repo)
        cli.ok("remote", "add", "origin", remote.as_uri(), "--default", cwd=repo)
    (a / "x").write_text("A\n")
    cli.ok("artifact", "put", "x", "--name", "p/d", "--type", "t", "--description", "from a", cwd=a)
    cli.ok("push", cwd=a)
    (b / "y").write_text("B\n")
    cli.ok("artifact", "put", "y", "--name", "p/d", "--type", "t", "--alias", "mine", cwd=b)
    cli.ok("artifact", "update", "p/d:v0", "--description", "from b", cwd=b)
    (b / "y").write_text("B2\n")
    cli.ok("artifact", "put", "y", "--name", "p/d", "--type", "t", cwd=b)
    cli.ok("artifact", "rm", "p/d:v1", cwd=b)
    cli.ok("pull", cwd=b)
    shown = cli.ok("artifact", "ls", "p/d", "--all", "--json", cwd=b).json()
    assert [(v["version"], v["description"], v["state"]) for v in shown] == [
        ("v0", "from a", "committed"),
        ("v1", "from b", "committed"),
        ("v2", None, "deleted"),
    ]
    assert cli.ok("alias", "ls", "p/d", "--json", cwd=b).json()[1] == {
        "alias": "mine",
        "version": "v1",
        "managed": False,
        "state": "committed",
    }
    extras = [f for f in _files(b) if f.startswith("edits/") or f.endswith((".deleted.json", ".purged.json"))]
    assert extras == []  # each slot is the journal's (folded) record alone: v2 says "deleted" itself
    log = cli.ok("alias", "log", "p/d", "mine", "--json", cwd=b).json()
    assert [(e["from"], e["to"]) for e in log] == [("v0", "v1"), (None, "v0")]  # the merge's move, recorded
    slot0 = json.loads((_registry(b) / "versions" / "v0.json").read_text())
    assert slot0["description"] == "from a" and not (_registry(b) / "edits" / "v0").exists()
    assert not (_registry(b) / "versions" / "v1.deleted.json").exists()
    cli.ok("artifact", "verify", cwd=b)


def test_a_rename_carries_every_file_with_the_new_name(cli, repo_dir: Path) -> None:
    for i in range(2):
        (repo_dir / "x").write_text(f"{i}\n")
        cli.ok("artifact", "put", "x", "--name", "p/old", "--type", "t", "--alias", "best")
    cli.ok("artifact", "update", "p/old:v0", "--description", "edited")
    cli.ok("artifact", "rm", "p/old:v0")
    cli.ok("artifact", "rename", "p/old", "p/new")
    assert "edits/v0/0000000000.json" in _files(repo_dir, "p/new")
    assert (
        json.loads((_registry(repo_dir, "p/new") / "versions" / "v0.deleted.json").read_text())["name"]
        == "p/new"
    )
    shown = {v["version"]: v for v in cli.ok("artifact", "ls", "p/new", "--all", "--json").json()}
    assert (shown["v0"]["description"], shown["v0"]["state"]) == ("edited", "deleted")
    assert [e["to"] for e in cli.ok("alias", "log", "p/new", "--json").json()] == ["v1", "v0"]
    cli.ok("artifact", "verify")


def test_listing_many_versions_lists_each_directory_once(repo, repo_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``artifact ls`` of an artifact of 500 versions reads its records and no more directories
    than format 1 did, whatever the number of versions (edits and tombstones are looked up)."""
    from artctl.format.names import parse_name, parse_ref

    (repo_dir / "x").write_text("0\n")
    repo.put(repo_dir / "x", name="p/d", type="t")
    versions = _registry(repo_dir) / "versions"
    record = json.loads((versions / "v0.json").read_text())
    for index in range(1, 500):
        (versions / f"v{index}.json").write_bytes(dumps({**record, "index": index}))
    repo.registry.update(parse_ref("p/d:v7"), description="x")
    listed: list[str] = []
    real = os.listdir

    def counting(path):  # type: ignore[no-untyped-def]
        listed.append(str(path))
        return real(path)

    monkeypatch.setattr(os, "listdir", counting)
    found = repo.registry.versions(parse_name("p/d"))
    assert len(found) == 500 and found[7].description == "x"
    registry_dirs = [p for p in listed if "/registry/" in p]
    assert len(registry_dirs) <= 3, registry_dirs  # versions/, edits/, edits/v7/


@pytest.mark.damages_repository
def test_verify_reports_each_bad_registry_file_once(cli, repo_dir: Path) -> None:
    (repo_dir / "x").write_text("1\n")
    cli.ok("artifact", "put", "x", "--name", "p/d", "--type", "t", "--alias", "best")
    cli.ok("artifact", "update", "p/d:v0", "--description", "d")
    cli.ok("alias", "add", "p/d:v0", "other")
    root = _registry(repo_dir)
    (root / "aliases" / "0000000000.json").write_text("{not json")
    (root / "edits" / "v9").mkdir()
    (root / "edits" / "v9" / "0000000000.json").write_bytes(
        (root / "edits" / "v0" / "0000000000.json").read_bytes()
    )
    (root / "versions" / "v0.deleted.json").write_text(
        json.dumps({"format": 1, "name": "p/d", "version": "v0", "manifest": "0" * 64, "deleted_at": None})
    )
    problems = cli.fails("artifact", "verify", "--json").json()["problems"]
    assert sorted(p["path"] for p in problems) == [
        "registry/p/d/aliases/0000000000.json",
        "registry/p/d/edits/v9/0000000000.json",
        "registry/p/d/versions/v0.deleted.json",
    ], problems
