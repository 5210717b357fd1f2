"""``artifact log NAME``: versions newest first with what each changed (like git log --stat)."""

from __future__ import annotations

from pathlib import Path

from conftest import make_tree


def _history(cli, repo_dir: Path) -> Path:
    src = make_tree(repo_dir / "src", {"a.txt": "a", "b.txt": "b"})
    cli.ok("artifact", "put", "src", "--name", "p/d", "--type", "dataset", "--description", "first cut")
    (src / "a.txt").write_text("a2")
    (src / "c.txt").write_text("c")
    (src / "b.txt").unlink()
    run = cli.ok("run", "start", "--job-type", "clean").stdout.strip()
    cli.ok(
        "artifact",
        "put",
        "src",
        "--name",
        "p/d",
        "--type",
        "dataset",
        "--run",
        run,
        "--alias",
        "best",
        "--tag",
        "reviewed",
    )
    cli.ok("run", "finish", run)
    (src / "d.txt").write_text("d")
    cli.ok("artifact", "put", "src", "--name", "p/d", "--type", "dataset", "--description", "more")
    return src


def test_log_json_newest_first_with_changes_run_aliases_and_size(cli, repo_dir: Path) -> None:
    _history(cli, repo_dir)
    log = cli.ok("artifact", "log", "p/d", "--json").json()
    assert [v["version"] for v in log] == ["v2", "v1", "v0"]
    v2, v1, v0 = log
    assert v2["changes"] == {"added": ["d.txt"], "modified": [], "removed": []} and v2["parent"] == "v1"
    assert v1["changes"] == {"added": ["c.txt"], "modified": ["a.txt"], "removed": ["b.txt"]}
    assert (
        v0["changes"] == {"added": ["a.txt", "b.txt"], "modified": [], "removed": []} and v0["parent"] is None
    )
    assert v1["logged_by"] and v1["aliases"] == ["v1", "best"] and v1["tags"] == ["reviewed"]
    assert v2["aliases"] == ["latest", "v2"] and v0["description"] == "first cut"
    assert (v2["files"], v2["size"]) == (3, 4)


def test_log_human_output_is_like_git_log_stat(cli, repo_dir: Path) -> None:
    _history(cli, repo_dir)
    text = cli.ok("artifact", "log", "p/d").stdout
    assert text.index("p/d:v2 (latest)") < text.index("p/d:v1 (best)") < text.index("p/d:v0")
    assert "   + c.txt\n   ~ a.txt\n   - b.txt\n  3 files changed since v0: +1 ~1 -1" in text
    assert "tags reviewed" in text and "run " in text and "first cut" in text


def test_log_limit_and_stat_limit(cli, repo_dir: Path) -> None:
    _history(cli, repo_dir)
    limited = cli.ok("artifact", "log", "p/d", "--limit", "1", "--json").json()
    assert [v["version"] for v in limited] == ["v2"] and limited[0]["parent"] == "v1"
    text = cli.ok("artifact", "log", "p/d", "-n", "2", "--stat-limit", "1").stdout
    assert "p/d:v0" not in text and "… and 2 more" in text


def test_log_skips_deleted_versions_unless_all(cli, repo_dir: Path) -> None:
    _history(cli, repo_dir)
    cli.ok("artifact", "rm", "p/d:v1", "--delete-aliases")
    log = cli.ok("artifact", "log", "p/d", "--json").json()
    assert [v["version"] for v in log] == ["v2", "v0"]
    assert log[0]["changes"] == {"added": ["c.txt", "d.txt"], "modified": ["a.txt"], "removed": ["b.txt"]}
    everything = cli.ok("artifact", "log", "p/d", "--all", "--json").json()
    assert [(v["version"], v["state"]) for v in everything][1] == ("v1", "deleted")


def test_log_of_an_unknown_artifact_is_one_clear_error(cli, repo_dir: Path) -> None:
    assert "not found" in cli.fails("artifact", "log", "p/nope").stderr
    assert cli.fails("artifact", "log", "p/d", "--limit", "0", code=2)
