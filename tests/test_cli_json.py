"""Every reporting command's ``--json``: one JSON document on stdout with the keys documented in
docs/cli-json.md, and every command that has ``--json`` is both documented and exercised here."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click
import pytest

from artctl.cli.group import walk
from artctl.cli.main import cli as root

from conftest import REPO_ROOT, make_tree

DOC = REPO_ROOT / "docs" / "cli-json.md"


def documented() -> dict[str, tuple[str, list[str], dict[str, list[str]]]]:
    """``{form: (shape, keys, {nested field: keys})}`` from the table in docs/cli-json.md."""
    rows: dict[str, tuple[str, list[str], dict[str, list[str]]]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `([^`]+)` \| (object|list|map) \| (.*?) \|\s*(.*?)\s*\|$", line)
        if not match:
            continue
        form, shape, keys, nested = match.groups()
        nested_map: dict[str, list[str]] = {}
        for spec in filter(None, (s.strip().strip("`") for s in nested.split(";"))):
            field, _, sub = spec.partition(":")
            nested_map[field.strip()] = [k.strip() for k in sub.split(",") if k.strip()]
        rows[form] = (shape, re.findall(r"`([^`]+)`", keys), nested_map)
    return rows


def command_of(form: str) -> tuple[str, ...]:
    """``"artifact ls NAME"`` → ``("artifact", "ls")``: words before placeholders and flags."""
    words = []
    for word in form.split():
        if word.startswith("-") or word.isupper():
            break
        words.append(word)
    return tuple(words)


def json_commands() -> set[tuple[str, ...]]:
    found = set()
    for path, cmd in walk(root):
        if not isinstance(cmd, click.Group) and any("--json" in getattr(p, "opts", ()) for p in cmd.params):
            found.add(path)
    return found


def test_every_json_command_is_documented() -> None:
    forms = documented()
    assert len(forms) > 30
    missing = sorted(" ".join(p) for p in json_commands() - {command_of(f) for f in forms})
    assert not missing, f"document these commands' --json in docs/cli-json.md: {missing}"
    unknown = sorted(f for f in forms if command_of(f) not in json_commands())
    assert not unknown, f"docs/cli-json.md documents commands without --json: {unknown}"


def check(form: str, stdout: str, forms: dict) -> object:  # type: ignore[type-arg]
    """One JSON document with exactly the documented top-level keys."""
    assert stdout.endswith("\n") and stdout.strip(), (form, stdout)
    doc = json.loads(stdout)  # raises on a second document or trailing text
    shape, keys, nested = forms[form]
    items: list[dict] = []  # type: ignore[type-arg]
    if shape == "object":
        assert isinstance(doc, dict), (form, doc)
        items = [doc]
    elif shape == "list":
        assert isinstance(doc, list) and doc, f"{form}: run it where the list is not empty: {doc}"
        items = doc
    else:
        assert isinstance(doc, dict) and doc, (form, doc)
        assert all(isinstance(v, dict) and sorted(v) == sorted(keys) for v in doc.values()), (form, doc)
        return doc
    for item in items:
        assert isinstance(item, dict) and sorted(item) == sorted(keys), (
            f"{form}: keys {sorted(item)} differ from docs/cli-json.md {sorted(keys)}"
        )
        for field, sub in nested.items():
            name = field.rstrip("[]")
            values = item[name] if field.endswith("[]") else [item[name]]
            assert isinstance(values, list) and values, f"{form}: {name} must be a non-empty list here"
            for value in values:
                assert isinstance(value, dict) and set(sub) <= set(value), (form, field, value)
    return doc


def test_every_reporting_command_prints_one_documented_json_document(
    cli, workdir: Path, tmp_path: Path
) -> None:
    forms = documented()
    seen: set[str] = set()

    def run(form: str, *args: str, cwd: Path | None = None):  # type: ignore[no-untyped-def]
        result = cli.ok(*args, "--json", cwd=cwd) if "--" not in args else cli.ok(*args, cwd=cwd)
        assert "\x1b" not in result.stdout
        seen.add(form)
        return check(form, result.stdout, forms)

    make_tree(workdir / "data", {"a.txt": "a\n", "b.txt": "b\n"})
    make_tree(workdir / "shard", {"s1.txt": "s\n"})
    (workdir / "x.txt").write_text("x\n")
    run("init", "init")
    run("config KEY VALUE", "config", "core.workers", "2")
    run("config KEY", "config", "core.workers")
    run("config --list", "config", "--list")
    run("config --unset KEY", "config", "--unset", "core.workers")
    run_id = run("run start", "run", "start", "--job-type", "prep")["id"]
    run(
        "artifact put",
        "artifact",
        "put",
        "data",
        "--name",
        "proj/mnist",
        "--type",
        "dataset",
        "--run",
        run_id,
    )
    (workdir / "data" / "b.txt").write_text("bb\n")
    run("artifact put", "artifact", "put", "data", "--name", "proj/mnist", "--type", "dataset")
    run("artifact get", "artifact", "get", "proj/mnist:v0", "--root", "out")
    (workdir / "ref.txt").write_text("referenced\n")
    run(
        "artifact put",
        "artifact",
        "put",
        (workdir / "ref.txt").as_uri(),
        "--name",
        "proj/refs",
        "--type",
        "dataset",
    )
    run("artifact get --refs-only", "artifact", "get", "proj/refs", "--refs-only")
    run("artifact ls", "artifact", "ls")
    run("artifact ls NAME", "artifact", "ls", "proj/mnist")
    run("artifact show", "artifact", "show", "proj/mnist:v1")
    run("artifact diff", "artifact", "diff", "proj/mnist:v0", "proj/mnist:v1")
    run("artifact diff REF DIR", "artifact", "diff", "proj/mnist:v0", "data")
    run("status", "status", "data")
    run("artifact checkout --dry-run", "artifact", "checkout", "proj/mnist:v0", "data", "--dry-run")
    run("artifact checkout", "artifact", "checkout", "proj/mnist:v1", "data")
    run("artifact log", "artifact", "log", "proj/mnist")
    run("artifact update", "artifact", "update", "proj/mnist:v1", "--description", "d", "--tag", "gold")
    run("artifact ls --tag TAG", "artifact", "ls", "--tag", "gold")
    run("artifact verify", "artifact", "verify")
    run("ttl apply", "ttl", "apply", "--project", "proj", "--ttl", "1y", "--dry-run")
    run("link", "link", "proj/mnist:v1", "registry/mnist", "--alias", "production")
    run("unlink", "unlink", "registry/mnist:production")
    run("alias add", "alias", "add", "proj/mnist:v0", "best")
    run("alias ls", "alias", "ls", "proj/mnist")
    run("alias rm", "alias", "rm", "proj/mnist", "best")
    run("alias log", "alias", "log", "proj/mnist")
    draft = run("draft new", "draft", "new", "proj/mnist")["id"]
    run("draft add", "draft", "add", draft, "x.txt")
    run("draft rm", "draft", "rm", draft, "a.txt")
    run("draft ls", "draft", "ls", draft)
    run("draft commit", "draft", "commit", draft)
    run("draft discard", "draft", "discard", run("draft new", "draft", "new", "proj/mnist")["id"])
    run(
        "artifact upsert",
        "artifact",
        "upsert",
        "shard",
        "--name",
        "proj/ds",
        "--type",
        "dataset",
        "--distributed-id",
        "j1",
    )
    run(
        "artifact finish",
        "artifact",
        "finish",
        "--name",
        "proj/ds",
        "--type",
        "dataset",
        "--distributed-id",
        "j1",
    )
    run("run finish", "run", "finish", run_id)
    run("run show", "run", "show", run_id)
    run("run ls", "run", "ls")
    run("run exec", "run", "exec", "--job-type", "t", "--json", "--", sys.executable, "-c", "pass")
    run("lineage", "lineage", "proj/mnist:v0")
    remote = tmp_path / "remote"
    remote.mkdir()
    run("remote add", "remote", "add", "origin", remote.as_uri())
    run("remote ls", "remote", "ls")
    run("push", "push")
    run("pull", "pull")
    run("clone", "clone", remote.as_uri(), str(tmp_path / "copy"))
    run("remote compact", "remote", "compact", "origin")
    run("artifact rm", "artifact", "rm", "proj/mnist:v0")
    run("artifact rename", "artifact", "rename", "proj/refs", "proj/refs2")
    run("gc", "gc", "--dry-run")
    run("gc", "gc")
    run("cache info", "cache", "info")
    run("cache cleanup", "cache", "cleanup", "1GB", "--dry-run")
    run("cache cleanup", "cache", "cleanup", "1GB")
    run("artifact cache cleanup", "artifact", "cache", "cleanup", "1GB")
    run("remote rm", "remote", "rm", "origin")
    assert not set(forms) - seen, f"documented but not exercised: {sorted(set(forms) - seen)}"


@pytest.mark.parametrize(
    "args",
    [
        ["artifact", "show", "proj/none"],
        ["alias", "ls", "proj/none"],
        ["run", "show", "nosuchrun"],
        ["remote", "rm", "nothere"],
    ],
)
def test_failures_print_one_error_document_on_stdout(cli, repo_dir: Path, args: list[str]) -> None:
    result = cli.fails(*args, "--json")
    error = result.json()["error"]
    assert sorted(error) == ["code", "hint", "message"] and error["message"] in result.stderr
    assert result.stderr.startswith("error: ")
