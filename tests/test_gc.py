"""Garbage collection: what it frees, what it keeps, dry runs, TTL, and gc beside writers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path

import pytest

from conftest import REPO_ROOT, make_tree

NO_GRACE = {"ARTCTL_GC_GRACE_PERIOD": "0"}


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under .artifacts (but lock files and the sqlite cache) with size and mtime."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if rel.startswith(("locks", "state.db")):
                continue
            st = path.stat()
            out[rel] = (st.st_size, st.st_mtime_ns)
    return out


def _two_versions(cli, workdir: Path) -> dict[str, bytes]:
    """v0 and v1 of p/ds sharing a small file and a large (loose) file."""
    shared_big = os.urandom(1024 * 1024 + 10)
    content = {
        "shared.txt": b"shared\n",
        "shared.bin": shared_big,
        "a_only.txt": os.urandom(200_000),
        "a_big.bin": os.urandom(1024 * 1024 + 20),
        "b_only.txt": os.urandom(50_000),
        "b_big.bin": os.urandom(1024 * 1024 + 30),
    }
    make_tree(workdir / "a", {k: content[k] for k in ("shared.txt", "shared.bin", "a_only.txt", "a_big.bin")})
    make_tree(workdir / "b", {k: content[k] for k in ("shared.txt", "shared.bin", "b_only.txt", "b_big.bin")})
    cli.ok("artifact", "put", "a", "--name", "p/ds", "--type", "dataset")
    cli.ok("artifact", "put", "b", "--name", "p/ds", "--type", "dataset")
    return content


def test_delete_then_gc_frees_only_that_versions_bytes(cli, repo_dir: Path, repo) -> None:
    from artctl.base.hashing import hash_bytes

    content = _two_versions(cli, repo_dir)
    digests = {k: hash_bytes(v) for k, v in content.items()}
    v0_manifest = repo.resolve("p/ds:v0").manifest
    cli.ok("artifact", "rm", "p/ds:v0")
    result = cli.ok("gc", "--json", env=NO_GRACE).json()
    assert result["purged"] == ["p/ds:v0"] and not result["dry_run"]
    assert result["manifests"] == 1 and result["objects"] == 1 and result["packs_repacked"] == 1
    store = repo.store
    store.refresh()
    assert not store.has(digests["a_only.txt"]) and not store.has(digests["a_big.bin"])
    for key in ("shared.txt", "shared.bin", "b_only.txt", "b_big.bin"):
        assert store.has(digests[key]), key
    assert result["bytes_freed"] >= len(content["a_only.txt"]) + len(content["a_big.bin"])
    assert not repo.repository.manifest_path(v0_manifest).exists()
    cli.ok("artifact", "verify")
    root = Path(cli.ok("artifact", "get", "p/ds:v1", "--root", "out").stdout.strip())
    for key in ("shared.txt", "shared.bin", "b_only.txt", "b_big.bin"):
        assert (root / key).read_bytes() == content[key]
    # The small record stays (lineage, numbering); show --all says what happened.
    shown = cli.ok("artifact", "show", "p/ds:v0", "--all", "--json").json()
    assert shown["state"] == "deleted" and "entries" not in shown
    assert repo.resolve("p/ds:v0", include_deleted=True).purged_at
    # A second gc finds nothing more.
    again = cli.ok("gc", "--json", env=NO_GRACE).json()
    assert again["purged"] == [] and again["bytes_freed"] == 0
    # Putting v0's content again re-stores what gc removed and makes a new version.
    put = cli.ok("artifact", "put", "a", "--name", "p/ds", "--type", "dataset", "--json").json()
    assert put["version"] == "v2" and put["created"]
    cli.ok("artifact", "verify")


def test_whole_pack_deleted_when_all_its_blobs_are_dead(cli, repo_dir: Path, repo) -> None:
    _two_versions(cli, repo_dir)
    cli.ok("artifact", "rm", "p/ds:v1")
    packs_before = set(repo.store.iter_packs())
    result = cli.ok("gc", "--json", env=NO_GRACE).json()
    assert result["packs_deleted"] == 1 and result["packs_repacked"] == 0
    assert len(set(repo.store.iter_packs())) == len(packs_before) - 1
    cli.ok("artifact", "verify")
    cli.ok("artifact", "get", "p/ds:v0", "--root", "out")


def test_dry_run_changes_nothing(cli, repo_dir: Path) -> None:
    _two_versions(cli, repo_dir)
    make_tree(repo_dir / "c", {"x.txt": "short-lived"})
    cli.ok("artifact", "put", "c", "--name", "p/tmp", "--type", "dataset", "--ttl", "1s")
    cli.ok("artifact", "rm", "p/ds:v0")
    time.sleep(1.1)
    root = repo_dir / ".artifacts"
    before = _snapshot(root)
    plan = cli.ok("gc", "--dry-run", "--json", env=NO_GRACE).json()
    assert plan["dry_run"] and plan["expired"] == ["p/tmp:v0"]
    assert set(plan["purged"]) == {"p/ds:v0", "p/tmp:v0"} and plan["bytes_freed"] > 0
    assert _snapshot(root) == before
    human = cli.ok("gc", "--dry-run", env=NO_GRACE)
    assert "would free" in human.stdout
    assert _snapshot(root) == before
    done = cli.ok("gc", "--json", env=NO_GRACE).json()
    assert done["bytes_freed"] == plan["bytes_freed"]


def test_grace_period_keeps_young_objects(cli, repo_dir: Path, repo) -> None:
    _two_versions(cli, repo_dir)
    cli.ok("artifact", "rm", "p/ds:v0")
    result = cli.ok("gc", "--json").json()  # default grace period: 1h
    assert result["bytes_freed"] == 0 and result["young_kept"] > 0
    assert result["purged"] == ["p/ds:v0"]
    cli.ok("config", "gc.grace_period", "0")
    later = cli.ok("gc", "--json").json()
    assert later["bytes_freed"] > 0 and later["purged"] == []
    assert "gc.grace_period" in cli.fails("config", "gc.grace_period", "3 hours", code=2).stderr
    config = repo_dir / ".artifacts" / "config.toml"  # a hand-edited file is still read safely
    config.write_text(config.read_text().replace("grace_period = 0", 'grace_period = "3 hours"'))
    bad = cli.fails("gc", code=2)
    assert "gc.grace_period" in bad.stderr
    assert "gc.grace_period" in cli.fails("artifact", "verify", code=2).stderr  # settings are read whole
    cli.ok("config", "gc.grace_period", "0")  # and repaired with `artctl config`
    cli.ok("artifact", "verify")


def test_ttl_expiry_is_never_served_and_gc_soft_deletes(cli, repo_dir: Path, repo) -> None:
    make_tree(repo_dir / "d", {"a.txt": "one"})
    cli.ok("artifact", "put", "d", "--name", "p/t", "--type", "dataset")
    make_tree(repo_dir / "d", {"a.txt": "two"})
    cli.ok("artifact", "put", "d", "--name", "p/t", "--type", "dataset", "--ttl", "3s", "--alias", "best")
    expires = datetime.fromisoformat(cli.ok("artifact", "show", "p/t:v1", "--json").json()["expires_at"])
    latest = cli.ok("artifact", "show", "p/t", "--json").json()["version"]
    assert latest == "v1" or time.time() >= expires.timestamp()  # until it expires, v1 is latest
    # Wait until it has expired by its own record (not by a fixed sleep: a loaded machine is slow).
    time.sleep(max(0.0, expires.timestamp() - time.time()) + 0.1)
    assert cli.ok("artifact", "show", "p/t", "--json").json()["version"] == "v0"  # latest moved back
    err = cli.fails("artifact", "get", "p/t:v1")
    assert "expired" in err.stderr
    cli.fails("artifact", "get", "p/t:best")
    result = cli.ok("gc", "--json", env=NO_GRACE).json()
    assert result["expired"] == ["p/t:v1"] and result["purged"] == ["p/t:v1"]
    shown = cli.ok("artifact", "show", "p/t:v1", "--all", "--json").json()
    assert shown["state"] == "deleted"
    assert [a["alias"] for a in cli.ok("alias", "ls", "p/t", "--json").json()] == ["latest"]
    cli.ok("artifact", "verify")


def test_open_draft_keeps_its_bytes_and_its_base(cli, repo_dir: Path) -> None:
    make_tree(repo_dir / "d", {"a.txt": "base-a", "b.txt": "base-b"})
    cli.ok("artifact", "put", "d", "--name", "p/x", "--type", "dataset", "--alias", "best")
    draft = cli.ok("draft", "new", "p/x").stdout.strip()
    (repo_dir / "new.txt").write_text("draft-only")
    cli.ok("draft", "add", draft, "new.txt")
    cli.ok("artifact", "rm", "p/x:v0", "--delete-aliases")
    cli.ok("gc", env=NO_GRACE)
    commit = cli.ok("draft", "commit", draft, "--json").json()
    assert commit["version"] == "v1" and commit["files"] == 3
    root = Path(cli.ok("artifact", "get", "p/x:v1", "--root", "out").stdout.strip())
    assert (root / "a.txt").read_text() == "base-a" and (root / "new.txt").read_text() == "draft-only"
    cli.ok("artifact", "verify")


def test_discarded_draft_bytes_are_collected(cli, repo_dir: Path, repo) -> None:
    from artctl.base.hashing import hash_bytes

    make_tree(repo_dir / "d", {"a.txt": "keep"})
    cli.ok("artifact", "put", "d", "--name", "p/x", "--type", "dataset")
    draft = cli.ok("draft", "new", "p/x").stdout.strip()
    blob = os.urandom(2 * 1024 * 1024)
    (repo_dir / "big.bin").write_bytes(blob)
    cli.ok("draft", "add", draft, "big.bin")
    cli.ok("gc", env=NO_GRACE)
    assert repo.store.has(hash_bytes(blob))
    cli.ok("draft", "discard", draft)
    result = cli.ok("gc", "--json", env=NO_GRACE).json()
    assert result["objects"] == 1 and not repo.store.has(hash_bytes(blob))
    cli.ok("artifact", "verify")


def test_stale_temp_files_are_removed(cli, repo_dir: Path) -> None:
    tmp = repo_dir / ".artifacts" / "tmp"
    tmp.mkdir(exist_ok=True)
    old, fresh = tmp / ".old.tmp", tmp / ".fresh.tmp"
    old.write_bytes(b"x" * 100)
    fresh.write_bytes(b"y")
    past = time.time() - 3 * 3600
    os.utime(old, (past, past))
    result = cli.ok("gc", "--json", env=NO_GRACE).json()
    assert result["temp_files"] == 1 and not old.exists() and fresh.exists()


def test_repack_keeps_every_live_blob_readable(repo_dir: Path, repo) -> None:
    """Library level: many small files, half of them dead, are rewritten into a new pack."""
    from artctl.ops.gc import gc
    from artctl.ops.lifecycle import delete_version

    files = {f"f{i:03}.txt": f"file {i}\n" * 50 for i in range(60)}
    make_tree(repo_dir / "s", files)
    repo.put(repo_dir / "s", name="p/small", type="dataset")
    for i in range(0, 60, 2):
        (repo_dir / "s" / f"f{i:03}.txt").unlink()
    repo.put(repo_dir / "s", name="p/small", type="dataset")
    delete_version(repo, "p/small:v0")
    result = gc(repo, grace_period=0)
    assert result.packs_repacked == 1 and result.bytes_freed > 0
    assert repo.verify().ok
    out = repo.get("p/small:v1", root=repo_dir / "out")
    assert out.files == 30
    for i in range(1, 60, 2):
        assert (repo_dir / "out" / f"f{i:03}.txt").read_text() == files[f"f{i:03}.txt"]


PUT_WORKER = textwrap.dedent("""
    import os, sys, json, shutil
    from pathlib import Path
    from artctl.api.repo import Repo
    from artctl.ops.drafts import Drafts
    from artctl.ops.lifecycle import delete_version
    from artctl.errors import ArtctlError
    from artctl.ops.distributed.finish import finish
    from artctl.ops.distributed.upsert import upsert

    work, tag, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    os.chdir(work)
    repo = Repo(work)
    name = f"p/{tag}"
    big = bytes(range(256)) * 4200  # > 1 MiB: a loose object
    previous = None
    for i in range(rounds):
        k = i % 3  # contents recur, so puts deduplicate against objects gc is deleting
        src = work / f"src-{tag}"
        shutil.rmtree(src, ignore_errors=True)
        (src / "d").mkdir(parents=True)
        (src / "common.txt").write_text("common")
        (src / "d" / f"k{k}.txt").write_text(f"set {k} " * 100)
        if k == 0:
            (src / "big.bin").write_bytes(big)
        result = repo.put(src, name=name, type="dataset")
        ref = f"{name}:{result.record.version}"
        out = work / f"out-{tag}-{i}"
        repo.get(ref, root=out)  # verifies every digest
        assert (out / "d" / f"k{k}.txt").read_text() == f"set {k} " * 100
        drafts = Drafts(repo)
        draft = drafts.new(ref)
        extra = work / f"extra-{tag}.txt"
        extra.write_text(f"extra {k}")
        drafts.add(draft.id, extra, "extra.txt")
        committed = drafts.commit(draft.id)
        out2 = work / f"out2-{tag}-{i}"
        repo.get(f"{name}:{committed.record.version}", root=out2)
        assert (out2 / "extra.txt").read_text() == f"extra {k}"
        # A distributed version: two upserted parts, then finish.
        dist_id = f"{tag}-{i}"
        for part in range(2):
            psrc = work / f"part-{tag}-{part}"
            shutil.rmtree(psrc, ignore_errors=True)
            psrc.mkdir()
            (psrc / f"part{part}.txt").write_text(f"part {part} of set {k}")
            upsert(repo, psrc, name=f"{name}-dist", type="dataset", distributed_id=dist_id)
        finished = finish(repo, name=f"{name}-dist", type="dataset", distributed_id=dist_id)
        out3 = work / f"out3-{tag}-{i}"
        repo.get(f"{name}-dist:{finished.record.version}", root=out3)
        assert (out3 / "part1.txt").read_text() == f"part 1 of set {k}"
        if finished.created:
            delete_version(repo, f"{name}-dist:{finished.record.version}", delete_aliases=True)
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(out2, ignore_errors=True)
        shutil.rmtree(out3, ignore_errors=True)
        for old in (previous, ref):
            if old:
                try:
                    delete_version(repo, old, delete_aliases=True)
                except ArtctlError:
                    pass  # already deleted (identical content gave the same version)
        previous = f"{name}:{committed.record.version}"
    print(json.dumps({"rounds": rounds}))
""")

GC_WORKER = textwrap.dedent("""
    import os, sys, json
    from pathlib import Path
    from artctl.api.repo import Repo
    from artctl.ops.gc import gc

    work, stop = Path(sys.argv[1]), Path(sys.argv[2])
    repo = Repo(work)
    runs = freed = 0
    while not stop.exists() or runs < 3:
        freed += gc(repo, grace_period=0).bytes_freed
        runs += 1
    print(json.dumps({"runs": runs, "freed": freed}))
""")


def test_gc_loop_beside_put_loops_never_breaks_a_committed_version(cli, repo_dir: Path, repo) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    stop = repo_dir / "stop"
    gc_proc = subprocess.Popen(
        [sys.executable, "-c", GC_WORKER, str(repo_dir), str(stop)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    puts = [
        subprocess.Popen(
            [sys.executable, "-c", PUT_WORKER, str(repo_dir), tag, "9"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("one", "two")
    ]
    try:
        for proc in puts:
            out, err = proc.communicate(timeout=240)
            assert proc.returncode == 0, err
    finally:
        stop.write_text("stop")
        gc_out, gc_err = gc_proc.communicate(timeout=240)
    assert gc_proc.returncode == 0, gc_err
    stats = json.loads(gc_out)
    assert stats["runs"] >= 3 and stats["freed"] > 0
    verify = cli.ok("artifact", "verify", "--json").json()
    assert verify["ok"] and verify["versions"] >= 2
    for tag in ("one", "two"):
        cli.ok("artifact", "get", f"p/{tag}", "--root", f"final-{tag}")
    # A last CLI gc leaves everything live intact too.
    cli.ok("gc", env=NO_GRACE)
    cli.ok("artifact", "verify")


def test_cli_gc_loop_beside_cli_put_loop(cli, repo_dir: Path) -> None:
    """The same race through the real command line: shell loops of `put` + `rm` and of `gc`."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "ARTCTL_GC_GRACE_PERIOD": "0"}
    put_loop = textwrap.dedent("""
        set -e
        for i in 0 1 2 3; do
          k=$((i % 2))
          mkdir -p src && rm -rf src/* && echo "common" > src/common.txt && echo "set $k" > src/k$k.txt
          v=$(python -m artctl artifact put src --name p/loop --type dataset --json |
              python -c 'import json,sys; print(json.load(sys.stdin)["version"])')
          python -m artctl artifact get "p/loop:$v" --root "out$i" > /dev/null
          test "$(cat out$i/k$k.txt)" = "set $k"
          python -m artctl artifact rm "p/loop:$v" > /dev/null 2>&1
        done
        python -m artctl artifact put src --name p/loop --type dataset > /dev/null
    """)
    gc_loop = "for i in 1 2 3 4; do python -m artctl gc --json > /dev/null || exit 1; done"
    puts = subprocess.Popen(
        ["bash", "-c", put_loop],
        cwd=repo_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    gcs = subprocess.Popen(
        ["bash", "-c", gc_loop],
        cwd=repo_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _out, err = puts.communicate(timeout=240)
    assert puts.returncode == 0, err
    _out, gc_err = gcs.communicate(timeout=240)
    assert gcs.returncode == 0, gc_err
    cli.ok("artifact", "verify")
    cli.ok("artifact", "get", "p/loop", "--root", "final")


def test_gc_deletes_nothing_when_a_live_manifest_is_missing(cli, repo_dir: Path, repo) -> None:
    _two_versions(cli, repo_dir)
    cli.ok("artifact", "rm", "p/ds:v0")
    path = repo.repository.manifest_path(repo.resolve("p/ds:v1").manifest)
    moved = path.with_name("aside")
    path.rename(moved)
    before = _snapshot(repo_dir / ".artifacts")
    plan = cli.ok("gc", "--dry-run", "--json", env=NO_GRACE).json()
    assert plan["problems"] and "live manifest" in plan["problems"][0]
    err = cli.fails("gc", env=NO_GRACE)
    assert "nothing was deleted" in err.stderr
    assert _snapshot(repo_dir / ".artifacts") == before
    moved.rename(path)
    cli.ok("gc", env=NO_GRACE)
    cli.ok("artifact", "verify")


@pytest.mark.damages_repository
def test_repack_leaves_a_pack_with_a_corrupt_live_blob_alone(repo_dir: Path, repo) -> None:
    from artctl.ops.gc import gc
    from artctl.ops.lifecycle import delete_version
    from artctl.repository.repack import pack_blobs

    make_tree(repo_dir / "s", {f"f{i}.txt": f"content {i}\n" * 40 for i in range(10)})
    repo.put(repo_dir / "s", name="p/c", type="dataset")
    for i in range(5):
        (repo_dir / "s" / f"f{i}.txt").unlink()
    repo.put(repo_dir / "s", name="p/c", type="dataset")
    delete_version(repo, "p/c:v0")
    (pack,) = list(repo.store.iter_packs())
    live = {e.digest for e in repo.manifest(repo.resolve("p/c:v1"))}
    digest, offset, _length = next(b for b in pack_blobs(repo.store, pack) if b[0] in live)
    path = repo.store.pack_path(pack)
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    os.chmod(path, 0o644)
    path.write_bytes(bytes(data))
    result = gc(repo, grace_period=0)
    assert result.packs_repacked == 0 and any("corrupt" in p for p in result.problems)
    assert path.exists()  # left alone: nothing live was dropped, the damage is reported
    assert not repo.verify().ok


def test_distributed_parts_are_roots_until_finished(cli, repo_dir: Path, repo) -> None:
    from artctl.base.hashing import hash_bytes

    blobs = {}
    for i in range(2):
        blobs[i] = os.urandom(1024 * 1024 + i)
        make_tree(repo_dir / f"part{i}", {f"p{i}.bin": blobs[i], f"p{i}.txt": f"small {i}"})
        cli.ok(
            "artifact",
            "upsert",
            f"part{i}",
            "--name",
            "p/dist",
            "--type",
            "dataset",
            "--distributed-id",
            "run-1",
        )
    cli.ok("gc", env=NO_GRACE)  # nothing committed yet: the parts alone keep their bytes
    assert all(repo.store.has(hash_bytes(b)) for b in blobs.values())
    cli.ok("artifact", "finish", "--name", "p/dist", "--type", "dataset", "--distributed-id", "run-1")
    cli.ok("artifact", "verify")
    cli.ok("artifact", "get", "p/dist", "--root", "out")
    cli.ok("artifact", "rm", "p/dist:v0")
    result = cli.ok("gc", "--json", env=NO_GRACE).json()  # the finished marker is not a root
    assert result["purged"] == ["p/dist:v0"] and result["objects"] == 2
    assert not any(repo.store.has(hash_bytes(b)) for b in blobs.values())
