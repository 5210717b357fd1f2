"""Regression tests from the user-experience and robustness audit of the finished commands.

Each test pins one finding: hostile or malformed input gets one clear ``error:`` line and
exit 1 (never a traceback or a hang), and a damaged repository either recovers or says what is
wrong without losing anything stored.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import cli_env, make_tree


def test_json_input_refuses_nan_and_infinity(cli, repo_dir: Path) -> None:
    """NaN is not JSON: stored in metadata it made every later ``--json`` document invalid."""
    (repo_dir / "f.txt").write_text("x\n")
    for bad in ('{"a": NaN}', '{"a": -Infinity}', '{"a": [Infinity]}'):
        result = cli.fails(
            "artifact", "put", "f.txt", "--name", "proj/f", "--type", "t", "--metadata", bad, code=2
        )
        assert "not valid JSON" in result.stderr
        cli.fails("run", "start", "--job-type", "train", "--config", bad, code=2)
    cli.ok("artifact", "put", "f.txt", "--name", "proj/f", "--type", "t")
    assert (
        "not valid JSON"
        in cli.fails("artifact", "update", "proj/f", "--metadata", '{"a": NaN}', code=2).stderr
    )
    json.loads(cli.ok("artifact", "show", "proj/f", "--json").stdout)


def test_huge_durations_are_refused_cleanly(cli, repo_dir: Path) -> None:
    """A TTL whose expiry overflows datetime was an "unexpected OverflowError"."""
    (repo_dir / "f.txt").write_text("x\n")
    for ttl in ("99999999999999999999d", "1001y"):
        result = cli.fails(
            "artifact", "put", "f.txt", "--name", "proj/f", "--type", "t", "--ttl", ttl, code=2
        )
        assert "too long" in result.stderr and "unexpected" not in result.stderr, result
    cli.ok("artifact", "put", "f.txt", "--name", "proj/f", "--type", "t", "--ttl", "1000y")
    assert "too long" in cli.fails("artifact", "update", "proj/f", "--ttl", "9999999999y", code=2).stderr
    assert cli.ok("artifact", "show", "proj/f", "--json").json()["ttl"] == "1000y"


def test_api_refuses_a_ttl_beyond_the_limit(repo_dir: Path) -> None:
    from datetime import timedelta

    import pytest

    import artctl
    from artctl.errors import InvalidInput

    (repo_dir / "f.txt").write_text("x\n")
    art = artctl.Artifact("proj/f", "t", ttl=timedelta(days=10**8))
    art.add_file(repo_dir / "f.txt")
    with pytest.raises(InvalidInput, match="too long"):
        art.save()


def test_config_refuses_unknown_keys_and_bad_values_when_written(cli, repo_dir: Path) -> None:
    """A typo'd key or a bad value used to be stored silently and break a later, unrelated command."""
    typo = cli.fails("config", "core.lnk", "copy", code=2)
    assert "unknown config key 'core.lnk'" in typo.stderr and "did you mean core.link" in typo.stderr
    for key, value in [
        ("core.link", "bogus"),
        ("core.workers", "abc"),
        ("core.workers", "0"),
        ("ttl.default", "3x"),
        ("ttl.project.proj", "1"),
        ("gc.grace_period", "soon"),
        ("remote.origin.jobs", "0"),
    ]:
        assert "invalid value" in cli.fails("config", key, value, code=2).stderr, (key, value)
    assert (
        not (repo_dir / ".artifacts" / "config.toml").exists()
        or cli.ok("config", "--list", "--json").json() == {}
    )
    for key, value in [
        ("core.link", "copy"),
        ("core.workers", "2"),
        ("ttl.project.proj", "2w"),
        ("gc.grace_period", "0"),
        ("remote.origin.url", "file:///x"),
        ("remote.origin.options.anon", "true"),
        ("remote.origin.jobs", "4"),
    ]:
        cli.ok("config", key, value)
    (repo_dir / "f.txt").write_text("x\n")
    cli.ok("artifact", "put", "f.txt", "--name", "proj/f", "--type", "t")
    cli.ok("artifact", "get", "proj/f", "--root", "out")


def test_put_of_a_fifo_or_device_is_refused_not_a_hang(cli, repo_dir: Path) -> None:
    """``put FIFO`` blocked forever on open; ``put /dev/zero`` read until a bogus 'changed' error."""
    import os

    os.mkfifo(repo_dir / "pipe")
    result = cli.fails("artifact", "put", "pipe", "--name", "proj/p", "--type", "t", code=2)
    assert "not a regular file or a directory" in result.stderr
    assert (
        "not a regular file"
        in cli.fails("artifact", "put", "/dev/null", "--name", "proj/p", "--type", "t", code=2).stderr
    )
    # inside a directory, special files are skipped and the rest is stored
    make_tree(repo_dir / "d", {"a.txt": "a"})
    os.mkfifo(repo_dir / "d" / "pipe")
    assert cli.ok("artifact", "put", "d", "--name", "proj/d", "--type", "t", "--json").json()["files"] == 1


def test_garbage_state_db_is_set_aside_and_rebuilt(cli, repo_dir: Path) -> None:
    """state.db is a cache of packs/*.idx: garbage bytes in it were an 'unexpected DatabaseError'."""
    make_tree(repo_dir / "d", {"a.txt": "alpha", "b/c.txt": "gamma"})
    cli.ok("artifact", "put", "d", "--name", "proj/d", "--type", "t")
    state = repo_dir / ".artifacts" / "state.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{state}{suffix}").unlink(missing_ok=True)
    state.write_bytes(b"\x07garbage, not sqlite" * 300)
    out = cli.ok("artifact", "get", "proj/d", "--root", "out", "--json").json()
    assert out["files"] == 2 and (repo_dir / "out" / "b" / "c.txt").read_text() == "gamma"
    assert (repo_dir / ".artifacts" / "state.db.corrupt").exists()
    cli.ok("artifact", "verify")
    make_tree(repo_dir / "d", {"new.txt": "new"})
    cli.ok("artifact", "put", "d", "--name", "proj/d", "--type", "t")
    cli.ok("artifact", "verify")


def test_an_unusable_state_db_is_one_clear_error(cli, repo_dir: Path) -> None:
    state = repo_dir / ".artifacts" / "state.db"
    for path in (state, Path(f"{state}-wal"), Path(f"{state}-shm")):
        path.unlink(missing_ok=True)
    state.mkdir()
    (repo_dir / "f.txt").write_text("x")
    result = cli.fails("artifact", "put", "f.txt", "--name", "proj/f", "--type", "t")
    assert "state database" in result.stderr and "unexpected" not in result.stderr


def _small_filesystem(path: Path, size: str = "2m"):  # type: ignore[no-untyped-def]
    """Mount a tiny tmpfs at ``path`` (needs root, as in this project's CI); unmount on exit."""
    import contextlib
    import os
    import subprocess

    import pytest

    @contextlib.contextmanager
    def mounted():  # type: ignore[no-untyped-def]
        path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs to fill a disk needs root")
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
        try:
            yield path
        finally:
            subprocess.run(["umount", "-l", str(path)], check=False)

    return mounted()


def _temp_files(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("*") if p.name.endswith((".tmp", ".artctl-tmp")))


def test_disk_full_in_the_repository_leaves_it_consistent(cli, tmp_path: Path) -> None:
    import os

    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * 1024 * 1024))
    many = make_tree(tmp_path / "many", {f"f{i}": os.urandom(9000) for i in range(300)})
    (tmp_path / "small.txt").write_text("small\n")
    with _small_filesystem(tmp_path / "disk") as disk:
        cli.ok("init", cwd=disk)
        cli.ok("artifact", "put", str(tmp_path / "small.txt"), "--name", "p/s", "--type", "t", cwd=disk)
        result = cli.fails("artifact", "put", str(big), "--name", "p/big", "--type", "t", cwd=disk)
        assert "no space left on device" in result.stderr and "hint:" in result.stderr
        result = cli.fails("artifact", "put", str(many), "--name", "p/many", "--type", "t", cwd=disk)
        assert "no space left on device" in result.stderr
        # metadata writes and state.db on a full disk: one line each, nothing half-written
        filler = disk / "filler"
        with open(filler, "wb", buffering=0) as fh:  # unbuffered: close() has nothing left to flush
            try:
                while True:
                    fh.write(b"\0" * 65536)
            except OSError:
                pass
        for args in (
            ["alias", "add", "p/s", "best"],
            ["artifact", "update", "p/s", "--description", "d"],
            ["run", "start", "--job-type", "x"],
            ["draft", "new", "p/s"],
            ["artifact", "put", str(tmp_path / "many" / "f1"), "--name", "p/s", "--type", "t"],
        ):
            result = cli.fails(*args, cwd=disk)
            assert "no space left" in result.stderr and "unexpected" not in result.stderr, result
        filler.unlink()
        assert _temp_files(disk / ".artifacts") == []
        cli.ok("artifact", "verify", cwd=disk)
        assert cli.ok("artifact", "ls", "--json", cwd=disk).json()[0]["name"] == "p/s"
        cli.ok("artifact", "put", str(tmp_path / "small.txt"), "--name", "p/s", "--type", "t", cwd=disk)


def test_disk_full_under_get_root_names_the_root(cli, repo_dir: Path, tmp_path: Path) -> None:
    import os

    (repo_dir / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    make_tree(repo_dir / "many", {f"f{i}": os.urandom(9000) for i in range(300)})
    cli.ok("artifact", "put", "big.bin", "--name", "p/big", "--type", "t")
    cli.ok("artifact", "put", "many", "--name", "p/many", "--type", "t")
    with _small_filesystem(tmp_path / "disk") as disk:
        for name in ("p/big", "p/many"):
            result = cli.fails("artifact", "get", name, "--root", str(disk / "out"))
            assert f"no space left on device writing under {disk / 'out'}" in result.stderr, result
            assert "--root" in result.stderr
        assert _temp_files(disk) == []
    cli.ok("artifact", "verify")


def _two_artifacts(cli, repo_dir: Path) -> Path:  # type: ignore[no-untyped-def]
    (repo_dir / "a.txt").write_text("a\n")
    (repo_dir / "b.txt").write_text("b\n")
    cli.ok("artifact", "put", "a.txt", "--name", "proj/a", "--type", "t", "--alias", "best")
    cli.ok("artifact", "put", "b.txt", "--name", "proj/a", "--type", "t")
    cli.ok("artifact", "put", "b.txt", "--name", "proj/other", "--type", "t")
    return repo_dir / ".artifacts" / "registry" / "proj" / "a"


def test_a_version_record_with_wrong_types_is_one_clear_error_naming_the_file(cli, repo_dir: Path) -> None:
    """Wrong field types were an 'unexpected TypeError' from deep inside the command."""
    registry = _two_artifacts(cli, repo_dir)
    v0 = registry / "versions" / "v0.json"
    good = v0.read_text()
    for field, value in [
        ("created_at", 5),
        ("created_at", "yesterday"),
        ("files", "many"),
        ("metadata", [1]),
        ("ttl_seconds", "x"),
        ("index", True),
        ("size", -1),
    ]:
        doc = json.loads(good)
        doc[field] = value
        v0.write_text(json.dumps(doc))
        for args in (
            ["artifact", "ls"],
            ["artifact", "show", "proj/a:v0"],
            ["artifact", "get", "proj/a", "--root", "o"],
            ["gc", "--dry-run"],
        ):
            result = cli.fails(*args)
            assert str(v0) in result.stderr and repr(field) in result.stderr, (field, result)
            assert "unexpected" not in result.stderr and "hint:" in result.stderr
    v0.write_text(good)
    cli.ok("artifact", "verify")


@pytest.mark.damages_repository
def test_verify_reports_every_damaged_record_instead_of_stopping(cli, repo_dir: Path) -> None:
    registry = _two_artifacts(cli, repo_dir)
    (registry / "versions" / "v0.json").write_text("{not json")
    (registry / "aliases" / "0000000000.json").write_text('{"format": 1, "aliases": ["best"]}')
    result = cli.fails("artifact", "verify", "--json")
    doc = result.json()
    assert doc["ok"] is False and doc["versions"] == 2  # proj/a:v1 and proj/other:v0 still checked
    found = {
        (p["version"], "valid JSON" in p["problem"] or "aliases" in p["problem"]) for p in doc["problems"]
    }
    assert found == {("proj/a:v0", True), ("proj/a", True)}, doc
    assert "re-put the affected files" not in result.stderr  # re-putting repairs nothing
    cli.ok("artifact", "get", "proj/other", "--root", "o")  # other artifacts are unaffected


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes are Python 3.11+")
def test_a_python_scripts_traceback_shows_the_hint(repo_dir: Path) -> None:
    """A bare name where artctl's own API needs a project (``Repo.put``, no default project):
    the script's traceback says what to do, as the CLI's `hint:` line does (the hint was only on
    the exception object)."""
    (repo_dir / "data.txt").write_text("x\n")
    script = repo_dir / "put.py"
    script.write_text("import artctl\nartctl.Repo().put('data.txt', name='my-dataset', type='dataset')\n")
    done = subprocess.run(
        [sys.executable, str(script)], cwd=repo_dir, env=cli_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    error = next(i for i, line in enumerate(lines) if line.startswith("artctl.errors.InvalidName:"))
    assert lines[error + 1].startswith("hint: write PROJECT/my-dataset, or set a default project")


def test_wandb_style_bare_names_fall_back_to_uncategorized_in_runs_only(
    cli, repo_dir: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The guide's ``with wandb.init() as run: wandb.Artifact("artifact_name", …)`` needs no
    project: as in W&B, the run's project is ``uncategorized`` (it raised "has no project").
    ``Api()`` reads bare paths there too, as W&B's does. The CLI and ``Repo.put`` keep refusing a
    bare name without a default project; ``ARTCTL_PROJECT`` is the default everywhere."""
    import pytest

    import artctl
    from artctl.errors import InvalidName

    (repo_dir / "f.txt").write_text("x\n")
    with artctl.init(job_type="upload") as run:
        art = artctl.Artifact("artifact_name", "dataset")
        art.add_file(repo_dir / "f.txt")
        run.log_artifact(art)
    assert run.project == "uncategorized" and art.qualified_name == "uncategorized/artifact_name:v0"
    result = cli.fails("artifact", "put", "f.txt", "--name", "mnist", "--type", "t", code=2)
    assert "has no project" in result.stderr and "hint: write PROJECT/mnist" in result.stderr
    with pytest.raises(InvalidName, match="has no project"):
        artctl.Repo().put(repo_dir / "f.txt", name="mnist", type="t")
    # W&B's Api reads a path without a project in its default project, else `uncategorized`
    # (wandb/apis/public/api.py, _parse_artifact_path)
    assert artctl.Api().artifact("artifact_name").qualified_name == "uncategorized/artifact_name:v0"
    assert artctl.Api().project is None  # listings (runs, collections) span every project
    monkeypatch.setenv("ARTCTL_PROJECT", "envp")
    with artctl.init(job_type="upload") as run:
        art = artctl.Artifact("artifact_name", "dataset")
        art.add_file(repo_dir / "f.txt")
        run.log_artifact(art)
    assert art.qualified_name == "envp/artifact_name:v0" and art.project == "envp" and art.entity is None
    assert artctl.Api().artifact("artifact_name").qualified_name == "envp/artifact_name:v0"
    # The CLI honours the same default project (issue 17: every command, one parser).
    assert "envp/mnist:v0" in cli("artifact", "put", "f.txt", "--name", "mnist", "--type", "t").stdout


def test_job_type_errors_name_the_job_type(cli, repo_dir: Path) -> None:
    """``job_type="modify dataset"`` (from the W&B guide) was reported as an invalid *artifact* type."""
    import pytest

    import artctl
    from artctl.errors import InvalidName

    with pytest.raises(InvalidName, match="invalid job type 'modify dataset'"):
        artctl.init(project="p", job_type="modify dataset")
    assert "invalid job type" in cli.fails("run", "start", "--job-type", "modify dataset", code=2).stderr
    artctl.init(project="p", job_type="modify-dataset").finish()


def test_artifact_verify_checks_a_downloaded_directory(repo_dir: Path) -> None:
    """W&B's ``artifact.verify(root)``: ValueError when the files differ from the manifest."""
    import pytest

    import artctl

    make_tree(repo_dir / "d", {"a.txt": "a", "sub/b.txt": "b"})
    with artctl.init(project="p", job_type="prep") as run:
        art = artctl.Artifact("ds", "dataset")
        art.add_dir(repo_dir / "d")
        run.log_artifact(art)
    root = Path(art.download(root=repo_dir / "out"))
    art.verify(root)
    (root / "sub" / "b.txt").write_text("changed")
    (root / "extra.txt").write_text("x")
    (root / "a.txt").unlink()
    with pytest.raises(ValueError, match="missing a.txt; unexpected extra.txt; changed sub/b.txt"):
        art.verify(root)


def test_stored_text_cannot_drive_the_terminal(cli, repo_dir: Path) -> None:
    """Descriptions and run names are free text (and may come from someone else's remote):
    escape sequences in them were printed raw by show, run ls/show and lineage."""
    evil = "x\x1b[2J\x1b]0;title\x07\x9b31m"
    (repo_dir / "f.txt").write_text("x\n")
    run_id = cli.ok("run", "start", "--job-type", "t", "--name", evil).stdout.strip()
    cli.ok(
        "artifact",
        "put",
        "f.txt",
        "--name",
        "proj/f",
        "--type",
        "t",
        "--run",
        run_id,
        "--description",
        evil + "\nsecond line",
        "--metadata",
        json.dumps({"k": evil}),
    )
    outputs = [
        cli.ok(*args).stdout
        for args in (
            ["artifact", "show", "proj/f"],
            ["run", "show", run_id],
            ["run", "ls"],
            ["lineage", "proj/f"],
            ["lineage", "proj/f", "--format", "dot"],
            ["lineage", "proj/f", "--format", "mermaid"],
        )
    ]
    for text in outputs:
        assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text, text
        assert "\\x1b" in text
    assert "second line" in outputs[0]
    # --json keeps the exact text (JSON escapes it)
    assert cli.ok("artifact", "show", "proj/f", "--json").json()["description"] == evil + "\nsecond line"


def test_version_and_run_tables_keep_dates_on_one_line_at_80_columns(cli, repo_dir: Path) -> None:
    (repo_dir / "f.txt").write_text("x\n")
    cli.ok(
        "artifact",
        "put",
        "f.txt",
        "--name",
        "proj/f",
        "--type",
        "t",
        "--alias",
        "candidate-long",
        "--ttl",
        "30d",
    )
    cli.ok("run", "start", "--job-type", "train", "--name", "a-rather-long-run-name")
    for args in (["artifact", "ls", "proj/f"], ["artifact", "ls"], ["run", "ls"]):
        text = cli.ok(*args, env={"COLUMNS": "80"}).stdout
        assert __import__("re").search(r"\d{4}-\d\d-\d\d \d\d:\d\d", text), (args, text)


def test_a_file_name_that_is_not_utf8_is_one_clear_error(cli, repo_dir: Path) -> None:
    """It was an 'unexpected UnicodeEncodeError'; a manifest with a lone surrogate is refused too."""
    import os

    import pytest

    from artctl.errors import UnsafePath
    from artctl.format.manifest import validate_path

    os.makedirs(b"bad")
    with open(b"bad/\xff\xfe.txt", "wb") as fh:
        fh.write(b"x")
    result = cli.fails("artifact", "put", "bad", "--name", "proj/bad", "--type", "t")
    assert "not valid UTF-8" in result.stderr and "unexpected" not in result.stderr
    with pytest.raises(UnsafePath, match="not valid UTF-8"):
        validate_path("dir/\udcff.txt")


def test_deleted_version_errors_say_how_to_see_it(cli, repo_dir: Path) -> None:
    (repo_dir / "f.txt").write_text("x\n")
    cli.ok("artifact", "put", "f.txt", "--name", "proj/f", "--type", "t")
    cli.ok("artifact", "rm", "proj/f:v0")
    result = cli.fails("artifact", "get", "proj/f:v0")
    assert "was deleted" in result.stderr and "artctl artifact ls proj/f --all" in result.stderr
    result = cli.fails("artifact", "rm", "proj/f:v0", "--all", code=2)
    assert "names one version" in result.stderr and "is a reference" not in result.stderr


def test_api_metadata_must_be_plain_json(cli, repo_dir: Path) -> None:
    """NaN was stored (every later --json was invalid JSON); a datetime was a bare TypeError
    raised after the files had been stored."""
    import datetime

    import pytest

    import artctl
    from artctl.errors import InvalidInput

    (repo_dir / "f.txt").write_text("x\n")
    for bad in ({"x": float("nan")}, {"when": datetime.datetime.now()}, {"x": [float("inf")]}):
        art = artctl.Artifact("proj/f", "t", metadata=bad)
        art.add_file(repo_dir / "f.txt")
        with pytest.raises(InvalidInput, match="metadata is not plain JSON"):
            art.save()
    cli.fails("artifact", "show", "proj/f")  # nothing was committed
    art = artctl.Artifact("proj/f", "t", metadata={"ok": 1})
    art.add_file(repo_dir / "f.txt")
    art.save()
    art.metadata["later"] = float("nan")
    with pytest.raises(InvalidInput, match="metadata is not plain JSON"):
        art.save()
    assert cli.ok("artifact", "show", "proj/f", "--json").json()["metadata"] == {"ok": 1}


def test_api_add_file_and_add_dir_say_which_one_to_use(repo_dir: Path) -> None:
    import pytest

    import artctl
    from artctl.errors import InvalidInput

    make_tree(repo_dir / "d", {"a.txt": "a"})
    art = artctl.Artifact("proj/f", "t")
    with pytest.raises(InvalidInput, match="is a directory") as info:
        art.add_file(repo_dir / "d")
    assert "add_dir" in (info.value.hint or "")
    with pytest.raises(InvalidInput, match="is a file"):
        art.add_dir(repo_dir / "d" / "a.txt")


def test_a_finished_run_in_artctl_run_says_what_to_do(cli, repo_dir: Path) -> None:
    (repo_dir / "f.txt").write_text("x\n")
    run_id = cli.ok("run", "start", "--job-type", "t").stdout.strip()
    cli.ok("run", "finish", run_id)
    result = cli.fails(
        "artifact", "put", "f.txt", "--name", "proj/f", "--type", "t", env={"ARTCTL_RUN": run_id}
    )
    assert "already finished" in result.stderr and "unset ARTCTL_RUN" in result.stderr


def test_empty_listings_and_purged_versions_explain_themselves(cli, repo_dir: Path) -> None:
    """An empty table with exit 0 left a user guessing (typo'd project? everything deleted?)."""
    result = cli.ok("artifact", "ls", "nope")
    assert "no artifacts in nope" in result.stderr
    (repo_dir / "f.txt").write_text("x\n")
    cli.ok("artifact", "put", "f.txt", "--name", "proj/f", "--type", "t")
    cli.ok("artifact", "rm", "proj/f:v0")
    assert "--all" in cli.ok("artifact", "ls", "proj/f").stderr
    cli.ok("config", "gc.grace_period", "0")
    cli.ok("gc")
    shown = cli.ok("artifact", "show", "proj/f:v0", "--all")
    assert "dropped by `artctl gc`" in shown.stderr and "deleted" in shown.stdout
    assert cli.ok("artifact", "ls", "nope", "--json").stdout.strip() == "[]"


def test_a_damaged_pack_index_only_affects_its_own_blobs(cli, repo_dir: Path) -> None:
    """With state.db rebuilt, one garbage .idx made every get and small put fail; verify aborted."""
    import os

    (repo_dir / "small.txt").write_text("small\n")
    (repo_dir / "big.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    cli.ok("artifact", "put", "small.txt", "--name", "proj/small", "--type", "t")
    cli.ok("artifact", "put", "big.bin", "--name", "proj/big", "--type", "t")
    store = repo_dir / ".artifacts"
    [idx] = list((store / "packs").glob("*.idx"))
    os.chmod(idx, 0o644)
    idx.write_bytes(b"garbage" * 20)
    for path in store.glob("state.db*"):
        path.unlink()
    cli.ok("artifact", "get", "proj/big", "--root", "out")  # unrelated data is still readable
    assert "not in the local store" in cli.fails("artifact", "get", "proj/small", "--root", "out2").stderr
    problems = cli.fails("artifact", "verify", "--json").json()["problems"]
    assert any(p["path"] == f"packs/{idx.name}" for p in problems), problems
    cli.ok("gc", "--dry-run")
    assert (store / "packs" / idx.name.replace(".idx", ".pack")).exists()  # gc leaves it alone
    cli.ok("artifact", "put", "small.txt", "--name", "proj/again", "--type", "t")  # re-stores the blob
    cli.ok("artifact", "get", "proj/small", "--root", "out3")


def test_verify_repair_lets_a_re_put_restore_a_corrupt_object(cli, repo_dir: Path) -> None:
    """verify's hint used to say "re-put the affected files", but put skips objects the store
    holds, corrupt or not: nothing could repair a damaged object."""
    import os

    (repo_dir / "big.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    cli.ok("artifact", "put", "big.bin", "--name", "proj/big", "--type", "t")
    [obj] = [p for p in (repo_dir / ".artifacts" / "objects").rglob("*") if p.is_file()]
    os.chmod(obj, 0o644)
    with open(obj, "r+b") as fh:
        fh.write(b"\0" * 16)
    cli.ok("artifact", "put", "big.bin", "--name", "proj/big", "--type", "t")  # no repair
    assert "verify --repair" in cli.fails("artifact", "verify").stderr
    result = cli.fails("artifact", "verify", "--repair", "--json")
    assert result.json()["problems"][0]["repaired"] and "moved aside" in result.stderr
    assert (repo_dir / ".artifacts" / "corrupt" / obj.parent.name).exists() or any(
        (repo_dir / ".artifacts" / "corrupt").iterdir()
    )  # kept, never deleted
    cli.ok("artifact", "put", "big.bin", "--name", "proj/big", "--type", "t")
    cli.ok("artifact", "verify")
    cli.ok("artifact", "get", "proj/big", "--root", "out")
    assert (repo_dir / "out" / "big.bin").read_bytes() == (repo_dir / "big.bin").read_bytes()


def test_a_damaged_format_file_says_how_to_recover_and_init_keeps_the_data(cli, repo_dir: Path) -> None:
    (repo_dir / "f.txt").write_text("x\n")
    cli.ok("artifact", "put", "f.txt", "--name", "proj/f", "--type", "t")
    fmt = repo_dir / ".artifacts" / "FORMAT"
    fmt.write_text("garbage")
    result = cli.fails("artifact", "ls")
    assert "run `artctl init` there" in result.stderr and "keeps every stored file" in result.stderr
    fmt.unlink()
    assert "Restored the format file of the existing" in cli.ok("init").stdout
    cli.ok("artifact", "verify")
    assert cli.ok("artifact", "get", "proj/f", "--root", "out", "--json").json()["files"] == 1
