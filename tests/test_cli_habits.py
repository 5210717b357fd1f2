"""W&B CLI habits (issue 17): short flags, the default type, ``--alias latest``, ``artifact cache
cleanup``, global options after the subcommand, exit 2 and a JSON error for invalid input, push
progress with totals (``--progress plain``) and ``push URL`` / ``pull URL`` without a remote."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from conftest import make_tree


@pytest.fixture
def files(workdir: Path) -> Path:
    return make_tree(workdir / "data", {"a.txt": "alpha\n", "b.bin": os.urandom(300_000)})


def test_short_flags_and_dataset_default_type(cli, repo_dir: Path, files: Path) -> None:
    made = cli.ok(
        "artifact", "put", "data", "-n", "proj/ds", "-a", "best", "-d", "first cut", "--json"
    ).json()
    assert made["type"] == "dataset" and made["aliases"] == ["latest", "v0", "best"]
    shown = cli.ok("artifact", "show", "proj/ds:best", "--json").json()
    assert shown["description"] == "first cut"
    # -t names the type; a later put without -t keeps the artifact's type instead of clashing.
    cli.ok("artifact", "put", "data/a.txt", "-n", "proj/model", "-t", "model")
    (files / "a.txt").write_text("changed\n")
    again = cli.ok("artifact", "put", "data/a.txt", "-n", "proj/model", "--json").json()
    assert again["type"] == "model" and again["version"] == "v1"
    # upsert / finish take the same short flags and default.
    cli.ok("artifact", "upsert", "data", "-n", "proj/shards", "--distributed-id", "j1")
    done = cli.ok(
        "artifact",
        "finish",
        "-n",
        "proj/shards",
        "--distributed-id",
        "j1",
        "-a",
        "ok",
        "-d",
        "all shards",
        "--json",
    ).json()
    assert done["type"] == "dataset" and "ok" in done["aliases"]


def test_alias_latest_is_accepted_as_a_no_op(cli, repo_dir: Path, files: Path) -> None:
    made = cli.ok("artifact", "put", "data", "-n", "proj/ds", "--alias", "latest", "--json").json()
    assert made["aliases"] == ["latest", "v0"]
    (files / "a.txt").write_text("v1\n")
    cli.ok("artifact", "put", "data", "-n", "proj/ds", "-a", "latest", "-a", "best")
    assert cli.ok("artifact", "show", "proj/ds:latest", "--json").json()["version"] == "v1"
    assert cli.ok("alias", "ls", "proj/ds", "--json").json()
    # vN stays managed, and `alias add … latest` is still refused.
    assert "managed" in cli.fails("artifact", "put", "data", "-n", "proj/ds", "-a", "v0", code=2).stderr
    cli.fails("alias", "add", "proj/ds:v0", "latest", code=2)


def test_artifact_cache_cleanup_is_cache_cleanup(cli, repo_dir: Path, files: Path) -> None:
    cli.ok("artifact", "put", "data", "-n", "proj/ds")
    ours = cli.ok("artifact", "cache", "cleanup", "0", "--dry-run", "--json").json()
    theirs = cli.ok("cache", "cleanup", "0", "--dry-run", "--json").json()
    assert ours == theirs and ours["dry_run"] is True
    assert "1GB" in cli.ok("artifact", "cache", "cleanup", "--help").stdout


@pytest.mark.parametrize("flags", [["--debug"], ["-q"], ["-v"], ["--json"], ["-q", "--progress", "plain"]])
def test_global_options_after_the_subcommand(cli, repo_dir: Path, files: Path, flags: list[str]) -> None:
    cli.ok("artifact", "put", "data", "-n", "proj/ds")
    for command in (["artifact", "ls", "proj/ds"], ["artifact", "log", "proj/ds"], ["run", "ls"]):
        before = cli.ok(*flags[:1], *command, *flags[1:])
        after = cli.ok(*command, *flags)
        assert after.stdout == before.stdout, (command, flags)
        if flags == ["--debug"]:
            assert re.search(r"debug: \d+\.\d+s", after.stderr)
    assert cli.ok("status", "proj/ds", "data", *flags).returncode == 0
    verbose = cli.ok("artifact", "get", "proj/ds", "--root", "out", "-v")
    assert "get: proj/ds:v0 ->" in verbose.stderr
    quiet = cli.ok("artifact", "put", "data", "-n", "proj/ds", "-q", "-a", "x")
    assert quiet.stderr == ""
    cli.ok("artifact", "checkout", "proj/ds", "co", "--debug")


def test_progress_flag_still_works_bare_before_the_subcommand(cli, repo_dir: Path, files: Path) -> None:
    forced = cli.ok("--progress", "artifact", "put", "data", "-n", "proj/ds")
    assert "put proj/ds" in forced.stderr
    assert cli.ok("artifact", "put", "data", "-n", "proj/ds", "--no-progress").stderr == ""


@pytest.mark.parametrize(
    "args",
    [
        ["artifact", "put", "data", "-n", "bad name"],  # InvalidName
        ["artifact", "put", "data", "-n", "proj/ds", "--ttl", "soon"],  # InvalidInput
        ["artifact", "put", "data", "-n", "proj/ds", "--metadata", "{nope"],
        ["artifact", "put", "data"],  # click: missing --name
        ["artifact", "ls", "--sort", "colour"],  # click: bad choice
        ["cache", "cleanup", "lots"],
    ],
)
def test_invalid_input_exits_2_with_a_json_error(cli, repo_dir: Path, files: Path, args: list[str]) -> None:
    plain = cli.fails(*args, code=2)
    assert plain.stdout == "" and "rror" in plain.stderr
    for placed in ([*args, "--json"], ["--json", *args]):
        result = cli.fails(*placed, code=2)
        error = json.loads(result.stdout)["error"]
        assert sorted(error) == ["code", "hint", "message"]
        assert error["code"] in ("invalid_name", "invalid_input", "usage_error")
        assert error["message"] and error["message"] in result.stderr


def test_operation_errors_exit_1_with_a_json_error(cli, repo_dir: Path, files: Path) -> None:
    result = cli.fails("artifact", "get", "proj/none", "--json")
    assert json.loads(result.stdout) == {
        "error": {
            "code": "artifact_not_found",
            "message": "artifact proj/none not found",
            "hint": "list artifacts with `artctl artifact ls`",
        }
    }
    assert result.stderr.startswith("error: artifact proj/none not found\n")
    for args in (
        ["artifact", "diff", "proj/none:v0", "proj/none:v1"],
        ["status", "proj/none", "data"],
        ["artifact", "log", "proj/none"],
        ["artifact", "checkout", "proj/none", "x"],
    ):
        failed = cli.fails(*args, "--json")
        assert json.loads(failed.stdout)["error"]["code"] == "artifact_not_found", args


def _plain_lines(stderr: str, label: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(label + ": ")]


def test_push_url_without_a_remote_with_plain_progress(
    cli, repo_dir: Path, files: Path, tmp_path: Path
) -> None:
    cli.ok("artifact", "put", "data", "-n", "proj/ds")
    target = tmp_path / "backup"
    pushed = cli.ok("push", target.as_uri(), "--progress", "plain")
    lines = _plain_lines(pushed.stderr, f"push {target.as_uri()}")
    assert lines, pushed.stderr
    # A total from the first line on, and sizes and the rate in the same (binary) units.
    total = re.search(r"/(\d+) files, .*?/([\d.]+ KiB) \(", lines[0])
    assert total, lines
    last = lines[-1]
    assert re.search(
        rf"(\d+)/{total.group(1)} files, [\d.]+/{re.escape(total.group(2))} \(100%\), "
        r"[\d.]+ (B|KiB|MiB)/s$",
        last,
    ), lines
    assert "proj/ds:v0" in pushed.stderr
    assert cli.ok("remote", "ls", "--json").json() == []
    # Pushing again sends nothing; a path works as well as a URL.
    again = cli.ok("push", str(target), "--json").json()
    assert again["objects_sent"] == 0 and again["url"] == target.as_uri()
    # Another repository pulls from the URL, with the bytes (it could not fetch them later).
    other = tmp_path / "other"
    other.mkdir()
    cli.ok("init", cwd=other)
    pulled = cli.ok("pull", target.as_uri(), "proj/ds", "--json", cwd=other).json()
    assert pulled["versions"] == ["proj/ds:v0"] and pulled["objects_fetched"] >= 1
    got = cli.ok("artifact", "get", "proj/ds", "--root", "out", cwd=other)
    assert (other / "out" / "b.bin").read_bytes() == (files / "b.bin").read_bytes(), got
    # The URL is no backup: cache cleanup must not evict the only local copy.
    info = cli.ok("cache", "info", "--json", cwd=other).json()
    assert info["cache_bytes"] == 0 and info["pinned_bytes"] > 0


def test_plain_progress_of_put_and_get(cli, repo_dir: Path, files: Path) -> None:
    put = cli.ok("artifact", "put", "data", "-n", "proj/ds", "--progress", "plain")
    lines = _plain_lines(put.stderr, "put proj/ds")
    assert lines and "2/2 files" in lines[-1] and "(100%)" in lines[-1], put.stderr
    got = cli.ok("--progress", "plain", "artifact", "get", "proj/ds", "--root", "out")
    assert "(100%)" in _plain_lines(got.stderr, "get proj/ds:v0")[-1], got.stderr
    assert "\x1b" not in put.stderr + got.stderr
