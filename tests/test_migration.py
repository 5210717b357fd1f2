"""Repository format 1 → 2: a repository made by the previous release (tests/fixtures/format1)
migrates once, idempotently, on first open for writing, and reads exactly as before; a kill at
each step of the migration resumes (docs/format.md "Migration")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from artctl.errors import RepositoryFormatError
from artctl.format.layout import INIT_DIRS
from artctl.format.local_layout import Layout
from artctl.format.names import parse_name
from artctl.repository import registry_files
from artctl.repository.repo import check_format

from conftest import run_killed_at

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "format1" / "artifacts"

#: What the previous release showed for the fixture (its README says how it was made).
ALIASES = {
    "proj/data": {"best": "v0", "production": "v1"},
    "proj/model": {"candidate": "v0", "staging": "v0"},
}
VERSIONS = {
    ("proj/data", "v0"): {
        "state": "committed",
        "description": "first cut, cleaned",
        "metadata": {"rows": 3},
        "ttl": None,
    },
    ("proj/data", "v1"): {"state": "committed", "description": None, "metadata": {}, "ttl": "10y"},
    ("proj/data", "v2"): {"state": "deleted", "description": None, "metadata": {}, "ttl": None},
    ("proj/model", "v0"): {"state": "committed", "description": None, "metadata": {}, "ttl": None},
}


def _copy_fixture(work: Path) -> Path:
    """The fixture as a repository under ``work`` (git keeps no empty directory: made here)."""
    root = work / ".artifacts"
    shutil.copytree(FIXTURE, root)
    for sub in INIT_DIRS:
        (root / sub).mkdir(exist_ok=True)
    return root


def _registry_files(root: Path) -> dict[str, bytes]:
    """Every registry file, runs and FORMAT, by path: what a second open must leave alone."""
    out = {"FORMAT": (root / "FORMAT").read_bytes()}
    for top in ("registry", "runs"):
        for path in sorted((root / top).rglob("*")):
            if path.is_file():
                out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


def _tables_without_opening(root: Path) -> dict[str, dict[str, str]]:
    """The alias tables as readers see them, read without opening (so without migrating)."""
    layout = Layout(root)
    out = {}
    for name in ALIASES:
        newest = registry_files.newest_aliases(layout, parse_name(name))
        out[name] = dict(newest.aliases) if newest is not None else {}
    return out


def _check_reads_as_before(cli) -> None:  # type: ignore[no-untyped-def]
    for name, table in ALIASES.items():
        rows = cli.ok("alias", "ls", name, "--json").json()
        assert {r["alias"]: r["version"] for r in rows if not r["managed"]} == table
    shown = {
        (v["name"], v["version"]): v
        for n in ALIASES
        for v in cli.ok("artifact", "ls", n, "--all", "--json").json()
    }
    assert sorted(shown) == sorted(VERSIONS)
    for key, expected in VERSIONS.items():
        assert {k: shown[key][k] for k in expected} == expected, (key, shown[key])
    listed = cli.ok("artifact", "ls", "proj/data", "--json").json()
    assert [v["version"] for v in listed] == ["v0", "v1"]  # v2 deleted
    runs = cli.ok("run", "ls", "--json").json()
    assert len(runs) == 1 and runs[0]["status"] == "finished"
    assert cli.ok("artifact", "verify", "--json").json()["ok"]


def test_the_fixture_is_format_1_with_an_aliases_json_per_artifact() -> None:
    """The fixture is what the previous release wrote (else the tests below prove nothing)."""
    assert json.loads((FIXTURE / "FORMAT").read_text())["format"] == 1
    assert sorted(p.parent.name for p in FIXTURE.rglob("aliases.json")) == ["data", "model"]
    assert not list(FIXTURE.rglob("aliases/*.json"))


def test_a_format_1_repository_migrates_on_open_and_reads_as_before(cli, workdir: Path) -> None:
    root = _copy_fixture(workdir)
    assert _tables_without_opening(root) == ALIASES  # format 1 reads as before, unmigrated
    _check_reads_as_before(cli)
    assert json.loads((root / "FORMAT").read_text())["format"] == 2
    assert not list((root / "registry").rglob("aliases.json"))
    first = json.loads((root / "registry" / "proj" / "data" / "aliases" / "0000000000.json").read_text())
    assert first["seq"] == 0 and first["aliases"] == ALIASES["proj/data"]
    # the format-1 records keep their state fields: nothing in versions/ was rewritten
    for path in (FIXTURE / "registry").rglob("versions/*.json"):
        assert (root / path.relative_to(FIXTURE)).read_bytes() == path.read_bytes()
    before = _registry_files(root)
    _check_reads_as_before(cli)  # a second open changes nothing
    assert _registry_files(root) == before


def test_a_migrated_repository_takes_new_changes_in_format_2(cli, workdir: Path) -> None:
    root = _copy_fixture(workdir)
    cli.ok("alias", "add", "proj/data:v1", "best")
    cli.ok("artifact", "update", "proj/data:v1", "--description", "second")
    log = cli.ok("alias", "log", "proj/data", "best", "--json").json()
    assert [(e["from"], e["to"]) for e in log] == [("v0", "v1"), (None, "v0")]
    assert log[1]["by"] is None  # the table format 1 had: nobody is known
    assert (root / "registry" / "proj" / "data" / "edits" / "v1" / "0000000000.json").is_file()
    assert cli.ok("artifact", "show", "proj/data:v1", "--json").json()["description"] == "second"


@pytest.mark.parametrize("point", ["migrate.alias-snapshot-written", "migrate.format-written"])
def test_a_killed_migration_resumes(cli, workdir: Path, point: str) -> None:
    root = _copy_fixture(workdir)
    versions = {p: p.read_bytes() for p in (root / "registry").rglob("versions/*.json")}
    run_killed_at(point, "artifact", "ls", cwd=workdir)
    assert _tables_without_opening(root) == ALIASES  # every intermediate state reads as before
    if point == "migrate.alias-snapshot-written":
        assert json.loads((root / "FORMAT").read_text())["format"] == 1
        assert (root / "registry" / "proj" / "data" / "aliases.json").exists()  # killed before removing it
    _check_reads_as_before(cli)
    assert json.loads((root / "FORMAT").read_text())["format"] == 2
    assert not list((root / "registry").rglob("aliases.json"))
    assert sorted(p.name for p in (root / "registry").rglob("aliases/*.json")) == ["0000000000.json"] * 2
    assert all(p.read_bytes() == data for p, data in versions.items())
    assert not [p for p in (root / "tmp").iterdir()], "debris left in tmp/"


def test_format_files_of_both_formats_are_read_and_a_newer_one_is_refused() -> None:
    assert check_format(b'{"format": 1, "kind": "artctl-repository"}', "r") == 1
    assert check_format(b'{"format": 2, "kind": "artctl-repository"}', "r") == 2
    with pytest.raises(RepositoryFormatError, match="format 3"):
        check_format(b'{"format": 3, "kind": "artctl-repository"}', "r")
