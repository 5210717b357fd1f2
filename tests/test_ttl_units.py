"""TTL units without ambiguity, expired versions shown as such, and ``artctl ttl apply`` — a
project's default TTL given to its existing versions by creation date (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import make_tree


@pytest.fixture
def data(workdir: Path) -> Path:
    return make_tree(workdir / "data", {"a.txt": "alpha\n"})


@pytest.mark.parametrize(
    "where",
    [
        ["artifact", "put", "data", "-n", "p/a", "--ttl", "5m"],
        ["config", "ttl.default", "5m"],
        ["config", "gc.grace_period", "5m"],
    ],
)
def test_m_is_refused_as_ambiguous_with_a_hint(cli, repo_dir: Path, data: Path, where: list[str]) -> None:
    result = cli.fails(*where, code=2)
    assert "'m' could mean minutes or months" in result.stderr or "5m" in result.stderr
    assert "hint: write 5min for minutes or 5mo for months" in result.stderr
    error = cli.fails(*where, "--json", code=2).json()["error"] if where[0] == "artifact" else None
    if error:
        assert error["code"] == "invalid_input" and "5mo" in error["hint"]


def test_min_and_mo_units(cli, repo_dir: Path, data: Path) -> None:
    made = cli.ok("artifact", "put", "data", "-n", "p/a", "--ttl", "90min", "--json").json()
    assert cli.ok("artifact", "show", "p/a", "--json").json()["ttl"] == "90min", made
    cli.ok("artifact", "update", "p/a", "--ttl", "6mo")
    shown = cli.ok("artifact", "show", "p/a", "--json").json()
    assert shown["ttl"] == "180d"
    cli.ok("config", "gc.grace_period", "30min")
    cli.fails("artifact", "update", "p/a", "--ttl", "3 months", code=2)


def test_expired_versions_show_state_expired(cli, repo_dir: Path, data: Path) -> None:
    cli.ok("artifact", "put", "data", "-n", "p/a", "--ttl", "1s")
    (data / "a.txt").write_text("two\n")
    cli.ok("artifact", "put", "data", "-n", "p/a", "--ttl", "1y")
    import time

    time.sleep(1.2)
    shown = cli.ok("artifact", "show", "p/a:v0", "--all", "--json").json()
    assert shown["state"] == "expired"
    assert "expired" in cli.ok("artifact", "show", "p/a:v0", "--all").stdout
    listed = {v["version"]: v["state"] for v in cli.ok("artifact", "ls", "p/a", "--all", "--json").json()}
    assert listed == {"v0": "expired", "v1": "committed"}
    table = cli.ok("artifact", "ls", "p/a", "--all").stdout
    assert "expired" in table and "committed" in table


def test_ttl_apply_gives_the_project_ttl_by_creation_date(
    cli, repo_dir: Path, data: Path, workdir: Path
) -> None:
    cli.ok("artifact", "put", "data", "-n", "p/a")
    (data / "a.txt").write_text("own ttl\n")
    cli.ok("artifact", "put", "data", "-n", "p/a", "--ttl", "2y")  # keeps its own TTL
    cli.ok("artifact", "put", "data", "-n", "other/b")  # another project
    # Without a TTL (no --ttl, no config) nothing happens and the user is told what to give.
    missing = cli.fails("ttl", "apply", "--project", "p", code=2)
    assert "ttl.project.p" in missing.stderr
    cli.fails("ttl", "apply", "--project", "p", "--ttl", "3m", code=2)
    cli.ok("config", "ttl.project.p", "1s")
    import time

    time.sleep(1.2)
    plan = cli.ok("ttl", "apply", "--project", "p", "--dry-run", "--json").json()
    assert plan["dry_run"] is True and plan["ttl"] == "1s" and plan["kept"] == 1
    assert [(v["name"], v["version"], v["expired"]) for v in plan["versions"]] == [("p/a", "v0", True)]
    assert cli.ok("artifact", "show", "p/a:v0", "--json").json()["ttl"] is None  # dry run: unchanged
    human = cli.ok("ttl", "apply", "--project", "p")
    assert "p/a:v0\texpired" in human.stdout and "1 version(s) of p got TTL 1s" in human.stderr
    assert cli.ok("artifact", "show", "p/a:v0", "--all", "--json").json()["state"] == "expired"
    assert cli.ok("artifact", "show", "p/a:v1", "--json").json()["ttl"] == "2y"
    assert cli.ok("artifact", "show", "other/b:v0", "--json").json()["ttl"] is None
    # Applying again changes nothing; --ttl overrides the config; gc then drops the expired data.
    assert cli.ok("ttl", "apply", "--project", "p", "--json").json()["versions"] == []
    longer = cli.ok("ttl", "apply", "--project", "other", "--ttl", "1y", "--json").json()
    assert [v["expired"] for v in longer["versions"]] == [False]
    cli.ok("config", "gc.grace_period", "0")
    collected = cli.ok("gc", "--json").json()
    assert collected
    assert "was deleted" in cli.fails("artifact", "get", "p/a:v0").stderr  # gc applied the TTL


def test_ttl_apply_takes_the_default_project_and_refuses_one_without_artifacts(
    cli, repo_dir: Path, data: Path
) -> None:
    """A cron job's `ttl apply` uses ARTCTL_PROJECT / core.project as every command does, and a
    mistyped project (or entity) fails naming the projects there, instead of changing nothing."""
    cli.ok("artifact", "put", "data", "-n", "vision/cats")
    no_default = cli.fails("ttl", "apply", "--ttl", "1y", code=2)
    assert "no project given" in no_default.stderr and "core.project" in no_default.stderr
    applied = cli.ok("ttl", "apply", "--ttl", "1y", "--json", env={"ARTCTL_PROJECT": "vision"}).json()
    assert applied["project"] == "vision" and [v["name"] for v in applied["versions"]] == ["vision/cats"]
    typo = cli.fails("ttl", "apply", "--project", "visoin", "--ttl", "1y", "--json")
    assert typo.json()["error"]["message"] == "project visoin has no artifacts"
    assert "projects here: vision" in typo.stderr
    cli.ok("config", "core.entity", "lab")
    other = cli.fails("ttl", "apply", "--project", "acme/vision", "--ttl", "1y")
    assert "belongs to entity 'lab'" in other.stderr
    mine = cli.ok("ttl", "apply", "--project", "lab/vision", "--ttl", "2y", "--json").json()
    assert mine["project"] == "vision" and mine["versions"] == []  # v0 already has its own TTL
