"""artctl/format/layout.py: every path inside ``.artifacts/``, both directions, and the same
keys on a remote. The on-disk format is what it was (DESIGN.md, "On-disk layout")."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

from artctl.format.layout import Located, parse_key
from artctl.format.local_layout import Layout
from artctl.format.names import parse_name

from conftest import REPO_ROOT, make_tree

D = "ab" + "c" * 62
#: Slices that took digests, pack ids and record names apart by position.
OFFSETS = re.compile(r"\b(digest|d|rel|name|file|n|rest)\[(:2|2:|8:10|11:|:-4|:-5|len\('packs/'\).*)\]")


def test_names_and_keys_round_trip() -> None:
    from artctl.format import layout

    name = parse_name("team/proj/model")
    cases = {
        layout.object_key(D): Located("object", D),
        layout.manifest_key(D): Located("manifest", D),
        layout.origin_key(D): Located("origin", D),
        layout.pack_key("p1"): Located("pack", "p1"),
        layout.index_key("p1"): Located("index", "p1"),
        layout.run_key("r1"): Located("run", "r1"),
        layout.version_key(name, 3): Located("version", layout.artifact_key(name), 3),
        layout.tombstone_key(name, 3): Located("tombstone", layout.artifact_key(name), 3),
        layout.alias_snapshot_key(name, 12): Located("alias-snapshot", layout.artifact_key(name), 12),
    }
    for key, what in cases.items():
        assert parse_key(key) == what, key
    assert layout.object_key(D) == f"objects/ab/{'c' * 62}"
    assert layout.manifest_key(D) == f"manifests/ab/{'c' * 62}.jsonl"
    # The entity (``team/``) names the repository's owner and is not stored (docs/names.md).
    assert layout.version_key(name, 3) == "registry/proj/model/versions/v3.json"
    assert layout.alias_snapshot_key(name, 12) == "registry/proj/model/aliases/0000000012.json"


def test_what_is_not_a_stored_thing_is_not_taken_for_one() -> None:
    for key in (
        "objects/ab/" + "c" * 61,  # short
        "objects/ab/" + "C" * 62,  # not lowercase hex
        "objects/abc/" + "c" * 61,  # wrong fan-out
        "objects/ab/" + "c" * 62 + ".tmp",
        "objects/ab/" + "x" * 62,  # not hex: once taken for a digest by character offsets
        "manifests/ab/" + "c" * 62,  # no suffix
        "packs/.pack",
        "packs/sub/p1.pack",
        "runs/sub/r1.json",
        "registry/p/n/versions/latest.json",
        "registry/p/n/aliases/best.json",
        "tmp/x",
    ):
        assert parse_key(key) is None, key


def test_every_file_of_a_repository_is_where_the_layout_says(cli, repo_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tree = make_tree(tmp_path / "d", {"small.txt": "s\n", "big.bin": os.urandom(1024 * 1024 + 1)})
    run = cli.ok("run", "start", "--job-type", "t").stdout.strip().split()[0]
    put = cli.ok("artifact", "put", str(tree), "--name", "p/x", "--type", "d", "--run", run, "--json").json()
    root = repo_dir / ".artifacts"
    layout = Layout(root)
    kinds: dict[str, list[Located]] = {}
    for path in root.rglob("*"):
        if path.is_file() and (found := layout.what(path)) is not None:
            kinds.setdefault(found.kind, []).append(found)
            assert layout.path(layout.key(path)) == path
    assert [f.ident for f in kinds["manifest"]] == [put["digest"]]
    assert layout.manifest(put["digest"]).is_file()
    assert len(kinds["object"]) == 1 and layout.object(kinds["object"][0].ident).is_file()
    assert len(kinds["pack"]) == len(kinds["index"]) == 1
    assert [f.ident for f in kinds["run"]] == [run]
    assert kinds["version"] == [Located("version", "registry/p/x", 0)]


def test_no_module_parses_paths_by_character_offsets() -> None:
    """The slices that took digests and pack ids apart live in the layout module only."""
    offenders = []
    for path in (REPO_ROOT / "artctl").rglob("*.py"):
        if path.name == "layout.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
                text = ast.unparse(node)
                if OFFSETS.search(text):
                    offenders.append(f"{path.relative_to(REPO_ROOT)}: {text}")
    assert offenders == []
