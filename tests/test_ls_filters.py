"""``artifact ls`` filters (--alias, --tag, --metadata, --since) and order (--sort, --reverse,
--limit); version tags (``put --tag``, ``update --tag/--untag``, shown by ``show``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def _put(cli, repo_dir: Path, name: str, content: str, *extra: str) -> None:
    path = repo_dir / f"{name.replace('/', '_')}-{len(content)}-{abs(hash(content))}.txt"
    path.write_text(content)
    cli.ok("artifact", "put", str(path), "--name", name, "--type", "dataset", *extra)


@pytest.fixture
def filled(cli, repo_dir: Path) -> Path:
    _put(
        cli,
        repo_dir,
        "p/a",
        "x",
        "--metadata",
        json.dumps({"train": {"lr": 0.1, "epochs": 10}, "ok": True}),
        "--tag",
        "reviewed",
    )
    _put(
        cli,
        repo_dir,
        "p/a",
        "xxxx",
        "--alias",
        "best",
        "--metadata",
        json.dumps({"train": {"lr": 0.01}}),
        "--tag",
        "reviewed",
        "--tag",
        "gold",
    )
    _put(cli, repo_dir, "p/a", "xx", "--metadata", json.dumps({"source": "mnist", "rows": 10}))
    _put(cli, repo_dir, "p/b", "bbbbbbbbbb", "--tag", "gold")
    _put(cli, repo_dir, "q/c", "c", "--tag", "gold")
    return repo_dir


def _versions(cli, *args: str) -> list[str]:
    return [f"{v['name']}:{v['version']}" for v in cli.ok("artifact", "ls", *args, "--json").json()]


def test_tags_are_set_by_put_and_update_and_shown(cli, filled: Path) -> None:
    assert cli.ok("artifact", "show", "p/a:v1", "--json").json()["tags"] == ["gold", "reviewed"]
    cli.ok("artifact", "update", "p/a:v1", "--untag", "gold", "--tag", "final")
    assert cli.ok("artifact", "show", "p/a:v1", "--json").json()["tags"] == ["final", "reviewed"]
    assert "final, reviewed" in cli.ok("artifact", "show", "p/a:v1").stdout
    assert "invalid tag" in cli.fails("artifact", "update", "p/a:v1", "--tag", "no/slash", code=2).stderr
    _put(cli, filled, "p/a", "xx", "--tag", "again")  # identical content: the tag is still added
    assert cli.ok("artifact", "show", "p/a:v2", "--json").json()["tags"] == ["again"]


def test_filters_on_the_versions_of_one_artifact(cli, filled: Path) -> None:
    assert _versions(cli, "p/a", "--tag", "reviewed") == ["p/a:v0", "p/a:v1"]
    assert _versions(cli, "p/a", "--tag", "reviewed", "--tag", "gold") == ["p/a:v1"]
    assert _versions(cli, "p/a", "--alias", "best") == ["p/a:v1"]
    assert _versions(cli, "p/a", "--alias", "latest") == ["p/a:v2"]
    assert _versions(cli, "p/a", "--metadata", "train.lr=0.1") == ["p/a:v0"]
    assert _versions(cli, "p/a", "--metadata", "train.epochs=10") == ["p/a:v0"]
    assert _versions(cli, "p/a", "--metadata", "source=mnist", "--metadata", "rows=10") == ["p/a:v2"]
    assert _versions(cli, "p/a", "--metadata", "rows=11") == []
    assert _versions(cli, "p/a", "--metadata", "ok=true") == ["p/a:v0"]
    assert _versions(cli, "p/a", "--metadata", "ok=1") == []  # true is not 1


def test_version_filters_without_name_search_every_artifact(cli, filled: Path) -> None:
    assert _versions(cli, "--tag", "gold") == ["p/a:v1", "p/b:v0", "q/c:v0"]
    assert _versions(cli, "p", "--tag", "gold") == ["p/a:v1", "p/b:v0"]
    table = cli.ok("artifact", "ls", "--tag", "gold").stdout
    assert "q/c" in table and "gold" in table


def test_sort_reverse_and_limit(cli, filled: Path) -> None:
    assert _versions(cli, "p/a", "--sort", "size") == ["p/a:v0", "p/a:v2", "p/a:v1"]
    assert _versions(cli, "p/a", "--sort", "size", "--reverse", "--limit", "1") == ["p/a:v1"]
    assert _versions(cli, "p/a", "--sort", "created", "--reverse", "--limit", "2") == ["p/a:v2", "p/a:v1"]
    assert _versions(cli, "p/a", "--sort", "name", "--reverse") == ["p/a:v2", "p/a:v1", "p/a:v0"]
    names = [r["name"] for r in cli.ok("artifact", "ls", "--sort", "size", "--reverse", "--json").json()]
    assert names == ["p/b", "p/a", "q/c"]
    assert [r["name"] for r in cli.ok("artifact", "ls", "--limit", "2", "--json").json()] == ["p/a", "p/b"]
    created = [r["name"] for r in cli.ok("artifact", "ls", "--sort", "created", "--reverse", "--json").json()]
    assert created == ["q/c", "p/b", "p/a"]


def test_since_takes_a_duration_or_a_date(cli, filled: Path) -> None:
    assert len(_versions(cli, "p/a", "--since", "1h")) == 3
    assert _versions(cli, "p/a", "--since", "2999-01-01") == []
    assert len(_versions(cli, "p/a", "--since", "2000-01-01T00:00")) == 3
    assert [r["name"] for r in cli.ok("artifact", "ls", "--since", "1d", "--json").json()] == [
        "p/a",
        "p/b",
        "q/c",
    ]
    assert cli.ok("artifact", "ls", "--since", "2999-01-01", "--json").json() == []


def test_bad_filters_are_usage_errors(cli, filled: Path) -> None:
    for args in (
        ["--metadata", "no-equals"],
        ["--since", "yesterday"],
        ["--sort", "color"],
        ["--limit", "0"],
    ):
        result = cli.fails("artifact", "ls", "p/a", *args, code=2)
        assert "Traceback" not in result.stderr
    assert "KEY=VALUE" in cli.fails("artifact", "ls", "--metadata", "=1", code=2).stderr
    # A tag or alias nothing can have is a typo, not a filter that quietly matches nothing.
    bad_tag = cli.fails("artifact", "ls", "--tag", "reviewed!", "--json", code=2).json()["error"]
    assert bad_tag["code"] == "invalid_name" and "invalid tag 'reviewed!'" in bad_tag["message"]
    assert (
        "invalid alias 'my best'" in cli.fails("artifact", "ls", "p/a", "--alias", "my best", code=2).stderr
    )


def test_an_empty_listing_prints_nothing_on_stdout_and_says_why_on_stderr(cli, filled: Path) -> None:
    """Like `git branch --list nope`: a script reading stdout gets no header-only table."""
    for args in (
        ("nosuch",),
        ("p", "--tag", "nobody"),
        ("p/a", "--alias", "nobody"),
        ("p", "--type", "model"),
    ):
        result = cli.ok("artifact", "ls", *args)
        assert result.stdout == "", args
        assert result.stderr.strip(), args
    assert cli.ok("artifact", "ls", "p", "--tag", "nobody", "--json").json() == []
