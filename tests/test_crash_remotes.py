"""push and pull killed at every step of their write order lose nothing (issue 14, item 1).

Two clones of one remote: B pushed versions whose numbers collide with versions clone A made
and has not pushed (with custom aliases, and a run that used and logged them). A's ``pull``
or ``push`` then renumbers A's versions above B's. The process is killed (SIGKILL, or SIGTERM /
Ctrl-C) at each named crash point it passes — every occurrence, found with ``crash_trace`` —
and after each kill: ``artifact verify`` passes, every version A had committed is still listed
and byte-identical, every custom alias still resolves to the same content, run links name the
versions that hold their content, and the re-run of the command succeeds, leaves the merged
state and no debris (no journal, no temporary file).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_remotes_contract import new_repo, same_tree

from artctl.api.repo import clone  # ops.remote.clone declares the clone.*/pull.* crash points
from artctl.backend import open_backend
from artctl.base.crashpoints import POINTS
from artctl.ops.lifecycle import delete_version
from artctl.ops.remote.protocol import read_registry
from artctl.ops.remote.push import push  # declares the push.* crash points

from conftest import crash_trace, make_tree, run_cli, run_killed_at
from servers import GCSFS_ENV, Remote, make_s3_bucket

BIG = 1_300_000  # > 1 MiB: stored as a loose object (the small files go into packs)


def _blob(tag: str) -> bytes:
    return (tag.encode() * BIG)[:BIG]


TREES: dict[str, dict[str, bytes | str]] = {
    "base": {"a.txt": "base\n"},
    "old": {"a.txt": "old\n"},
    "y": {"a.txt": "y from clone b\n"},  # B's v2
    "w": {"a.txt": "w from clone b\n", "w.bin": _blob("w")},  # B's v3
    "extra": {"e.txt": "another artifact of b\n"},
    "x": {"a.txt": "x from clone a\n", "x.bin": _blob("x")},  # A's v2, alias "mine"
    "z": {"a.txt": "z from clone a\n", "sub/z.txt": "zz\n"},  # A's v3, alias "zed"
}
# A holds the bytes of B's versions too (another artifact of its own), so that `artifact verify`
# of A finds every object of every live version at each kill, before `pull --all` fetched them.
TREES["scratch"] = {
    "y/a.txt": TREES["y"]["a.txt"],
    "w/a.txt": TREES["w"]["a.txt"],
    "w/w.bin": TREES["w"]["w.bin"],
    "e.txt": TREES["extra"]["e.txt"],
}


@dataclass
class Scene:
    """Clone A's working directory and what it had committed before the command."""

    base: Path
    remote: Remote
    a: Path
    run_id: str
    committed: dict[str, tuple[str, str]]  # "name:vN" before -> (manifest digest, tree)
    aliases: dict[str, str]  # custom alias of proj/ds -> manifest digest
    theirs: set[str]  # manifests of B's versions of proj/ds

    def cli(self, *args: str, env: dict[str, str] | None = None, subprocess: bool = False):  # type: ignore[no-untyped-def]
        return run_cli(*args, cwd=self.a, env={**self.remote.env, **(env or {})}, subprocess=subprocess)

    def tree(self, key: str) -> Path:
        return self.base / "trees" / key


def build(base: Path, remote: Remote) -> Scene:
    """The collision: B pushed proj/ds v2, v3 (+ proj/extra); A made its own v2, v3 unpushed."""
    for key, files in TREES.items():
        make_tree(base / "trees" / key, files)
    tree = lambda key: base / "trees" / key  # noqa: E731
    seed = new_repo(base / "seed", remote)
    seed.put(tree("base"), name="proj/ds", type="dataset", aliases=["best"])
    seed.put(tree("old"), name="proj/ds", type="dataset")
    push(seed)
    a, _ = clone(remote.url, base / "a", options=remote.stored_options)
    b, _ = clone(remote.url, base / "b", options=remote.stored_options)
    theirs = {
        b.put(tree("y"), name="proj/ds", type="dataset").record.manifest,
        b.put(tree("w"), name="proj/ds", type="dataset", aliases=["prod"]).record.manifest,
    }
    b.put(tree("extra"), name="proj/extra", type="dataset")
    push(b)
    delete_version(a, "proj/ds:v1")  # a deletion for push to publish (a tombstone)
    a.update("proj/ds:v0", description="edited in a")  # an edit for push to publish (a snapshot)
    run = a.repository.runs.create("train", command=["train.py"])
    a.get("proj/ds:best", root=base / "used", run_id=run.id)
    x = a.put(tree("x"), name="proj/ds", type="dataset", aliases=["mine"], run_id=run.id).record
    z = a.put(tree("z"), name="proj/ds", type="dataset", aliases=["zed"], run_id=run.id).record
    assert (x.version, z.version) == ("v2", "v3")  # the numbers B took on the remote
    committed = {
        "proj/ds:v0": (a.resolve("proj/ds:v0").manifest, "base"),
        "proj/ds:v2": (x.manifest, "x"),
        "proj/ds:v3": (z.manifest, "z"),
    }
    scratch = a.put(tree("scratch"), name="proj/scratch", type="dataset").record
    committed["proj/scratch:v0"] = (scratch.manifest, "scratch")
    return Scene(
        base,
        remote,
        a.repository.work_dir,
        run.id,
        committed,
        {"best": committed["proj/ds:v0"][0], "mine": x.manifest, "zed": z.manifest},
        theirs,
    )


def file_scene(base: Path) -> Scene:
    """The scene with a file:// remote under ``base``."""
    (base / "remote").mkdir(parents=True)
    return build(base, Remote((base / "remote").as_uri(), {}, dict(GCSFS_ENV)))


def listing(scene: Scene, name: str) -> list[dict]:  # type: ignore[type-arg]
    result = scene.cli("artifact", "ls", name, "--json")
    assert result.returncode == 0, result
    return result.json()


def assert_intact(scene: Scene, *, get: bool = True, verify: bool = True) -> dict[str, dict]:  # type: ignore[type-arg]
    """Nothing A committed is lost or repointed; return proj/ds's live versions by digest."""
    if verify:
        result = scene.cli("artifact", "verify", "--json")
        assert result.returncode == 0, result
    by_name: dict[str, dict[str, dict]] = {}  # type: ignore[type-arg]
    for name in sorted({ref.split(":")[0] for ref in scene.committed}):
        by_name[name] = {v["digest"]: v for v in listing(scene, name)}
    for ref, (digest, key) in scene.committed.items():
        name = ref.split(":")[0]
        assert digest in by_name[name], f"{ref} ({key}) vanished: {sorted(by_name[name])}"
        if get:
            out = scene.base / "out" / f"{key}-{os.urandom(4).hex()}"
            version = by_name[name][digest]["version"]
            assert scene.cli("artifact", "get", f"{name}:{version}", "--root", str(out)).returncode == 0
            same_tree(out, scene.tree(key))
    ds = by_name["proj/ds"]
    for alias, digest in scene.aliases.items():
        holders = [v["digest"] for v in ds.values() if alias in v["aliases"]]
        assert holders == [digest], f"alias {alias} now on {holders}, was on {digest}"
    runs = scene.cli("run", "ls", "--json")
    assert runs.returncode == 0, runs
    (run,) = [r for r in runs.json() if r["id"] == scene.run_id]
    versions = {v["version"]: v["digest"] for v in ds.values()}
    links = [*run["inputs"], *run["outputs"]]
    assert len(links) == 3
    for link in links:
        assert versions.get(link["version"]) == link["digest"], f"run link {link} names another version"
    return ds


def assert_merged(scene: Scene) -> None:
    """After the re-run: A's versions above B's, B's versions here, no debris anywhere."""
    ds = assert_intact(scene, get=False)
    number = lambda digest: int(ds[digest]["version"][1:])  # noqa: E731
    assert scene.theirs <= set(ds), "B's versions are missing after the re-run"
    mine = [scene.committed["proj/ds:v2"][0], scene.committed["proj/ds:v3"][0]]
    assert min(number(d) for d in mine) > max(number(d) for d in scene.theirs)
    assert number(mine[0]) < number(mine[1])  # renumbered in their order
    root = scene.a / ".artifacts"
    assert (root / "FORMAT").is_file()
    assert list((root / "journal").glob("*")) == []
    assert [p for p in (root / "tmp").rglob("*") if p.is_file()] == []
    if scene.remote.protocol == "file":
        remote_root = Path(scene.remote.url[len("file://") :])
        assert [p for p in remote_root.rglob("*") if p.name.startswith(".")] == []


COMMANDS = {"push": ("push",), "pull": ("pull", "--all")}


def points_of(command: str, trace: list[str]) -> list[str]:
    """Every occurrence of every crash point in ``trace`` as ``NAME@N``."""
    seen: Counter[str] = Counter()
    out = []
    for name in trace:
        seen[name] += 1
        out.append(f"{name}@{seen[name]}")
    return out


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """The crash points push and pull pass in the scene, in order (on file://)."""
    out = {}
    for command, args in COMMANDS.items():
        base = tmp_path_factory.mktemp(f"trace-{command}")
        scene = file_scene(base)
        out[command] = crash_trace(*args, cwd=scene.a, trace=base / "trace.txt")
    return out


def test_the_scene_passes_every_declared_push_and_pull_point(traces):  # type: ignore[no-untyped-def]
    """The matrix below kills at every push.*/pull.* point there is: none is dead code."""
    reached = set(traces["push"]) | set(traces["pull"])
    declared = {p for p in POINTS if p.startswith(("push.", "pull."))}
    assert reached == declared
    assert all(p.startswith("push.") for p in traces["push"])
    assert all(p.startswith("pull.") for p in traces["pull"])
    assert traces["pull"].count("pull.version-written") >= 4  # A's two moved, B's two taken
    assert "pull.run-linked" in traces["pull"] and "push.run-linked" in traces["push"]


EXPECTED = {
    "push": [
        "push.objects-sent@1",
        "push.manifests-sent@1",
        "push.version-created@1",
        "push.version-created@2",
        "push.deletion-published@1",
        "push.edit-published@1",
        "push.aliases-sent@1",
        "push.version-created@3",
        "push.manifests-fetched@1",
        "push.after-journal@1",
        "push.version-written@1",
        "push.version-written@2",
        "push.version-written@3",
        "push.version-written@4",
        "push.version-written@5",
        "push.version-written@6",
        "push.version-written@7",
        "push.version-written@8",
        "push.aliases-written@1",
        "push.run-linked@1",
        "push.merged@1",
        "push.runs-sent@1",
    ],
    "pull": [
        "pull.manifests-written@1",
        "pull.after-journal@1",
        "pull.version-written@1",
        "pull.version-written@2",
        "pull.version-written@3",
        "pull.version-written@4",
        "pull.version-written@5",
        "pull.version-written@6",
        "pull.version-written@7",
        "pull.version-written@8",
        "pull.aliases-written@1",
        "pull.run-linked@1",
        "pull.merged@1",
        "pull.after-journal@2",
        "pull.version-written@9",
        "pull.merged@2",
        "pull.runs-written@1",
        "pull.object-fetched@1",
    ],
}
"""Every crash point push and pull pass in the scene, each occurrence (``@N``), in order."""


def _matrix() -> list[tuple[str, str]]:
    """(command, NAME@N) for every occurrence; `test_the_matrix_is_the_trace` checks it against
    the real trace (a trace at collection time would need a scene built for every collection)."""
    return [(c, p) for c, points in EXPECTED.items() for p in points]


def test_the_matrix_is_the_trace(traces):  # type: ignore[no-untyped-def]
    """The parametrised kills below are exactly the points push and pull pass, in order."""
    assert {c: points_of(c, t) for c, t in traces.items()} == EXPECTED


def kill_and_check(scene: Scene, command: str, point: str) -> None:
    args = COMMANDS[command]
    run_killed_at(point, *args, cwd=scene.a, env=scene.remote.env)
    assert_intact(scene)
    rerun = scene.cli(*args)
    assert rerun.returncode == 0, rerun
    assert_merged(scene)
    if command == "push":  # A's work reached the remote beside B's
        remote = read_registry(open_backend(scene.remote.url, scene.remote.storage_options))["proj/ds"]
        live = {r.manifest for r in remote.versions.values() if not r.deleted}
        assert {scene.committed["proj/ds:v2"][0], scene.committed["proj/ds:v3"][0]} | scene.theirs <= live


@pytest.mark.parametrize(("command", "point"), _matrix(), ids=[p for _c, p in _matrix()])
def test_killed_at_every_point_on_file(command, point, tmp_path):  # type: ignore[no-untyped-def]
    scene = file_scene(tmp_path)
    kill_and_check(scene, command, point)


@pytest.mark.parametrize(("command", "point"), _matrix(), ids=[p for _c, p in _matrix()])
def test_killed_at_every_point_on_s3(command, point, s3_server, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):  # the clones keep env:VAR (stored_options)
        monkeypatch.setenv(var, s3_server.env[var])
    remote = Remote(
        f"s3://{make_s3_bucket(s3_server)}",
        json.loads(json.dumps(s3_server.storage_options)),
        dict(s3_server.env),
    )
    kill_and_check(build(tmp_path, remote), command, point)


@pytest.mark.parametrize("sig", ["TERM", "INT"])
@pytest.mark.parametrize("point", ["pull.version-written@2", "pull.run-linked@1"])
def test_sigterm_and_ctrl_c_mid_merge_leave_no_half_merge(sig, point, tmp_path):  # type: ignore[no-untyped-def]
    """A CI timeout (SIGTERM) or Ctrl-C unwinds the merge with one line and exit 130; the
    merge is then finished by the next reader, never left half done."""
    scene = file_scene(tmp_path)
    result = scene.cli(
        *COMMANDS["pull"], env={"ARTCTL_CRASH_AT": point, "ARTCTL_CRASH_SIGNAL": sig}, subprocess=True
    )
    assert result.returncode == 130, result
    assert result.stderr.startswith("error: interrupted"), result
    assert "Traceback" not in result.stderr
    assert_intact(scene)
    assert scene.cli(*COMMANDS["pull"]).returncode == 0
    assert_merged(scene)


def test_kill_between_two_version_writes_keeps_every_local_version(tmp_path):  # type: ignore[no-untyped-def]
    """The reported loss, step by step: killed after the merge rewrote some version records,
    the pull used to leave A's v2 overwritten by B's v2 — gone from `ls`, not restored by the
    re-run, its alias `mine` resolving to B's content — and the next gc deleted its bytes."""
    scene = file_scene(tmp_path)
    run_killed_at("pull.version-written@3", "pull", cwd=scene.a)
    assert scene.cli("config", "gc.grace_period", "0").returncode == 0
    gc = scene.cli("gc", "--json")
    assert gc.returncode == 0, gc
    assert_intact(scene)  # every byte still there: get compares them
    assert scene.cli("pull").returncode == 0
    assert_merged(scene)


READERS = {
    "run-show": ("run", "show", "{run}", "--json"),
    "alias-ls": ("alias", "ls", "proj/ds", "--json"),
    "artifact-ls": ("artifact", "ls", "--json"),
    "lineage": ("lineage", "proj/ds:mine", "--format", "json"),
    "alias-add": ("alias", "add", "proj/ds:zed", "also-zed"),
}


@pytest.mark.parametrize("command", list(READERS))
def test_any_command_finishes_an_interrupted_merge_first(command, tmp_path):  # type: ignore[no-untyped-def]
    """Killed right after the journal was written: the next command of any kind that reads the
    artifact, its runs or the artifact list (or changes it) applies the journal first, so it
    already sees the merged state — run links included."""
    scene = file_scene(tmp_path)
    run_killed_at("pull.after-journal", "pull", cwd=scene.a)
    journal_dir = scene.a / ".artifacts" / "journal"
    assert len(list(journal_dir.glob("*.json"))) == 1
    result = scene.cli(*(a.format(run=scene.run_id) for a in READERS[command]))
    assert result.returncode == 0, result
    assert list(journal_dir.glob("*.json")) == []
    if command == "run-show":
        outputs = {link["digest"]: link["version"] for link in result.json()["outputs"]}
        assert outputs == {scene.committed["proj/ds:v2"][0]: "v4", scene.committed["proj/ds:v3"][0]: "v5"}
    if command == "alias-ls":
        table = {a["alias"]: a["version"] for a in result.json()}
        assert table.items() >= {"mine": "v4", "zed": "v5", "prod": "v3"}.items()
    assert_merged(scene)


def test_every_push_and_pull_point_is_documented() -> None:
    """docs/robustness.md lists every push/pull crash point with what a kill there leaves."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "robustness.md").read_text()
    rows = {line.split("`")[1] for line in text.splitlines() if line.startswith("| `")}
    declared = {p for p in POINTS if p.startswith(("push.", "pull."))}
    assert declared <= rows


def test_a_damaged_journal_is_one_clear_error_and_deleting_it_keeps_the_old_state(tmp_path):  # type: ignore[no-untyped-def]
    """A journal is written atomically, so only a hand edit can damage one: every command then
    names the file (no traceback, nothing changed); without it the registry is as before the
    pull, and pulling again merges again."""
    scene = file_scene(tmp_path)
    run_killed_at("pull.after-journal", "pull", cwd=scene.a)
    (path,) = (scene.a / ".artifacts" / "journal").glob("*.json")
    path.write_text('{"format": 1, "kind": "artctl-registry-journal", "name": "proj/ds"}')
    for args in (("artifact", "ls", "proj/ds"), ("run", "ls"), ("pull",)):
        failed = scene.cli(*args)
        assert failed.returncode == 1 and failed.stderr.startswith(f"error: {path} is not a valid"), failed
        assert "Traceback" not in failed.stderr and "hint: " in failed.stderr
    path.unlink()
    assert_intact(scene)
    assert scene.cli("pull").returncode == 0
    assert_merged(scene)
