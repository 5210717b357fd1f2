"""The remote is the team's registry (issue 16): every change made in one clone and pushed
arrives in another clone that pulls, on every backend; changes made on both sides since the
last sync are refused by push (naming them), kept with ``push --force``, and replaced — with a
message — by pull. Two clones A and B of one remote; three for the race.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_remotes_contract import new_repo

from artctl.api.repo import clone
from artctl.backend import open_backend
from artctl.format.layout import FORMAT_FILE
from artctl.ops.remote.protocol import read_registry

from conftest import cli_env, make_tree

pytestmark = pytest.mark.servers

NAME = "proj/m"


class Team:
    """Clones of one remote, each driven through the CLI in-process."""

    def __init__(self, cli: Any, remote: Any, tmp_path: Path) -> None:
        self.cli, self.remote, self.tmp = cli, remote, tmp_path
        self.dirs: dict[str, Path] = {}

    def found(self, who: str) -> None:
        """``who`` makes the first version and pushes it (the remote starts empty)."""
        new_repo(self.tmp / who, self.remote)
        self.dirs[who] = self.tmp / who
        self.put(who, "c0")
        self.ok(who, "alias", "add", f"{NAME}:v0", "production")
        self.ok(who, "push")

    def join(self, who: str) -> None:
        clone(self.remote.url, self.tmp / who, options=self.remote.stored_options)
        self.dirs[who] = self.tmp / who

    def run(self, who: str, *args: str) -> Any:
        return self.cli(*args, cwd=self.dirs[who], env=self.remote.env)

    def ok(self, who: str, *args: str) -> Any:
        return self.cli.ok(*args, cwd=self.dirs[who], env=self.remote.env)

    def fails(self, who: str, *args: str) -> Any:
        return self.cli.fails(*args, cwd=self.dirs[who], env=self.remote.env)

    def put(self, who: str, tag: str) -> dict[str, Any]:
        data = make_tree(self.tmp / f"data-{who}-{tag}", {"f.txt": f"content {tag}\n"})
        return self.ok(who, "artifact", "put", str(data), "--name", NAME, "--type", "model", "--json").json()

    def versions(self, who: str) -> dict[str, dict[str, Any]]:
        rows = self.ok(who, "artifact", "ls", NAME, "--all", "--json").json()
        return {r["version"]: r for r in rows}

    def alias(self, who: str, alias: str) -> str | None:
        rows = self.ok(who, "alias", "ls", NAME, "--json").json()
        return next((r["version"] for r in rows if r["alias"] == alias), None)


# -- the table: a change in A, `push`; B `pull`s ------------------------------------------
def _new_version(team: Team) -> None:
    digest = team.put("a", "c1")["digest"]
    team.ok("a", "push")
    team.ok("b", "pull")
    assert team.versions("b")["v1"]["digest"] == digest


def _alias_moved(team: Team) -> None:
    assert team.alias("b", "production") == "v0"  # as cloned
    team.ok("a", "alias", "add", f"{NAME}:v1", "production")
    team.ok("a", "push")
    team.ok("b", "pull")
    assert team.alias("b", "production") == "v1"


def _version_deleted(team: Team) -> None:
    team.ok("a", "artifact", "rm", f"{NAME}:v0")
    team.ok("a", "push")
    team.ok("b", "pull")
    assert team.versions("b")["v0"]["state"] == "deleted"


def _alias_removed(team: Team) -> None:
    team.ok("a", "alias", "rm", NAME, "production")
    team.ok("a", "push")
    team.ok("b", "pull")
    assert team.alias("b", "production") is None
    team.fails("b", "artifact", "show", f"{NAME}:production")
    team.ok("b", "push")  # and B's next push does not bring it back
    team.ok("a", "pull")
    assert team.alias("a", "production") is None


def _edited_after_push(team: Team) -> None:
    team.ok(
        "a",
        "artifact", "update", f"{NAME}:v1",
        "--description", "the good one", "--metadata", '{"acc": 0.9}', "--ttl", "30d",
    )  # fmt: skip
    team.ok("a", "push")
    team.ok("b", "pull")
    shown = team.ok("b", "artifact", "show", f"{NAME}:v1", "--json").json()
    assert (shown["description"], shown["metadata"]) == ("the good one", {"acc": 0.9})
    mine = team.ok("a", "artifact", "show", f"{NAME}:v1", "--json").json()
    assert mine["ttl"] is not None and shown["ttl"] == mine["ttl"]


def _deleted_before_first_push(team: Team) -> None:
    team.put("a", "c2")  # v2, deleted before it is ever pushed
    kept = team.put("a", "c3")["digest"]  # v3
    team.ok("a", "artifact", "rm", f"{NAME}:v2")
    pushed = team.ok("a", "push", "--json").json()
    assert pushed["renumbered"] == [] and pushed["versions"] == [f"{NAME}:v3"]
    assert team.versions("a")["v3"]["digest"] == kept  # no number anybody saw changed
    team.ok("b", "pull")
    assert team.versions("b")["v3"]["digest"] == kept and "v2" not in team.versions("b")


# -- both sides changed the same thing ---------------------------------------------------------
def _concurrent_edits(team: Team) -> None:
    team.ok("a", "artifact", "update", f"{NAME}:v1", "--description", "from a")
    team.ok("b", "artifact", "update", f"{NAME}:v1", "--description", "from b")
    team.ok("a", "push")
    refused = team.fails("b", "push")
    assert "proj/m v1 description" in refused.stderr and "'from b'" in refused.stderr, refused
    assert "artctl pull" in refused.stderr and "--force" in refused.stderr
    pulled = team.ok("b", "pull")
    assert (
        "pull: replaced your local change of proj/m v1 description ('from b') with the remote's ('from a')"
        in pulled.stderr
    )
    assert team.ok("b", "artifact", "show", f"{NAME}:v1", "--json").json()["description"] == "from a"


def _alias_moves_and_force(team: Team) -> None:
    team.ok("a", "alias", "add", f"{NAME}:v3", "production")
    team.ok("b", "alias", "add", f"{NAME}:v1", "production")
    team.ok("a", "push")
    refused = team.run("b", "push", "--json")
    assert refused.returncode == 1
    assert refused.json()["conflicts"] == [
        {"name": NAME, "what": "alias production", "yours": "v1", "theirs": "v3"}
    ]
    team.ok("b", "push", "--force")
    pulled = team.ok("a", "pull", "--json").json()
    assert pulled["replaced"] == []  # A had not changed it since: nothing of A's was replaced
    assert team.alias("a", "production") == "v1"


def _delete_vs_alias_move(team: Team) -> None:
    team.ok("b", "alias", "add", f"{NAME}:v3", "staging")
    team.ok("b", "push")
    team.ok("a", "artifact", "rm", f"{NAME}:v3")  # A has not seen `staging` move to v3
    refused = team.fails("a", "push")
    assert "alias staging" in refused.stderr, refused
    team.ok("a", "pull")  # the deletion wins: the alias is dropped
    assert team.alias("a", "staging") is None and team.versions("a")["v3"]["state"] == "deleted"
    team.ok("a", "push")
    team.ok("b", "pull")
    assert team.alias("b", "staging") is None and team.versions("b")["v3"]["state"] == "deleted"
    # the other way round: an alias moved here to a version deleted on the remote
    team.ok("a", "alias", "add", f"{NAME}:v1", "qa")
    team.ok("a", "push")
    team.ok("b", "pull")
    team.ok("b", "artifact", "rm", f"{NAME}:v1", "--delete-aliases")
    team.ok("b", "push")
    team.ok("a", "alias", "add", f"{NAME}:v1", "release")
    refused = team.fails("a", "push")
    assert "alias release" in refused.stderr and "v1 deleted" in refused.stderr, refused
    pulled = team.ok("a", "pull")
    assert (
        "pull: replaced your local change of proj/m alias release (v1) with the remote's (deletion of v1)"
        in pulled.stderr
    )
    assert team.alias("a", "release") is None and team.alias("a", "qa") is None


ROWS = [
    _new_version,
    _alias_moved,
    _version_deleted,
    _alias_removed,
    _edited_after_push,
    _deleted_before_first_push,
    _concurrent_edits,
    _alias_moves_and_force,
    _delete_vs_alias_move,
]


def test_every_change_round_trips_and_conflicts_are_named(cli, remote_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    team = Team(cli, remote_url, tmp_path)
    team.found("a")
    team.join("b")
    for row in ROWS:
        row(team)
    team.ok("a", "pull")
    team.ok("b", "pull")
    ours = team.versions("a")
    assert ours.pop("v2")["state"] == "deleted"  # never pushed: A's alone
    assert ours == team.versions("b")  # otherwise both clones end as one registry
    team.ok("a", "artifact", "verify")


def test_concurrent_alias_moves_one_wins_the_others_are_refused(cli, remote_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    team = Team(cli, remote_url, tmp_path)
    team.found("seed")
    for tag in ("c1", "c2"):
        team.put("seed", tag)
    team.ok("seed", "push")
    writers = ["w0", "w1", "w2"]
    for i, who in enumerate(writers):
        team.join(who)
        team.ok(who, "alias", "add", f"{NAME}:v{i}", "production")
    env = cli_env(remote_url.env)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "artctl", "push"],
            cwd=team.dirs[who],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who in writers
    ]
    results = [p.communicate(timeout=180) + (p.returncode,) for p in procs]
    codes = [code for _out, _err, code in results]
    # w0 moved nothing (production was v0 already), so w1 and w2 race: one wins, one is refused
    assert sorted(codes) == [0, 0, 1], results
    loser = writers[codes.index(1)]
    err = results[codes.index(1)][1]
    assert err.startswith("error: push refused: proj/m alias production"), err
    winner = next(w for w in writers[1:] if w != loser)
    backend = open_backend(remote_url.url, remote_url.storage_options)
    assert read_registry(backend)[NAME].aliases == {"production": f"v{writers.index(winner)}"}
    pulled = team.ok(loser, "pull")  # takes theirs, then moves it again: now it goes through
    assert f"alias production (v{writers.index(loser)})" in pulled.stderr
    team.ok(loser, "alias", "add", f"{NAME}:v{writers.index(loser)}", "production")
    team.ok(loser, "push")
    assert read_registry(backend)[NAME].aliases == {"production": f"v{writers.index(loser)}"}


def test_a_format_1_remote_is_read_and_upgraded_by_push(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = (tmp_path / "remote").as_uri()
    team = Team(
        cli, type("R", (), {"url": url, "storage_options": {}, "stored_options": {}, "env": {}})(), tmp_path
    )
    team.found("a")
    backend = open_backend(url, {})
    backend.write(FORMAT_FILE, b'{"format": 1, "kind": "artctl-repository"}\n')
    team.join("b")  # a reader accepts format 1 and leaves it alone
    assert b'"format": 1' in backend.read(FORMAT_FILE)
    team.ok("b", "artifact", "update", f"{NAME}:v0", "--description", "edited")
    team.ok("b", "push")
    assert b'"format": 2' in backend.read(FORMAT_FILE)
    team.ok("a", "pull")
    assert team.ok("a", "artifact", "show", f"{NAME}:v0", "--json").json()["description"] == "edited"


def test_put_on_the_remote_first_gives_a_final_number(cli, remote_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`put --remote` (and `core.publish = remote`) commit on the remote first: the number the
    put reports is the remote's, and no later push or pull changes it."""
    team = Team(cli, remote_url, tmp_path)
    team.found("a")
    team.join("b")
    made = team.ok("b", "artifact", "put", str(make_tree(tmp_path / "b1", {"f.txt": "b1\n"})),
                   "--name", NAME, "--remote", "origin", "--json").json()  # fmt: skip
    assert made["version"] == "v1"
    mine = team.put("a", "a-local")["digest"]  # A's own v1, never pushed
    team.ok("a", "config", "core.publish", "remote")
    published = team.put("a", "a-remote")
    assert published["version"] == "v2"  # the remote's next number, not A's next local one
    backend = open_backend(remote_url.url, remote_url.storage_options)
    remote = read_registry(backend)[NAME]
    assert {i: r.manifest for i, r in remote.versions.items()} == {
        0: team.versions("b")["v0"]["digest"],
        1: made["digest"],
        2: published["digest"],
    }
    assert team.versions("a")["v3"]["digest"] == mine  # made room for the remote's v1 and v2
    pushed = team.ok("a", "push", "--json").json()
    assert pushed["renumbered"] == [] and pushed["versions"] == [f"{NAME}:v3"]
    team.ok("b", "pull")
    assert {v: r["digest"] for v, r in team.versions("b").items()} == {
        v: r["digest"] for v, r in team.versions("a").items()
    }


def test_a_version_deleted_before_its_first_push_renumbers_nothing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """On an empty remote, the push of v1 after v0 was deleted unpushed used to renumber v0 to
    v2 with "the remote already had v0" (false: the remote was empty)."""
    url = (tmp_path / "remote").as_uri()
    team = Team(
        cli, type("R", (), {"url": url, "storage_options": {}, "stored_options": {}, "env": {}})(), tmp_path
    )
    new_repo(tmp_path / "a", team.remote)
    team.dirs["a"] = tmp_path / "a"
    team.put("a", "c0")
    kept = team.put("a", "c1")["digest"]
    team.ok("a", "artifact", "rm", f"{NAME}:v0")
    pushed = team.ok("a", "push")
    assert "renumbered" not in pushed.stderr and "already had" not in pushed.stderr, pushed
    assert {v: (r["state"], r["digest"]) for v, r in team.versions("a").items()}["v1"] == ("committed", kept)
    assert team.versions("a")["v0"]["state"] == "deleted"
    remote = read_registry(open_backend(url, {}))[NAME]
    assert {i: r.manifest for i, r in remote.versions.items()} == {1: kept}  # v0 was never sent


def test_log_artifact_with_remote_takes_the_remotes_number(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`run.log_artifact(…, remote=)`: the Python side of `put --remote`."""
    import artctl

    url = (tmp_path / "remote").as_uri()
    team = Team(
        cli, type("R", (), {"url": url, "storage_options": {}, "stored_options": {}, "env": {}})(), tmp_path
    )
    team.found("a")
    team.join("b")
    team.put("b", "b-local")  # B's own v1, never pushed
    team.put("a", "a1")
    team.ok("a", "push")  # the remote's v1 is A's
    with artctl.init(project="proj", job_type="train", dir=team.dirs["b"]) as run:
        art = artctl.Artifact("m", type="model")
        art.add_file(str(make_tree(tmp_path / "w", {"w.bin": "weights\n"}) / "w.bin"))
        run.log_artifact(art, aliases=["candidate"], remote="origin")
    assert art.version == "v2"  # the remote's next number, final at once
    remote = read_registry(open_backend(url, {}))[NAME]
    assert remote.versions[2].manifest == art.digest and remote.aliases["candidate"] == "v2"
    assert team.versions("b")["v3"]["state"] == "committed"  # B's local-only v1 made room


def test_an_edit_that_loses_its_compare_and_swap_is_refused_not_overwritten(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The edit CAS re-reads after losing: a field someone else changed since the push decided
    is a conflict (refused), unless forced; a field nobody else touched goes through."""
    from artctl.ops.remote.publish import publish_edit
    from artctl.ops.remote.threeway import SyncConflict

    url = (tmp_path / "remote").as_uri()
    team = Team(
        cli, type("R", (), {"url": url, "storage_options": {}, "stored_options": {}, "env": {}})(), tmp_path
    )
    team.found("a")
    backend = open_backend(url, {})
    stale = read_registry(backend)[NAME]  # what a slower pusher read before A's edit landed
    team.ok("a", "artifact", "update", f"{NAME}:v0", "--description", "from a")
    team.ok("a", "push")
    record, seq = stale.versions[0], stale.edit_seqs.get(0, -1)
    with pytest.raises(SyncConflict, match="v0 description"):
        publish_edit(backend, record, {"description": "mine"}, {"description": None}, seq)
    assert publish_edit(backend, record, {"tags": ["ok"]}, {"tags": []}, seq)  # untouched field
    folded = read_registry(backend)[NAME].versions[0]
    assert (folded.description, folded.tags) == ("from a", ["ok"])
    assert publish_edit(backend, record, {"description": "mine"}, {"description": None}, seq, force=True)
    assert read_registry(backend)[NAME].versions[0].description == "mine"
