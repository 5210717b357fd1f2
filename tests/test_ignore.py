"""``.artctlignore`` (gitignore syntax, via pathspec) in the root of a directory: put, status
and diff leave out what it matches, and the ignore file itself is never stored."""

from __future__ import annotations

from pathlib import Path

from conftest import make_tree


def _paths(cli, ref: str) -> list[str]:
    return [e["path"] for e in cli.ok("artifact", "show", ref, "--json").json()["entries"]]


def _tree(root: Path) -> Path:
    return make_tree(
        root,
        {
            "keep.txt": "k",
            "scratch.tmp": "t",
            "important.tmp": "i",
            "build/out.o": "o",
            "src/build/x.o": "x",
            "src/main.py": "m",
            "top.log": "l",
            "src/nested.log": "n",
            ".artctlignore": "# comment\n*.tmp\n!important.tmp\nbuild/\n/top.log\n",
        },
    )


def test_put_honours_gitignore_rules_and_does_not_store_the_ignore_file(cli, repo_dir: Path) -> None:
    _tree(repo_dir / "data")
    cli.ok("artifact", "put", "data", "--name", "p/d", "--type", "dataset")
    assert _paths(cli, "p/d") == ["important.tmp", "keep.txt", "src/main.py", "src/nested.log"]


def test_status_and_diff_ignore_the_same_files(cli, repo_dir: Path) -> None:
    data = _tree(repo_dir / "data")
    cli.ok("artifact", "put", "data", "--name", "p/d", "--type", "dataset")
    (data / "more.tmp").write_text("ignored")
    (data / "build" / "new.o").write_text("ignored")
    (data / ".artctlignore").write_text((data / ".artctlignore").read_text() + "\n")  # edited: still ignored
    status = cli.ok("status", "p/d", "data", "--json").json()
    assert status["clean"], status
    assert cli.ok("artifact", "diff", "p/d", "data", "--exit-code")
    (data / "new.txt").write_text("seen")
    assert cli("status", "p/d", "data", "--json").json()["added"] == ["new.txt"]
    diff = cli("artifact", "diff", "p/d", "data", "--exit-code")
    assert (diff.returncode, diff.stdout) == (1, "A\tnew.txt\n"), diff


def test_without_an_ignore_file_everything_is_stored(cli, repo_dir: Path) -> None:
    make_tree(repo_dir / "data", {"a.tmp": "a", "build/b": "b"})
    cli.ok("artifact", "put", "data", "--name", "p/d", "--type", "dataset")
    assert _paths(cli, "p/d") == ["a.tmp", "build/b"]


def test_a_nested_ignore_file_is_ordinary_data(cli, repo_dir: Path) -> None:
    """Only the root's file has rules (the brief's contract); a nested one is stored as data."""
    make_tree(repo_dir / "data", {"sub/.artctlignore": "*\n", "sub/a": "a"})
    cli.ok("artifact", "put", "data", "--name", "p/d", "--type", "dataset")
    assert _paths(cli, "p/d") == ["sub/.artctlignore", "sub/a"]


def test_the_repository_inside_a_put_directory_is_never_stored(cli, repo_dir: Path) -> None:
    """``put .`` in the project directory must not swallow ``.artifacts/``."""
    (repo_dir / "a.txt").write_text("a")
    cli.ok("artifact", "put", ".", "--name", "p/all", "--type", "dataset")
    assert _paths(cli, "p/all") == ["a.txt"]
    assert cli.ok("status", "--json").json()["clean"]
