"""Distributed versions in one repository: parallel upserts (real subprocesses), finish,
refusals, conflicts, and the W&B-style Python API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import cli_env, make_tree

UPSERT = ("artifact", "upsert")
FINISH = ("artifact", "finish")


def ids(name: str = "proj/ds", kind: str = "dataset", did: str = "job-1") -> list[str]:
    return ["--name", name, "--type", kind, "--distributed-id", did]


def test_six_parallel_upserts_then_finish_make_one_version_with_every_part(cli, repo_dir: Path) -> None:
    shards = [
        make_tree(repo_dir / f"s{i}", {f"shard{i}/rows.csv": f"{i},{i * i}\n", "shared/LICENSE": "MIT\n"})
        for i in range(6)
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "artctl", *UPSERT, str(s), *ids(), "--json"],
            cwd=repo_dir,
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for s in shards
    ]
    parts = set()
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        parts.add(__import__("json").loads(out)["part"])
    assert len(parts) == 6
    # before finish the version does not exist for readers
    assert cli.ok("artifact", "ls", "--json").json() == []
    cli.fails("artifact", "get", "proj/ds:latest")
    done = cli.ok(*FINISH, *ids(), "--alias", "full", "--json").json()
    assert (done["version"], done["files"], done["created"]) == ("v0", 7, True)
    assert "full" in done["aliases"]
    out = Path(cli.ok("artifact", "get", "proj/ds:full", "--root", "out").stdout.strip())
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "shard0/rows.csv",
        "shard1/rows.csv",
        "shard2/rows.csv",
        "shard3/rows.csv",
        "shard4/rows.csv",
        "shard5/rows.csv",
        "shared/LICENSE",
    ]
    assert (out / "shard4/rows.csv").read_text() == "4,16\n"
    # after finish: upsert and a second finish with that id are refused; nothing changes
    refused = cli.fails(*UPSERT, str(shards[0]), *ids())
    assert "already finished as v0" in refused.stderr
    cli.fails(*FINISH, *ids())
    assert [v["version"] for v in cli.ok("artifact", "ls", "proj/ds", "--json").json()] == ["v0"]
    cli.ok("artifact", "verify")


def test_finish_of_unknown_id_is_an_error(cli, repo_dir: Path) -> None:
    result = cli.fails(*FINISH, *ids(did="never-upserted"))
    assert "no distributed version 'never-upserted'" in result.stderr
    assert "hint: add parts first" in result.stderr
    assert cli.ok("artifact", "ls", "--json").json() == []


def test_same_path_with_different_content_is_a_conflict_at_finish(cli, repo_dir: Path) -> None:
    a = make_tree(repo_dir / "a", {"data/x.txt": "from writer a\n"})
    b = make_tree(repo_dir / "b", {"data/x.txt": "from writer b\n"})
    same = make_tree(repo_dir / "c", {"data/x.txt": "from writer a\n", "data/y.txt": "y\n"})
    cli.ok(*UPSERT, str(a), *ids())
    cli.ok(*UPSERT, str(same), *ids())  # identical content at one path is fine
    cli.ok(*UPSERT, str(b), *ids())
    result = cli.fails(*FINISH, *ids())
    assert "'data/x.txt' was added with different content by two writers" in result.stderr
    assert cli.ok("artifact", "ls", "--json").json() == []
    # the id is not sealed by a failed finish: writers can still be fixed… but a new id is clean
    cli.ok(*UPSERT, str(a), *ids(did="job-2"))
    cli.ok(*FINISH, str(same), *ids(did="job-2"))  # finish PATH adds one more part
    assert cli.ok("artifact", "show", "proj/ds:latest", "--json").json()["files"] == 2


def test_bad_ids_and_types_are_refused(cli, repo_dir: Path) -> None:
    data = make_tree(repo_dir / "d", {"f.txt": "x\n"})
    cli.fails(*UPSERT, str(data), *ids(did="../escape"), code=2)
    cli.ok("artifact", "put", str(data), "--name", "proj/model", "--type", "model")
    conflict = cli.fails(*UPSERT, str(data), *ids(name="proj/model", kind="dataset"))
    assert "already exists with type 'model'" in conflict.stderr
    cli.fails(*UPSERT, str(repo_dir / "missing"), *ids(), code=2)
    cli.fails(*UPSERT, str(data), *ids(), "--remote", "nowhere")


def test_python_api_upsert_and_finish_artifact(repo_dir: Path) -> None:
    import artctl
    from artctl.errors import Conflict

    for i in range(3):
        make_tree(repo_dir / f"w{i}", {f"part-{i}.txt": f"part {i}\n"})
    for i in range(3):
        with artctl.init(project="proj", job_type="shard", dir=repo_dir) as run:
            art = artctl.Artifact("ds", type="dataset")
            art.add_dir(repo_dir / f"w{i}")
            run.upsert_artifact(art, distributed_id="api-1")
    assert artctl.Api(dir=repo_dir).artifact_exists("proj/ds:latest") is False
    with artctl.init(project="proj", job_type="merge", dir=repo_dir) as run:
        final = artctl.Artifact("ds", type="dataset", metadata={"shards": 3})
        final.add_file(make_tree(repo_dir / "m", {"MANIFEST.txt": "3 shards\n"}) / "MANIFEST.txt")
        run.finish_artifact(final, distributed_id="api-1", aliases=["merged"])
        assert final.version == "v0" and final.file_count == 4
        assert [link.ref for link in run.record.outputs] == ["proj/ds:v0"]
    art = artctl.Api(dir=repo_dir).artifact("proj/ds:merged")
    assert art.metadata == {"shards": 3}
    assert sorted(f.path for f in art.files()) == ["MANIFEST.txt", "part-0.txt", "part-1.txt", "part-2.txt"]
    with artctl.init(project="proj", job_type="late", dir=repo_dir) as run:
        late = artctl.Artifact("ds", type="dataset")
        late.add_dir(repo_dir / "w0")
        with pytest.raises(Conflict, match="already finished"):
            run.upsert_artifact(late, distributed_id="api-1")


def test_upsert_is_refused_while_a_finish_is_sealing(repo) -> None:  # type: ignore[no-untyped-def]
    from artctl.base.fsutil import create_exclusive
    from artctl.errors import Conflict
    from artctl.format.names import parse_name
    from artctl.ops.distributed.parts import base_rel
    from artctl.ops.distributed.upsert import upsert

    data = make_tree(repo.root.parent / "d", {"f.txt": "x\n"})
    upsert(repo, data, name="proj/ds", type="dataset", distributed_id="s1")
    create_exclusive(repo.root / base_rel(parse_name("proj/ds"), "s1") / "sealed", b"{}")
    with pytest.raises(Conflict, match="is being finished"):
        upsert(repo, data, name="proj/ds", type="dataset", distributed_id="s1")
    # a crashed finisher (sealed, never finished) is resumed by running finish again
    from artctl.ops.distributed.finish import finish

    assert finish(repo, name="proj/ds", type="dataset", distributed_id="s1").record.version == "v0"


def test_upserts_racing_a_finish_are_never_silently_dropped(cli, repo_dir: Path) -> None:
    """Writers keep upserting while finish runs: every upsert that reports success is in the
    version; every other one fails with a clear error (real subprocesses, real race)."""
    import json
    import time

    cli.ok(*UPSERT, str(make_tree(repo_dir / "first", {"first.txt": "0\n"})), *ids(did="race"))
    env = cli_env()
    writers = []
    for i in range(8):
        data = make_tree(repo_dir / f"w{i}", {f"w{i}.txt": f"{i}\n"})
        writers.append(
            subprocess.Popen(
                [sys.executable, "-m", "artctl", *UPSERT, str(data), *ids(did="race")],
                cwd=repo_dir,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
        if i == 3:
            time.sleep(0.3)
            finisher = subprocess.Popen(
                [sys.executable, "-m", "artctl", *FINISH, *ids(did="race"), "--json"],
                cwd=repo_dir,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
    out, err = finisher.communicate(timeout=180)
    assert finisher.returncode == 0, err
    version = json.loads(out)["version"]
    files = {e["path"] for e in cli.ok("artifact", "show", f"proj/ds:{version}", "--json").json()["entries"]}
    assert "first.txt" in files
    for i, proc in enumerate(writers):
        _out, err = proc.communicate(timeout=180)
        if proc.returncode == 0:
            assert f"w{i}.txt" in files, f"writer {i} succeeded but its part is missing"
        else:
            assert proc.returncode == 1 and "refused" in err and "Traceback" not in err, err
            assert f"w{i}.txt" not in files


@pytest.mark.parametrize("included", [True, False])
def test_an_upsert_that_saw_the_seal_waits_for_the_outcome(repo, included: bool) -> None:  # type: ignore[no-untyped-def]
    """The protocol's ambiguous case: the part was written, then the seal was seen."""
    import json
    import threading

    from artctl.errors import Conflict
    from artctl.format.names import parse_name
    from artctl.ops.distributed.parts import Area, base_rel
    from artctl.ops.distributed.upsert import _confirm_included

    name = parse_name("proj/ds")
    area = Area(repo, None)
    base = base_rel(name, "amb")
    area.backend.create(f"{base}/parts/p1.jsonl", b"x")
    area.backend.create(f"{base}/sealed", b"{}")
    doc = {"version": "v0", "parts": ["p1"] if included else ["other"]}
    timer = threading.Timer(
        0.3, lambda: area.backend.create(f"{base}/finished.json", json.dumps(doc).encode())
    )
    timer.start()
    try:
        if included:
            _confirm_included(area, base, name, "amb", "p1")
            assert area.backend.exists(f"{base}/parts/p1.jsonl")
        else:
            with pytest.raises(Conflict, match="finished without this part"):
                _confirm_included(area, base, name, "amb", "p1")
            assert not area.backend.exists(f"{base}/parts/p1.jsonl")
    finally:
        timer.join()


def test_a_remote_finish_refuses_metadata_that_is_not_plain_json(repo_dir: Path, tmp_path: Path) -> None:
    """The local finish checked metadata before committing; the remote one wrote it into the
    remote's version record (NaN is not JSON: every reader would then skip that record)."""
    import artctl
    from artctl.errors import InvalidInput
    from artctl.ops.remote.config import add_remote

    remote = tmp_path / "remote"
    remote.mkdir()
    with artctl.Repo(repo_dir) as repo:
        add_remote(repo.repository, "origin", remote.as_uri(), default=True)
    make_tree(repo_dir / "w", {"part.txt": "part\n"})
    with artctl.init(project="proj", job_type="shard", dir=repo_dir) as run:
        art = artctl.Artifact("ds", type="dataset")
        art.add_dir(repo_dir / "w")
        run.upsert_artifact(art, distributed_id="nan-1", remote="origin")
    with artctl.init(project="proj", job_type="merge", dir=repo_dir) as run:
        final = artctl.Artifact("ds", type="dataset")
        final.metadata["loss"] = float("nan")
        with pytest.raises(InvalidInput):
            run.finish_artifact(final, distributed_id="nan-1", remote="origin")
    assert not [p for p in remote.rglob("*") if p.is_file() and "/versions/" in p.as_posix()]
