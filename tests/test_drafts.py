"""Drafts (incremental versions): CLI across processes, Python new_draft, bad input, and the
10,000-file draft that re-reads only the file it changes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT, cli_env, make_tree


@pytest.fixture
def base(cli, repo_dir: Path) -> Path:
    make_tree(
        repo_dir / "src",
        {"a.txt": "a", "b.txt": "b", "img/1.png": "one", "img/2.png": "two", "img/deep/3.png": "three"},
    )
    cli.ok(
        "artifact",
        "put",
        "src",
        "--name",
        "p/ds",
        "--type",
        "dataset",
        "--alias",
        "best",
        "--description",
        "base",
        "--metadata",
        '{"rows": 5}',
    )
    return repo_dir


def test_draft_cycle_from_the_cli(cli, base: Path) -> None:
    draft = cli.ok("draft", "new", "p/ds:best").stdout.strip()
    assert len(draft) == 12
    (base / "new.txt").write_text("new")
    (base / "b2.txt").write_text("b changed")
    assert cli.ok("draft", "add", draft, "new.txt", "--json").json() == {
        "id": draft,
        "added": ["new.txt"],
        "removed": [],
    }
    cli.ok("draft", "add", draft, "b2.txt", "--name", "b.txt")
    removed = cli.ok("draft", "rm", draft, "img/", "--json").json()
    assert removed["removed"] == ["img/1.png", "img/2.png", "img/deep/3.png"]
    listing = cli.ok("draft", "ls", "--json").json()
    assert [(d["id"], d["name"], d["base"], d["added"], d["removed"]) for d in listing] == [
        (draft, "p/ds", "v0", 2, 3)
    ]
    view = cli.ok("draft", "ls", draft, "--json").json()
    assert {f["path"]: f["status"] for f in view["files"]} == {
        "a.txt": "base",
        "b.txt": "changed",
        "new.txt": "added",
    }
    assert view["removed_paths"] == ["img/1.png", "img/2.png", "img/deep/3.png"]
    assert "changed" in cli.ok("draft", "ls", draft).stdout
    # Nothing is visible to readers before the commit.
    assert cli.ok("artifact", "show", "p/ds", "--json").json()["version"] == "v0"
    result = cli.ok("draft", "commit", draft, "--alias", "candidate", "--json").json()
    assert result["version"] == "v1" and result["created"] and result["files"] == 3
    assert result["aliases"] == ["latest", "v1", "candidate"]
    shown = cli.ok("artifact", "show", "p/ds:v1", "--json").json()
    assert shown["description"] == "base" and shown["metadata"] == {"rows": 5}
    diff = cli.ok("artifact", "diff", "p/ds:v0", "p/ds:v1", "--json").json()
    assert diff == {
        "added": ["new.txt"],
        "removed": ["img/1.png", "img/2.png", "img/deep/3.png"],
        "changed": ["b.txt"],
    }
    root = Path(cli.ok("artifact", "get", "p/ds:v1", "--root", "out").stdout.strip())
    assert (root / "b.txt").read_text() == "b changed" and not (root / "img").exists()
    assert cli.ok("draft", "ls", "--json").json() == []
    cli.ok("artifact", "verify")


def test_identical_draft_creates_nothing(cli, base: Path) -> None:
    draft = cli.ok("draft", "new", "p/ds").stdout.strip()
    cli.ok("draft", "add", draft, "src/a.txt")  # same bytes, same path
    result = cli.ok("draft", "commit", draft, "--json").json()
    assert result["version"] == "v0" and not result["created"]
    draft = cli.ok("draft", "new", "p/ds").stdout.strip()
    cli.ok("draft", "rm", draft, "a.txt")
    (base / "a.txt").write_text("a")
    cli.ok("draft", "add", draft, "a.txt")  # removed then re-added identically
    assert not cli.ok("draft", "commit", draft, "--json").json()["created"]
    assert len(cli.ok("artifact", "ls", "p/ds", "--all", "--json").json()) == 1


def test_draft_bad_input(cli, base: Path) -> None:
    before = cli.ok("artifact", "ls", "p/ds", "--all", "--json").json()
    assert "no open draft" in cli.fails("draft", "add", "0123456789ab", "src/a.txt").stderr
    assert "12 hex" in cli.fails("draft", "commit", "nope").stderr
    cli.fails("draft", "ls", "../../etc")
    cli.fails("draft", "new", "p/missing")
    cli.fails("draft", "new", "p/ds:v9")
    draft = cli.ok("draft", "new", "p/ds").stdout.strip()
    assert "not in draft" in cli.fails("draft", "rm", draft, "nothere.txt", code=2).stderr
    assert "not in draft" in cli.fails("draft", "rm", draft, "im", code=2).stderr  # a prefix is a directory
    cli.fails("draft", "rm", draft, "../a.txt")
    assert "no such file" in cli.fails("draft", "add", draft, "missing.txt", code=2).stderr
    cli.fails("draft", "add", draft, "src/a.txt", "--name", "../escape.txt")
    cli.fails("draft", "add", draft, "src/a.txt", "--name", "/abs.txt")
    collide = cli.fails("draft", "add", draft, "src/a.txt", "--name", "img")
    assert "both a file and a directory" in collide.stderr
    cli.ok("draft", "rm", draft, "a.txt")
    cli.ok("draft", "rm", draft, "b.txt")
    cli.ok("draft", "rm", draft, "img")
    assert "no files" in cli.fails("draft", "commit", draft, code=2).stderr
    cli.ok("draft", "discard", draft, "--json")
    assert "discarded" in cli.fails("draft", "commit", draft).stderr
    cli.fails("draft", "discard", draft)
    assert cli.ok("artifact", "ls", "p/ds", "--all", "--json").json() == before


def test_concurrent_adds_to_one_draft_lose_nothing(cli, base: Path) -> None:
    draft = cli.ok("draft", "new", "p/ds").stdout.strip()
    procs = []
    for i in range(6):
        make_tree(base / f"part{i}", {f"f{j}.txt": f"part {i} file {j}" for j in range(5)})
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "artctl", "draft", "add", draft, f"part{i}", "--name", f"parts/{i}"],
                cwd=base,
                env=cli_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    result = cli.ok("draft", "commit", draft, "--json").json()
    assert result["files"] == 5 + 30
    files = {e["path"] for e in cli.ok("artifact", "show", "p/ds:v1", "--json").json()["entries"]}
    assert {f"parts/{i}/f{j}.txt" for i in range(6) for j in range(5)} <= files


def test_python_new_draft(repo_dir: Path, cli, base: Path) -> None:
    import artctl

    api = artctl.Api(dir=base)
    saved = api.artifact("p/ds:latest")
    draft = saved.new_draft()
    assert not draft.is_saved and draft.name == "p/ds" and draft.type == "dataset"
    (base / "extra.txt").write_text("extra")
    (base / "more").mkdir()
    (base / "more" / "m.txt").write_text("m")
    draft.add_file(base / "extra.txt")
    draft.add_dir(base / "more", name="img/more")
    draft.remove("img/deep/")
    draft.remove("a.txt")
    draft.save()
    assert draft.version == "v1"
    assert sorted(e.path for e in draft.manifest()) == [
        "b.txt",
        "extra.txt",
        "img/1.png",
        "img/2.png",
        "img/more/m.txt",
    ]
    assert draft.description == "base" and draft.metadata == {"rows": 5}
    # remove() applies to what came before it, add_file() after a remove() re-adds.
    second = draft.new_draft()
    second.remove("img/")
    second.add_file(base / "extra.txt", name="img/1.png")
    with artctl.init(project="p", job_type="edit", dir=base) as run:
        logged = run.log_artifact(second, aliases=["edited"])
    assert logged.version == "v2" and "edited" in logged.aliases
    assert sorted(e.path for e in logged.manifest()) == ["b.txt", "extra.txt", "img/1.png"]
    assert logged.get_path("img/1.png").digest == draft.get_path("extra.txt").digest
    third = logged.new_draft()
    third.remove("zzz.txt")
    with pytest.raises(artctl.errors.InvalidInput, match="not in artifact"):
        third.save()
    with pytest.raises(artctl.errors.ArtctlError, match="immutable"):
        logged.add_file(base / "extra.txt")


def test_ten_thousand_file_draft_rereads_only_the_changed_file(cli, repo_dir: Path, repo) -> None:
    """The base's source files are gone and every file the process opens is recorded: a draft
    that changes one file of 10,000 reads that one file and no stored blob."""
    from artctl.ops.drafts import Drafts

    src = repo_dir / "big"
    for d in range(100):
        sub = src / f"d{d:02}"
        sub.mkdir(parents=True)
        for f in range(100):
            (sub / f"f{f:02}.txt").write_bytes(b"%d/%d\n" % (d, f))
    base = repo.put(src, name="p/many", type="dataset")
    assert base.record.files == 10_000
    shutil.rmtree(src)  # nothing of the base can be read from the working tree any more
    (repo_dir / "changed.txt").write_text("changed!")

    # Record every file this process opens while the draft is made and committed.
    import builtins
    import io

    opened: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def spy_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(file, (str, os.PathLike)):
            opened.append(os.path.abspath(os.fspath(file)))
        return real_open(file, *args, **kwargs)

    def spy_os_open(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(os.path.abspath(os.fspath(path)))
        return real_os_open(path, flags, *args, **kwargs)

    from artctl.ops import drafts as drafts_module  # drafts store files through ops.put's store_files

    ingested: list[int] = []
    real_store_files = drafts_module.store_files

    def spy_store_files(repository, files, progress=None):  # type: ignore[no-untyped-def]
        ingested.append(len(files))
        return real_store_files(repository, files, progress)

    try:
        builtins.open, io.open, os.open = spy_open, spy_open, spy_os_open
        drafts_module.store_files = spy_store_files  # type: ignore[assignment]
        drafts = Drafts(repo)
        draft = drafts.new("p/many")
        change = drafts.add(draft.id, repo_dir / "changed.txt", "d42/f07.txt")
        result = drafts.commit(draft.id)
    finally:
        builtins.open, io.open, os.open = real_open, real_open, real_os_open
        drafts_module.store_files = real_store_files  # type: ignore[assignment]
    assert change.added == ["d42/f07.txt"]
    assert ingested == [1]  # one file handed to ingest
    artifacts = str(repo_dir / ".artifacts")
    outside = {p for p in opened if not p.startswith(artifacts + os.sep) and not p.endswith("config.toml")}
    assert outside == {str(repo_dir / "changed.txt")}, outside
    stored = [
        p
        for p in opened
        if p.startswith((os.path.join(artifacts, "objects"), os.path.join(artifacts, "packs")))
        and not p.endswith(".idx")
        and not os.path.isdir(p)
    ]
    assert stored == [], stored  # no stored blob of the base was read either
    assert result.created and result.record.files == 10_000
    assert repo.diff("p/many:v0", "p/many:v1").changed == ["d42/f07.txt"]

    # The same from the CLI, in fresh processes, with the sources still gone.
    (repo_dir / "again.txt").write_text("again")
    draft_id = cli.ok("draft", "new", "p/many").stdout.strip()
    cli.ok("draft", "add", draft_id, "again.txt", "--name", "d00/f00.txt")
    cli.ok("draft", "rm", draft_id, "d99/")
    committed = cli.ok("draft", "commit", draft_id, "--json").json()
    assert committed["version"] == "v2" and committed["files"] == 9_900
    diff = cli.ok("artifact", "diff", "p/many:v1", "p/many:v2", "--json").json()
    assert diff["changed"] == ["d00/f00.txt"] and len(diff["removed"]) == 100
    out = Path(cli.ok("artifact", "get", "p/many:v2", "--path-prefix", "d4", "--root", "o").stdout.strip())
    assert (out / "d42" / "f07.txt").read_text() == "changed!"
    assert (out / "d41" / "f03.txt").read_text() == "41/3\n"


def test_drafts_directory_survives_and_lists_across_processes(cli, base: Path) -> None:
    first = cli.ok("draft", "new", "p/ds").stdout.strip()
    second = cli.ok("draft", "new", "p/ds:v0").stdout.strip()
    env = {"PYTHONPATH": str(REPO_ROOT)}
    code = (
        "from artctl.api.repo import Repo; from artctl.ops.drafts import Drafts; "
        "print(' '.join(d.id for d in Drafts(Repo()).list()))"
    )
    listed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=base,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert set(listed) == {first, second}
    cli.ok("draft", "discard", first)
    assert [d["id"] for d in cli.ok("draft", "ls", "--json").json()] == [second]


def test_draft_operations_match_a_model(tmp_path: Path) -> None:
    """Property: any sequence of add / rm on a draft commits exactly what a dict model predicts."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from artctl.api.repo import Repo
    from artctl.errors import InvalidInput
    from artctl.ops.drafts import Drafts

    repo, _ = Repo.init(tmp_path / "r")
    names = ["a.txt", "b.txt", "d/x.txt", "d/y.txt", "d/e/z.txt", "f/w.txt"]
    src = tmp_path / "base"
    make_tree(src, {"a.txt": "A", "d/x.txt": "X", "d/e/z.txt": "Z"})
    repo.put(src, name="p/prop", type="dataset")
    base = {"a.txt": "A", "d/x.txt": "X", "d/e/z.txt": "Z"}
    ops = st.lists(
        st.one_of(
            st.tuples(
                st.just("add"),
                st.sampled_from(names + ["d/e", "f"]),
                st.sampled_from(["A", "X", "new", "other"]),
            ),
            st.tuples(st.just("rm"), st.sampled_from(names + ["d", "d/", "d/e/", "f"]), st.just("")),
        ),
        max_size=8,
    )
    counter = iter(range(10**6))

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(ops)
    def check(sequence) -> None:  # type: ignore[no-untyped-def]
        drafts = Drafts(repo)
        draft = drafts.new("p/prop:v0")
        model = dict(base)
        for op, path, content in sequence:
            if op == "add":
                local = tmp_path / f"f{next(counter)}"
                local.write_text(content)
                blocked = any(p.startswith(path + "/") for p in model) or any(
                    path.startswith(p + "/") for p in model
                )
                if blocked:
                    with pytest.raises(InvalidInput):
                        drafts.add(draft.id, local, path)
                    continue
                drafts.add(draft.id, local, path)
                model[path] = content
            else:
                key = path.rstrip("/")
                gone = [p for p in model if p == key or p.startswith(key + "/")]
                if not gone:
                    with pytest.raises(InvalidInput):
                        drafts.remove(draft.id, path)
                    continue
                assert sorted(drafts.remove(draft.id, path).removed) == sorted(gone)
                for p in gone:
                    del model[p]
        if not model:
            with pytest.raises(InvalidInput):
                drafts.commit(draft.id)
            drafts.discard(draft.id)
            return
        result = drafts.commit(draft.id)
        manifest = repo.manifest(result.record)
        got = {e.path: repo.store.read_bytes(e.digest).decode() for e in manifest}
        assert got == model

    check()
