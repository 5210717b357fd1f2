"""A day's work on a directory: ``status``, ``artifact diff REF DIR``, ``artifact checkout``."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from conftest import make_tree

OLD = time.time() - 3600  # files older than the racy window: the stat cache may trust them


def _age(root: Path) -> None:
    """Make every file look written an hour ago (the stat cache ignores racily new files)."""
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (OLD, OLD))


@pytest.fixture
def versions(cli, repo_dir: Path) -> Path:
    """p/d:v0 = {a.txt, sub/b.txt}; p/d:v1 = {a.txt (changed), c.txt}; returns the source dir."""
    src = make_tree(repo_dir / "src", {"a.txt": "alpha\n", "sub/b.txt": "beta\n"})
    cli.ok("artifact", "put", "src", "--name", "p/d", "--type", "dataset")
    (src / "a.txt").write_text("ALPHA changed\n")
    (src / "sub" / "b.txt").unlink()
    (src / "c.txt").write_text("gamma\n")
    cli.ok("artifact", "put", "src", "--name", "p/d", "--type", "dataset")
    return src


def _status(cli, *args: str, **kwargs) -> dict:  # type: ignore[no-untyped-def]
    return cli.ok("status", *args, "--json", **kwargs).json()


# -- status / diff DIR -------------------------------------------------------------------------
def test_status_lists_added_deleted_and_modified_files(cli, versions: Path, repo_dir: Path) -> None:
    cli.ok("artifact", "get", "p/d:v0", "--root", "work")
    work = repo_dir / "work"
    (work / "a.txt").write_text("edited\n")
    (work / "sub" / "b.txt").unlink()
    (work / "new.txt").write_text("new\n")
    doc = _status(cli, "p/d:v0", "work")
    assert (doc["added"], doc["removed"], doc["changed"], doc["clean"]) == (
        ["new.txt"],
        ["sub/b.txt"],
        ["a.txt"],
        False,
    )
    human = cli.ok("status", "p/d:v0", "work").stdout
    assert "modified: a.txt" in human and "added:    new.txt" in human and "deleted:  sub/b.txt" in human
    assert cli("status", "p/d:v0", "work", "--exit-code").returncode == 1


def test_status_defaults_to_the_version_got_into_the_directory(cli, versions: Path, repo_dir: Path) -> None:
    cli.ok("artifact", "get", "p/d:v0", "--root", "work")
    work = repo_dir / "work"
    doc = _status(cli, cwd=work)  # no REF, no DIR: `.` and the version got there
    assert (doc["name"], doc["version"], doc["clean"], doc["latest"]) == ("p/d", "v0", True, "v1")
    assert "(latest is v1)" in cli.ok("status", cwd=work).stdout
    assert _status(cli, "work")["version"] == "v0"  # one argument that is a directory: DIR
    assert cli.ok("status", "work", "--exit-code").returncode == 0
    assert _status(cli, "p/d:v1", cwd=work)["changed"] == ["a.txt"]  # one argument, not a dir: REF
    (work / "sub" / "new.txt").write_text("n")
    from_below = _status(cli, cwd=work / "sub")  # as git status: the recorded directory above
    assert (from_below["version"], from_below["directory"], from_below["added"]) == (
        "v0",
        str(work.resolve()),
        ["sub/new.txt"],
    )


def test_status_after_put_and_checkout_uses_that_version(cli, versions: Path, repo_dir: Path) -> None:
    assert _status(cli, "src")["version"] == "v1"  # the last put from src
    cli.ok("artifact", "checkout", "p/d:v0", "src", "--force")
    assert _status(cli, "src")["version"] == "v0"


def test_status_and_checkout_follow_a_rename_of_the_recorded_artifact(
    cli, versions: Path, repo_dir: Path
) -> None:
    """A directory got from p/d is p/renamed's after `artifact rename` (twice here): status
    needs no REF, and checkout still removes the old version's unchanged files without --force."""
    cli.ok("artifact", "get", "p/d:v0", "--root", "work")
    work = repo_dir / "work"
    cli.ok("artifact", "rename", "p/d", "p/interim")
    cli.ok("artifact", "rename", "p/interim", "p/renamed")
    doc = _status(cli, cwd=work)
    assert (doc["name"], doc["version"], doc["clean"]) == ("p/renamed", "v0", True)
    cli.ok("artifact", "checkout", "p/renamed:v1", "work")  # sub/b.txt was v0's, unchanged
    assert _tree(work) == {"a.txt": "ALPHA changed\n", "c.txt": "gamma\n"}


def test_status_never_compares_with_another_collection_that_reused_the_name(
    cli, versions: Path, repo_dir: Path
) -> None:
    """The collection a directory was got from is deleted and its name reused: its v0 is another
    version, so status asks for REF instead of listing the other version's files as deleted."""
    cli.ok("artifact", "get", "p/d:v0", "--root", "work")
    cli.ok("artifact", "rm", "p/d", "--all")
    make_tree(repo_dir / "other", {"z.txt": "zeta\n"})
    cli.ok("artifact", "put", "other", "--name", "p/d")
    result = cli.fails("status", "work", code=2)
    assert "no version is recorded" in result.stderr


def test_status_without_a_recorded_version_asks_for_ref(cli, versions: Path, repo_dir: Path) -> None:
    (repo_dir / "elsewhere").mkdir()
    result = cli.fails("status", "elsewhere", code=2)
    assert "no version is recorded" in result.stderr and "hint:" in result.stderr


def test_unchanged_files_are_not_read_again(cli, repo_dir: Path) -> None:
    """The stat cache: after one look, an unchanged file costs a stat; an edit of the same size
    (new mtime/ctime) is read and found."""
    data = make_tree(repo_dir / "data", {f"f{i}.txt": f"content {i}\n" for i in range(20)})
    _age(data)
    cli.ok("artifact", "put", "data", "--name", "p/big", "--type", "dataset")
    cli.ok("artifact", "checkout", "p/big", "copy")  # fresh files: not yet in the stat cache
    _age(repo_dir / "copy")
    first = _status(cli, "copy")
    assert first["clean"] and first["hashed"] == 20
    second = _status(cli, "copy")
    assert second["clean"] and second["hashed"] == 0  # nothing read
    (repo_dir / "copy" / "f3.txt").write_text("CONTENT 3\n")  # same size, other bytes
    os.utime(repo_dir / "copy" / "f3.txt", (OLD + 5, OLD + 5))
    third = _status(cli, "copy")
    assert third["changed"] == ["f3.txt"] and third["hashed"] == 1
    assert _status(cli, "data")["hashed"] == 0  # put already hashed these files


def test_diff_ref_dir_and_ref_ref(cli, versions: Path, repo_dir: Path) -> None:
    diff = cli.ok("artifact", "diff", "p/d:v0", "src", "--json").json()
    assert (diff["added"], diff["removed"], diff["changed"]) == (["c.txt"], ["sub/b.txt"], ["a.txt"])
    human = cli("artifact", "diff", "p/d:v0", "src", "--exit-code")
    assert human.returncode == 1 and human.stdout == "A\tc.txt\nD\tsub/b.txt\nM\ta.txt\n"
    assert cli.ok("artifact", "diff", "p/d:v1", "src", "--exit-code").stdout == ""
    refs = cli.ok("artifact", "diff", "p/d:v0", "p/d:v1", "--json").json()
    assert refs == {"added": ["c.txt"], "removed": ["sub/b.txt"], "changed": ["a.txt"]}
    assert cli("artifact", "diff", "p/d:v0", "p/d:v1", "--exit-code").returncode == 1
    assert cli.ok("artifact", "diff", "p/d:v1", "p/d:v1", "--exit-code").returncode == 0
    assert "no such directory: ./gone" in cli.fails("artifact", "diff", "p/d:v0", "./gone", code=2).stderr
    assert "no such directory" in cli.fails("status", "p/d", "gone/", code=2).stderr
    assert "not found" in cli.fails("artifact", "diff", "p/d:v0", "p/gone").stderr  # not a dir: a REF


# -- checkout ----------------------------------------------------------------------------------
def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): (os.readlink(p) if p.is_symlink() else p.read_text())
        for p in sorted(root.rglob("*"))
        if p.is_symlink() or p.is_file()
    }


def test_checkout_creates_replaces_and_keeps_unchanged_files(cli, versions: Path, repo_dir: Path) -> None:
    done = cli.ok("artifact", "checkout", "p/d:v0", "work", "--json").json()
    assert (done["written"], done["removed"]) == (2, [])
    assert _tree(repo_dir / "work") == {"a.txt": "alpha\n", "sub/b.txt": "beta\n"}
    (repo_dir / "work" / "a.txt").write_text("local edit\n")
    again = cli.ok("artifact", "checkout", "p/d:v0", "work", "--json").json()
    assert (again["written"], again["unchanged"]) == (1, 1)
    assert _tree(repo_dir / "work") == {"a.txt": "alpha\n", "sub/b.txt": "beta\n"}


def test_checkout_refuses_extra_files_without_force_and_changes_nothing(
    cli, versions: Path, repo_dir: Path
) -> None:
    cli.ok("artifact", "checkout", "p/d:v0", "work")
    work = repo_dir / "work"
    (work / "a.txt").write_text("local edit\n")
    (work / "extra.txt").write_text("mine\n")
    (work / "empty").mkdir()
    before = _tree(work)
    refused = cli.fails("artifact", "checkout", "p/d:v1", "work")
    assert refused.stdout == "extra\tempty/\nextra\textra.txt\n"
    assert "--force" in refused.stderr
    assert _tree(work) == before and (work / "empty").is_dir()
    assert cli.ok("artifact", "checkout", "p/d:v1", "work", "--dry-run", "--json").json()["remove"] == [
        "sub/b.txt"
    ]  # a file of v0, unchanged: removed without --force (as git does)
    forced = cli.ok("artifact", "checkout", "p/d:v1", "work", "--force", "--json").json()
    assert forced["removed"] == ["empty/", "extra.txt", "sub/b.txt"]
    assert _tree(work) == {"a.txt": "ALPHA changed\n", "c.txt": "gamma\n"}
    assert not (work / "sub").exists() and not (work / "empty").exists()
    assert _status(cli, "work") | {"directory": None} == _status(cli, "p/d:v1", "work") | {"directory": None}


def test_checkout_keeps_what_artctlignore_matches(cli, versions: Path, repo_dir: Path) -> None:
    work = make_tree(repo_dir / "work", {".artctlignore": "*.log\n", "run.log": "keep me\n"})
    cli.ok("artifact", "checkout", "p/d:v0", "work")
    assert _tree(work) == {
        ".artctlignore": "*.log\n",
        "a.txt": "alpha\n",
        "run.log": "keep me\n",
        "sub/b.txt": "beta\n",
    }


def test_checkout_never_overwrites_what_artctlignore_matches(cli, repo_dir: Path) -> None:
    """The version (made elsewhere) has notes.log and cache/x; this DIR ignores both and has its
    own: they are kept, and reported; an ignored path DIR lacks is written as the version has it."""
    make_tree(
        repo_dir / "src", {"a.txt": "a\n", "notes.log": "theirs\n", "cache/x": "theirs\n", "b.log": "b\n"}
    )
    cli.ok("artifact", "put", "src", "--name", "p/logs")
    work = make_tree(
        repo_dir / "work",
        {".artctlignore": "*.log\ncache/\n", "notes.log": "mine\n", "cache/x": "mine\n"},
    )
    plan = cli.ok("artifact", "checkout", "p/logs", "work", "--dry-run", "--json").json()
    assert plan["kept"] == ["cache/x", "notes.log"] and sorted(plan["write"]) == ["a.txt", "b.log"]
    done = cli.ok("artifact", "checkout", "p/logs", "work")
    assert "2 written, 0 removed, 0 unchanged, 2 kept (.artctlignore)" in done.stdout
    assert _tree(work) == {
        ".artctlignore": "*.log\ncache/\n",
        "a.txt": "a\n",
        "b.log": "b\n",
        "cache/x": "mine\n",
        "notes.log": "mine\n",
    }


def test_checkout_never_follows_symlinks_out_of_the_directory(
    cli, versions: Path, repo_dir: Path, tmp_path: Path
) -> None:
    outside = make_tree(tmp_path / "outside", {"b.txt": "precious\n", "a.txt": "precious a\n"})
    work = repo_dir / "work"
    work.mkdir()
    (work / "sub").symlink_to(outside, target_is_directory=True)  # where v0 needs a directory
    (work / "a.txt").symlink_to(outside / "a.txt")  # where v0 needs a file
    refused = cli.fails("artifact", "checkout", "p/d:v0", "work")
    assert refused.stdout == "extra\tsub\n"
    assert _tree(outside) == {"a.txt": "precious a\n", "b.txt": "precious\n"}
    cli.ok("artifact", "checkout", "p/d:v0", "work", "--force")
    assert _tree(outside) == {"a.txt": "precious a\n", "b.txt": "precious\n"}  # untouched
    assert not (work / "sub").is_symlink() and not (work / "a.txt").is_symlink()
    assert _tree(work) == {"a.txt": "alpha\n", "sub/b.txt": "beta\n"}


def test_checkout_removes_a_dangling_symlink_and_a_file_in_the_way(
    cli, versions: Path, repo_dir: Path
) -> None:
    work = repo_dir / "work"
    work.mkdir()
    (work / "dangling").symlink_to(repo_dir / "nowhere")
    (work / "sub").write_text("a file where v0 has a directory\n")
    assert cli.fails("artifact", "checkout", "p/d:v0", "work").stdout == "extra\tdangling\nextra\tsub\n"
    cli.ok("artifact", "checkout", "p/d:v0", "work", "--force")
    assert _tree(work) == {"a.txt": "alpha\n", "sub/b.txt": "beta\n"}
    assert not os.path.lexists(work / "dangling")


def test_checkout_dry_run_and_bad_input(cli, versions: Path, repo_dir: Path) -> None:
    make_tree(repo_dir / "work", {"x": "x"})
    plan = cli.ok("artifact", "checkout", "p/d:v0", "work", "--dry-run", "--json").json()
    assert (plan["write"], plan["extra"]) == (["a.txt", "sub/b.txt"], ["x"])
    assert _tree(repo_dir / "work") == {"x": "x"}
    (repo_dir / "file").write_text("f")
    assert "is a file" in cli.fails("artifact", "checkout", "p/d:v0", "file", code=2).stderr
    assert "not found" in cli.fails("artifact", "checkout", "p/nope", "work").stderr


def test_checkout_from_version_to_version_removes_their_files_but_not_edited_ones(
    cli, versions: Path, repo_dir: Path
) -> None:
    cli.ok("artifact", "checkout", "p/d:v1", "work")
    work = repo_dir / "work"
    cli.ok("artifact", "checkout", "p/d:v0", "work")  # c.txt belonged to v1, unchanged: no --force
    assert _tree(work) == {"a.txt": "alpha\n", "sub/b.txt": "beta\n"}
    (work / "sub" / "b.txt").write_text("edited, not in v1\n")
    refused = cli.fails("artifact", "checkout", "p/d:v1", "work")
    assert refused.stdout == "extra\tsub/b.txt\n"
    assert (work / "sub" / "b.txt").read_text() == "edited, not in v1\n"


def test_checkout_removes_the_temporary_files_of_a_killed_checkout(
    cli, versions: Path, repo_dir: Path
) -> None:
    """A SIGKILL between writing ``.a.txt.<pid>-<tag>.artctl-tmp`` and renaming it leaves that
    file; it is debris, not the user's data: the next checkout removes it without --force. The
    temporary file of a process still running is neither removed nor listed as extra."""
    import os
    import subprocess

    cli.ok("artifact", "checkout", "p/d:v0", "work")
    gone = subprocess.Popen(["true"])
    gone.wait()
    debris = repo_dir / "work" / "sub" / f".b.txt.{gone.pid}-0123abcd.artctl-tmp"
    debris.write_text("half")
    busy = repo_dir / "work" / f".a.txt.{os.getpid()}-0123abcd.artctl-tmp"
    busy.write_text("being written")
    done = cli.ok("artifact", "checkout", "p/d:v0", "work", "--json").json()
    assert done["removed"] == [f"sub/.b.txt.{gone.pid}-0123abcd.artctl-tmp"] and not debris.exists()
    assert busy.exists()
