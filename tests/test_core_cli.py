"""The repository core from the command line: init, put, get, ls, show, diff, update, verify."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from artctl.base.hashing import hash_bytes

from conftest import CLI, cli_env, make_tree, run_cli, run_killed_at


def test_readme_quick_start(cli: CLI, workdir: Path, data_dir: Path) -> None:
    cli.ok("init")
    put = cli.ok("artifact", "put", "--name", "proj/mnist", "--type", "dataset", "./data", "--json").json()
    assert put["name"] == "proj/mnist" and put["version"] == "v0" and put["created"] is True
    assert put["aliases"] == ["latest", "v0"] and put["files"] == 3
    assert set(put) == {"name", "type", "version", "digest", "aliases", "created", "files", "size"}
    got = cli.ok("artifact", "get", "proj/mnist:latest", "--root", "out/")
    assert got.stdout.strip() == str((workdir / "out").resolve())
    for rel in ("a.txt", "sub/b.txt", "big.bin"):
        assert (workdir / "out" / rel).read_bytes() == (data_dir / rel).read_bytes()


def test_init_is_idempotent_and_outside_repo_errors(cli: CLI, workdir: Path) -> None:
    outside = cli.fails("artifact", "ls")
    assert "artctl init" in outside.stderr
    quiet = cli.ok("init", "-q")  # as `git init -q`: nothing printed, the exit status says it
    assert (quiet.stdout, quiet.stderr) == ("", "")
    assert "Reinitialized" in cli.ok("init").stdout
    assert (workdir / ".artifacts" / "FORMAT").is_file()


def test_repository_found_from_subdirectory_and_artctl_dir(cli: CLI, repo_dir: Path, data_dir: Path) -> None:
    cli.ok("artifact", "put", str(data_dir), "--name", "p/d", "--type", "dataset")
    sub = repo_dir / "deep" / "er"
    sub.mkdir(parents=True)
    assert "p/d" in cli.ok("artifact", "ls", cwd=sub).stdout
    elsewhere = repo_dir.parent / "elsewhere"
    elsewhere.mkdir()
    listed = cli.ok("artifact", "ls", "--json", cwd=elsewhere, env={"ARTCTL_DIR": str(repo_dir)}).json()
    assert [a["name"] for a in listed] == ["p/d"]


def test_identical_content_makes_no_new_version_but_applies_aliases(
    cli: CLI, repo_dir: Path, data_dir: Path
) -> None:
    first = cli.ok("artifact", "put", "data", "--name", "p/d", "--type", "dataset", "--json").json()
    again = cli.ok(
        "artifact", "put", "data", "--name", "p/d", "--type", "dataset", "--alias", "best", "--json"
    ).json()
    assert again["created"] is False and again["version"] == "v0" and again["digest"] == first["digest"]
    assert "best" in again["aliases"]
    (data_dir / "a.txt").write_text("changed\n")
    third = cli.ok("artifact", "put", "data", "--name", "p/d", "--type", "dataset", "--json").json()
    assert third["created"] is True and third["version"] == "v1"
    shown = cli.ok("artifact", "show", "p/d:best", "--json").json()
    assert shown["version"] == "v0" and shown["aliases"] == ["v0", "best"]
    latest = cli.ok("artifact", "show", "p/d", "--json").json()
    assert latest["version"] == "v1" and latest["aliases"][:2] == ["latest", "v1"]


def test_show_json_shape_and_entries(cli: CLI, repo_dir: Path, data_dir: Path) -> None:
    cli.ok(
        "artifact",
        "put",
        "data",
        "--name",
        "p/d",
        "--type",
        "dataset",
        "--description",
        "digits",
        "--metadata",
        '{"rows": 3}',
        "--ttl",
        "30d",
    )
    doc = cli.ok("artifact", "show", "p/d:v0", "--json").json()
    for key in (
        "name",
        "type",
        "version",
        "digest",
        "aliases",
        "files",
        "size",
        "metadata",
        "description",
        "ttl",
        "state",
        "entries",
    ):
        assert key in doc
    assert doc["metadata"] == {"rows": 3} and doc["description"] == "digits" and doc["ttl"] == "30d"
    assert doc["state"] == "committed"
    assert [e["path"] for e in doc["entries"]] == ["a.txt", "big.bin", "sub/b.txt"]
    assert all(set(e) == {"path", "size", "digest", "ref"} for e in doc["entries"])


def test_single_file_put_and_default_root(cli: CLI, repo_dir: Path) -> None:
    (repo_dir / "model.pt").write_bytes(b"weights")
    cli.ok("artifact", "put", "model.pt", "--name", "p/cnn", "--type", "model")
    out = cli.ok("artifact", "get", "p/cnn").stdout.strip()
    assert out.endswith(os.path.join("artifacts", "cnn:v0"))
    assert (Path(out) / "model.pt").read_bytes() == b"weights"


def test_path_prefix_partial_download(cli: CLI, repo_dir: Path, data_dir: Path) -> None:
    cli.ok("artifact", "put", "data", "--name", "p/d", "--type", "dataset")
    cli.ok("artifact", "get", "p/d", "--root", "part", "--path-prefix", "sub/")
    files = sorted(
        str(p.relative_to(repo_dir / "part")) for p in (repo_dir / "part").rglob("*") if p.is_file()
    )
    assert files == ["sub/b.txt"]
    cli.fails("artifact", "get", "p/d", "--root", "none", "--path-prefix", "nothing/")


@pytest.mark.parametrize("mode", ["copy", "auto", "hardlink", "symlink"])
def test_link_modes_give_identical_bytes(cli: CLI, repo_dir: Path, data_dir: Path, mode: str) -> None:
    cli.ok("artifact", "put", "data", "--name", "p/d", "--type", "dataset")
    got = cli.ok("artifact", "get", "p/d", "--root", f"out-{mode}", "--link", mode, "--json").json()
    assert got["files"] == 3
    for rel in ("a.txt", "sub/b.txt", "big.bin"):
        assert (repo_dir / f"out-{mode}" / rel).read_bytes() == (data_dir / rel).read_bytes()


def test_get_overwrites_existing_files_atomically(cli: CLI, repo_dir: Path, data_dir: Path) -> None:
    cli.ok("artifact", "put", "data", "--name", "p/d", "--type", "dataset")
    make_tree(repo_dir / "out", {"a.txt": "stale", "extra.txt": "mine"})
    cli.ok("artifact", "get", "p/d", "--root", "out")
    assert (repo_dir / "out" / "a.txt").read_text() == "alpha\n"
    assert (repo_dir / "out" / "extra.txt").read_text() == "mine"
    assert not list((repo_dir / "out").rglob("*.artctl-tmp"))


def test_ls_projects_types_and_versions(cli: CLI, repo_dir: Path, data_dir: Path) -> None:
    cli.ok("artifact", "put", "data", "--name", "p/d", "--type", "dataset")
    (repo_dir / "m.bin").write_bytes(b"m")
    cli.ok("artifact", "put", "m.bin", "--name", "p/m", "--type", "model")
    cli.ok("artifact", "put", "m.bin", "--name", "q/m", "--type", "model")
    assert [a["name"] for a in cli.ok("artifact", "ls", "--json").json()] == ["p/d", "p/m", "q/m"]
    assert [a["name"] for a in cli.ok("artifact", "ls", "p", "--json").json()] == ["p/d", "p/m"]
    assert [a["name"] for a in cli.ok("artifact", "ls", "--type", "model", "--json").json()] == ["p/m", "q/m"]
    versions = cli.ok("artifact", "ls", "p/d", "--json").json()
    assert [v["version"] for v in versions] == ["v0"]


def test_diff(cli: CLI, repo_dir: Path, data_dir: Path) -> None:
    cli.ok("artifact", "put", "data", "--name", "p/d", "--type", "dataset")
    (data_dir / "a.txt").write_text("changed")
    (data_dir / "sub" / "b.txt").unlink()
    (data_dir / "new.txt").write_text("new")
    cli.ok("artifact", "put", "data", "--name", "p/d", "--type", "dataset")
    doc = cli.ok("artifact", "diff", "p/d:v0", "p/d:v1", "--json").json()
    assert doc == {"added": ["new.txt"], "removed": ["sub/b.txt"], "changed": ["a.txt"]}
    human = cli.ok("artifact", "diff", "p/d:v0", "p/d:v1").stdout.splitlines()
    assert human == ["A\tnew.txt", "D\tsub/b.txt", "M\ta.txt"]


def test_update_mutable_fields(cli: CLI, repo_dir: Path, data_dir: Path) -> None:
    cli.ok("artifact", "put", "data", "--name", "p/d", "--type", "dataset", "--ttl", "7d")
    cli.ok("artifact", "update", "p/d:v0", "--description", "new", "--metadata", '{"k": 1}', "--ttl", "none")
    doc = cli.ok("artifact", "show", "p/d:v0", "--json").json()
    assert doc["description"] == "new" and doc["metadata"] == {"k": 1} and doc["ttl"] is None
    cli.fails("artifact", "update", "p/d:v0", code=2)


@pytest.mark.damages_repository
def test_verify_detects_corruption_of_loose_and_packed_objects(
    cli: CLI, repo_dir: Path, data_dir: Path
) -> None:
    cli.ok("artifact", "put", "data", "--name", "p/d", "--type", "dataset")
    assert cli.ok("artifact", "verify", "--json").json()["ok"] is True
    objects = [p for p in (repo_dir / ".artifacts" / "objects").rglob("*") if p.is_file()]
    assert len(objects) == 1  # big.bin is loose; the small files are packed
    victim = objects[0]
    os.chmod(victim, 0o644)
    data = bytearray(victim.read_bytes())
    data[100] ^= 0xFF
    victim.write_bytes(bytes(data))
    bad = cli.fails("artifact", "verify", "--json")
    problems = json.loads(bad.stdout)["problems"]
    assert [p["path"] for p in problems] == ["big.bin"] and problems[0]["problem"] == "corrupt"
    failed_get = cli.fails("artifact", "get", "p/d", "--root", "out")
    assert "corrupt" in failed_get.stderr
    assert not (repo_dir / "out" / "big.bin").exists()


@pytest.mark.damages_repository
def test_verify_finds_a_corrupt_byte_in_a_pack(cli: CLI, repo_dir: Path, data_dir: Path) -> None:
    cli.ok("artifact", "put", "data", "--name", "p/d", "--type", "dataset")
    pack = next((repo_dir / ".artifacts" / "packs").glob("*.pack"))
    os.chmod(pack, 0o644)
    data = bytearray(pack.read_bytes())
    data[-2] ^= 0x01
    pack.write_bytes(bytes(data))
    problems = cli.fails("artifact", "verify", "--json").json()["problems"]
    assert {p["problem"] for p in problems} == {"corrupt"}


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["mnist", "a/b/c/d", "proj/", "/x", "proj/na me", "proj/-x", "p/" + "x" * 200, "proj/a:b"]
)
def test_bad_names(cli: CLI, repo_dir: Path, data_dir: Path, name: str) -> None:
    result = cli.fails("artifact", "put", "data", "--name", name, "--type", "dataset", code=2)
    assert "name" in result.stderr or "alias" in result.stderr


def test_bad_input_is_one_line_and_changes_nothing(cli: CLI, repo_dir: Path, data_dir: Path) -> None:
    cli.ok("artifact", "put", "data", "--name", "p/d", "--type", "dataset")
    before = cli.ok("artifact", "show", "p/d", "--json").json()
    cases = [  # (exit code: 2 invalid input, 1 a failed operation), arguments
        (2, ("artifact", "put", "missing-dir", "--name", "p/d", "--type", "dataset")),
        (2, ("artifact", "put", "data", "--name", "p/d", "--type", "dataset", "--metadata", "{bad json")),
        (2, ("artifact", "put", "data", "--name", "p/d", "--type", "dataset", "--metadata", "[1, 2]")),
        (1, ("artifact", "put", "data", "--name", "p/d", "--type", "model")),
        (2, ("artifact", "put", "data", "--name", "p/d", "--type", "dataset", "--ttl", "3 weeks")),
        (1, ("artifact", "get", "p/unknown")),
        (1, ("artifact", "get", "p/d:v9")),
        (1, ("artifact", "get", "p/d:nosuchalias")),
        (1, ("artifact", "show", "p/d:v9")),
        (1, ("artifact", "diff", "p/d:v0", "p/x:v0")),
    ]
    for code, args in cases:
        result = cli.fails(*args, code=code)
        assert len(result.stderr.strip().splitlines()) <= 2, result  # error + optional hint
    (repo_dir / "afile").write_text("x")
    cli.fails("artifact", "get", "p/d", "--root", "afile", code=2)
    assert cli.ok("artifact", "show", "p/d", "--json").json() == before
    cli.ok("artifact", "verify")


def test_broken_symlink_in_source_is_a_clean_error(cli: CLI, repo_dir: Path, data_dir: Path) -> None:
    (data_dir / "dangling").symlink_to(data_dir / "nowhere")
    result = cli.fails("artifact", "put", "data", "--name", "p/d", "--type", "dataset", code=2)
    assert "broken symbolic link" in result.stderr
    assert cli.ok("artifact", "ls", "--json").json() == []


def test_debug_shows_traceback(cli: CLI, repo_dir: Path) -> None:
    result = cli("--debug", "artifact", "get", "p/none")
    assert result.returncode == 1 and "Traceback" in result.stderr and "error: " in result.stderr


def test_usage_errors_exit_2(cli: CLI, repo_dir: Path) -> None:
    cli.fails("artifact", "put", "x", code=2)
    cli.fails("artifact", "get", "p/d", "--link", "teleport", code=2)


@pytest.mark.damages_repository
def test_hostile_manifest_is_refused_before_writing(
    cli: CLI, repo_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    """A manifest edited to contain ``../`` (e.g. from a remote) is refused: nothing is written."""
    from artctl.base.hashing import hash_bytes

    doc = cli.ok("artifact", "put", "data", "--name", "p/d", "--type", "dataset", "--json").json()
    manifests = repo_dir / ".artifacts" / "manifests"
    path = manifests / doc["digest"][:2] / f"{doc['digest'][2:]}.jsonl"
    evil = path.read_bytes().replace(b'"path":"a.txt"', b'"path":"../../escaped.txt"')
    evil_digest = hash_bytes(evil)
    target = manifests / evil_digest[:2] / f"{evil_digest[2:]}.jsonl"
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(evil)
    record = repo_dir / ".artifacts" / "registry" / "p" / "d" / "versions" / "v0.json"
    os.chmod(record, 0o644)
    record.write_text(record.read_text().replace(doc["digest"], evil_digest))
    result = cli.fails("artifact", "get", "p/d", "--root", "out")
    assert ".." in result.stderr
    assert not (repo_dir / "out").exists() or not any((repo_dir / "out").iterdir())
    assert not (repo_dir.parent / "escaped.txt").exists()


def test_symlink_inside_root_cannot_redirect_writes(
    cli: CLI, repo_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    cli.ok("artifact", "put", "data", "--name", "p/d", "--type", "dataset")
    outside = tmp_path / "outside"
    outside.mkdir()
    root = repo_dir / "out"
    root.mkdir()
    (root / "sub").symlink_to(outside)
    result = cli.fails("artifact", "get", "p/d", "--root", "out")
    assert "symbolic link" in result.stderr
    assert not any(outside.iterdir())


def test_concurrent_puts_get_distinct_versions(repo_dir: Path, tmp_path: Path) -> None:
    """Several processes putting different content to one artifact at once: no lost version."""
    count = 6
    sources = []
    for i in range(count):
        src = make_tree(tmp_path / f"src{i}", {"same.txt": "shared", f"own{i}.txt": f"content {i}" * 100})
        sources.append(src)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "artctl",
                "artifact",
                "put",
                str(src),
                "--name",
                "p/d",
                "--type",
                "dataset",
                "--json",
            ],
            cwd=repo_dir,
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for src in sources
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), results
    versions = sorted(json.loads(out)["version"] for out, _ in results)
    assert versions == sorted(f"v{i}" for i in range(count))
    verify = subprocess.run(
        [sys.executable, "-m", "artctl", "artifact", "verify", "--json"],
        cwd=repo_dir,
        env=cli_env(),
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0 and json.loads(verify.stdout)["versions"] == count


def test_killed_put_leaves_repository_consistent(repo_dir: Path, tmp_path: Path) -> None:
    """SIGKILL in the middle of a put, at each step of its write order in turn (tests/
    test_crash_points.py kills at every point): either no version or a complete one, never half."""
    src = make_tree(tmp_path / "many", {f"d{i % 10}/f{i}.bin": os.urandom(2048) for i in range(3000)})
    put = ("artifact", "put", str(src), "--name", "p/killed", "--type", "dataset")
    for point in (
        "store.pack-before-rename",
        "store.pack-before-index",
        "ingest.after-blobs",
        "commit.after-manifest",
    ):
        run_killed_at(point, *put, cwd=repo_dir)
        verify = run_cli("artifact", "verify", "--json", cwd=repo_dir)
        assert verify.returncode == 0, verify
        assert run_cli("artifact", "ls", "--json", cwd=repo_dir).json() == []  # no half version
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "artctl",
            "artifact",
            "put",
            str(src),
            "--name",
            "p/killed",
            "--type",
            "dataset",
            "--json",
        ],
        cwd=repo_dir,
        env=cli_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["files"] == 3000
    assert os.listdir(repo_dir / ".artifacts" / "tmp") == []  # what the killed puts staged is gone


def test_show_of_a_large_version_streams_plain_lines_and_json(
    cli: CLI, repo_dir: Path, tmp_path: Path
) -> None:
    """Above the table limit, show lists one tab-separated line per file as it reads them."""
    from artctl.cli.inspect_cmds import TABLE_ROWS

    count = TABLE_ROWS + 1
    src = make_tree(tmp_path / "many", {f"d{i % 7}/f{i:05d}.txt": f"{i}\n" for i in range(count)})
    cli.ok("artifact", "put", str(src), "--name", "p/many", "--type", "dataset")
    lines = cli.ok("artifact", "show", "p/many:v0").stdout.splitlines()
    listed = [line.split("\t") for line in lines if "\t" in line]
    assert len(listed) == count and [row[0] for row in listed] == sorted(row[0] for row in listed)
    doc = cli.ok("artifact", "show", "p/many:v0", "--json").json()
    assert doc["files"] == count and len(doc["entries"]) == count
    assert doc["entries"][0] == {
        "path": "d0/f00000.txt",
        "size": 2,
        "digest": hash_bytes(b"0\n"),
        "ref": None,
    }
    part = cli.ok("artifact", "get", "p/many:v0", "--root", "part", "--path-prefix", "d3/", "--json").json()
    assert part["files"] == len([i for i in range(count) if i % 7 == 3])
