"""The registry merge of push and pull keeps every local version (issue 14, item 1).

A remote version is the twin of at most one local version: a content deleted and put again
(two local versions, one deleted, one live) used to be folded into the remote's one version,
whose local deletion then took the live version with it — gone from `ls`, its bytes left to gc.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import make_tree


@pytest.mark.parametrize("first", ["pull", "push"])
def test_content_put_again_after_a_pushed_deletion_stays_live(
    first, cli, repo_dir: Path, tmp_path: Path
) -> None:
    url = (tmp_path / "remote").as_uri()
    make_tree(repo_dir / "x", {"a.txt": "the same content\n"})
    cli.ok("remote", "add", "origin", url, "--default")
    cli.ok("artifact", "put", "x", "--name", "proj/ds", "--type", "dataset")
    cli.ok("push")
    cli.ok("artifact", "rm", "proj/ds:v0")
    again = cli.ok(
        "artifact", "put", "x", "--name", "proj/ds", "--type", "dataset", "--alias", "keep", "--json"
    )
    assert again.json()["version"] == "v1"  # numbers are never reused
    digest = again.json()["digest"]
    cli.ok(first)
    cli.ok("pull" if first == "push" else "push")

    def live() -> dict[str, str]:
        return {v["version"]: v["digest"] for v in cli.ok("artifact", "ls", "proj/ds", "--json").json()}

    assert live() == {"v1": digest}
    assert cli.ok("artifact", "show", "proj/ds:keep", "--json").json()["digest"] == digest
    cli.ok("artifact", "verify")
    cli.ok("clone", url, str(tmp_path / "fresh"))  # the remote has it live too, under v1
    fresh = cli.ok("artifact", "ls", "proj/ds", "--json", cwd=tmp_path / "fresh").json()
    assert {v["version"]: v["digest"] for v in fresh} == {"v1": digest}
    assert (
        cli.ok("artifact", "show", "proj/ds:keep", "--json", cwd=tmp_path / "fresh").json()["digest"]
        == digest
    )
