"""Garbage collection on a remote (`artctl gc --remote`), beside concurrent pushers, no lock:
deleted and expired versions' bytes are freed, shared blobs of live versions stay, `--dry-run`
changes nothing, a killed push's leftovers go after the grace period and not before, a killed gc
never costs a live version a byte, a clone with an old pack index still gets a repacked blob, and
a gc loop beside pushes that share and re-push content loses nothing (docs/remotes.md,
"Garbage collection on a remote")."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from artctl.backend import open_backend

from conftest import cli_env, crash_trace, make_tree, run_cli, run_killed_at
from servers import Remote

BIG = 1_300_000  # > 1 MiB: a loose object; small files go into packs


def _big(tag: str) -> bytes:
    return (tag.encode() * BIG)[:BIG]


@pytest.fixture(params=["file", "s3"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Remote:
    """A fresh empty location on file:// and on S3 (moto)."""
    if request.param == "file":
        (tmp_path / "remote").mkdir()
        return Remote((tmp_path / "remote").as_uri(), {}, {})
    from servers import make_s3_bucket

    server = request.getfixturevalue("s3_server")
    return Remote(f"s3://{make_s3_bucket(server)}", dict(server.storage_options), dict(server.env))


def _repo(path: Path, remote: Remote) -> Path:
    """A repository at ``path`` with ``remote`` as origin (its options passed with -o, credentials
    as ``env:VAR`` of the cloud's chain, which ``remote.env`` holds)."""
    path.mkdir(parents=True)
    ok(path, remote, "init")
    options = _options(remote)
    ok(path, remote, "remote", "add", "origin", remote.url, "--default", *options)
    return path


def _options(remote: Remote) -> list[str]:
    """``-o KEY=VALUE`` for ``remote add``/``clone``: credentials as ``env:VAR`` of the cloud's
    chain (``remote.env`` holds VAR), as a repository may store them."""
    from servers import stored_options

    return [f"-o{k}={v}" for k, v in sorted(_flat(stored_options(remote.storage_options)).items())]


def _put(repo: Path, remote: Remote, tree: str | Path, name: str, *extra: str) -> None:
    """``artctl artifact put TREE --name NAME --type dataset [EXTRA…]`` in ``repo``."""
    ok(repo, remote, "artifact", "put", str(tree), "--name", name, "--type", "dataset", *extra)


def _flat(options: dict, prefix: str = "") -> dict[str, str]:  # type: ignore[type-arg]
    out: dict[str, str] = {}
    for key, value in options.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = str(value)
    return out


def ok(cwd: Path, remote: Remote, *args: str, env: dict[str, str] | None = None, subprocess: bool = False):  # type: ignore[no-untyped-def]
    result = run_cli(*args, cwd=cwd, env={**remote.env, **(env or {})}, subprocess=subprocess)
    assert result.returncode == 0, result
    return result


def _files(remote: Remote) -> dict[str, int]:
    """Every file on the remote → its size (content and records alike)."""
    backend = open_backend(remote.url, remote.storage_options)
    return backend.list_sizes("")


def _stats(remote: Remote) -> dict[str, float]:
    return {k: v.mtime for k, v in open_backend(remote.url, remote.storage_options).list_stats("").items()}


def _content(remote: Remote) -> dict[str, int]:
    return {
        k: v for k, v in _files(remote).items() if k.split("/", 1)[0] in ("objects", "packs", "manifests")
    }


def _clone_all(base: Path, remote: Remote, name: str) -> Path:
    """A fresh `clone --all` (every blob of every live version fetched) that verifies clean."""
    options = _options(remote)
    ok(base, remote, "clone", remote.url, name, "--all", *options)
    ok(base / name, remote, "artifact", "verify")
    return base / name


def _same(got: Path, files: dict[str, bytes | str]) -> None:
    found = {p.relative_to(got).as_posix(): p.read_bytes() for p in got.rglob("*") if p.is_file()}
    assert found == {k: v.encode() if isinstance(v, str) else v for k, v in files.items()}


TREES: dict[str, dict[str, bytes | str]] = {
    "v0": {"a.txt": "shared\n", "b.txt": "only in v0\n", "c.txt": "also only v0\n", "big0.bin": _big("zero")},
    "v1": {"a.txt": "shared\n", "big1.bin": _big("one")},
    "v2": {"d.txt": "expires\n", "big2.bin": _big("two")},
}


#: v2's TTL in the scene, in seconds: long enough for two pushes on a loaded machine.
TTL = 4


def _scene(base: Path, remote: Remote, *, expiring: bool = True) -> Path:
    """v0 deleted, v1 live (sharing a.txt with v0), v2 past its TTL (``expiring``, else live):
    all pushed."""
    a = _repo(base / "a", remote)
    for key in ("v0", "v1"):
        _put(a, remote, make_tree(base / key, TREES[key]), "p/ds")
    _put(a, remote, make_tree(base / "v2", TREES["v2"]), "p/ds", *(["--ttl", f"{TTL}s"] if expiring else []))
    expires = time.monotonic() + TTL
    ok(a, remote, "push")
    ok(a, remote, "artifact", "rm", "p/ds:v0")
    ok(a, remote, "push")
    if expiring:  # v2 expires (the pushes must run before: a push does not send an expired version)
        time.sleep(max(0.0, expires - time.monotonic() + 0.1))
    return a


def test_deleted_and_expired_versions_are_freed_and_shared_blobs_stay(
    remote_url: Remote, tmp_path: Path
) -> None:
    """On file://, S3, GCS and Azure: dry-run changes nothing; gc frees v0 and v2 (purge
    markers written) and keeps every byte of v1, the blob it shares with v0 included."""
    a = _scene(tmp_path, remote_url)
    before = _files(remote_url)
    dry = ok(a, remote_url, "gc", "--remote", "origin", "--grace", "0", "--dry-run", "--json").json()
    assert _files(remote_url) == before
    assert sorted(dry["purged"]) == ["p/ds:v0", "p/ds:v2"] and dry["expired"] == ["p/ds:v2"], (
        dry,
        _stats(remote_url),
    )
    assert dry["objects"] == 2 and dry["manifests"] == 2 and dry["bytes_freed"] > 2 * BIG
    done = ok(a, remote_url, "gc", "--remote", "origin", "--grace", "0", "--json").json()
    assert {k: done[k] for k in ("purged", "objects", "manifests")} == {
        k: dry[k] for k in ("purged", "objects", "manifests")
    }
    after = _files(remote_url)
    content = {k: v for k, v in before.items() if k.split("/", 1)[0] in ("objects", "packs", "manifests")}
    freed = sum(content.values()) - sum(_content(remote_url).values())  # (gc also rewrote index/)
    assert freed >= 2 * BIG and freed >= done["bytes_freed"] - 4096
    assert sum(1 for k in after if k.endswith(".purged.json")) == 2
    # its marker is gone; one generation of the lease stays, released (docs/remotes.md)
    assert [k for k in after if k.startswith("gc/")] == ["gc/lease/000000000001.json"]
    assert json.loads(
        open_backend(remote_url.url, remote_url.storage_options).read("gc/lease/000000000001.json")
    )["released"]
    again = ok(a, remote_url, "gc", "--remote", "origin", "--grace", "0", "--json").json()
    assert again["files"] == [] and again["purged"] == []
    fresh = _clone_all(tmp_path, remote_url, "fresh")
    ok(fresh, remote_url, "artifact", "get", "p/ds:v1", "--root", str(tmp_path / "out"))
    _same(tmp_path / "out", TREES["v1"])


def test_killed_push_leftovers_go_after_the_grace_and_not_before(remote: Remote, tmp_path: Path) -> None:
    a = _repo(tmp_path / "a", remote)
    _put(a, remote, make_tree(tmp_path / "t", TREES["v1"]), "p/ds")
    run_killed_at("push.manifests-sent", "push", cwd=a, env=remote.env)
    leftovers = _content(remote)
    assert leftovers and not [k for k in _files(remote) if k.startswith("registry/")]
    young = ok(a, remote, "gc", "--remote", "origin", "--grace", "1h", "--json").json()
    assert young["files"] == [] and young["young_kept"] == len(leftovers)
    assert _content(remote) == leftovers
    old = ok(a, remote, "gc", "--remote", "origin", "--grace", "0", "--json").json()
    assert old["young_kept"] == 0 and _content(remote) == {}
    ok(a, remote, "push")  # the re-run sends everything again: nothing relies on what gc took
    fresh = _clone_all(tmp_path, remote, "fresh")
    ok(fresh, remote, "artifact", "get", "p/ds:v0", "--root", str(tmp_path / "out"))
    _same(tmp_path / "out", TREES["v1"])


def test_a_pack_cut_short_goes_once_push_sent_its_blobs_again(remote: Remote, tmp_path: Path) -> None:
    """A pack shorter than its index says (damaged) is ignored by readers; push sends its blobs
    in a new pack, and gc deletes the damaged one although its blobs are live."""
    a = _repo(tmp_path / "a", remote)
    _put(a, remote, make_tree(tmp_path / "t", TREES["v0"]), "p/ds")
    ok(a, remote, "push")
    backend = open_backend(remote.url, remote.storage_options)
    (pack,) = [rel for rel in backend.find("packs") if rel.endswith(".pack")]
    backend.write(pack, backend.read(pack)[:20])
    ok(a, remote, "push")
    done = ok(a, remote, "gc", "--remote", "origin", "--grace", "0", "--json").json()
    damaged = sorted(f["path"] for f in done["files"] if f["kind"] == "damaged pack")
    assert damaged == sorted([pack, pack.replace(".pack", ".idx")])
    fresh = _clone_all(tmp_path, remote, "fresh")
    ok(fresh, remote, "artifact", "get", "p/ds:v0", "--root", str(tmp_path / "out"))
    _same(tmp_path / "out", TREES["v0"])


def test_a_clone_with_the_index_of_a_repacked_pack_still_gets_the_blob(
    remote: Remote, tmp_path: Path
) -> None:
    """`get` through a cached .idx of a pack gc has rewritten lists the remote again and reads the
    blob from the new pack, instead of failing (ops/remote/source.py)."""
    a = _scene(tmp_path, remote, expiring=False)
    reader = tmp_path / "reader"
    options = _options(remote)
    ok(tmp_path, remote, "clone", remote.url, "reader", *options)  # caches the pack indexes
    done = ok(a, remote, "gc", "--remote", "origin", "--grace", "0", "--json").json()
    assert done["packs_repacked"] == 1  # a.txt stays live, b.txt and c.txt are dead
    ok(reader, remote, "artifact", "get", "p/ds:v1", "--root", str(tmp_path / "out"))
    _same(tmp_path / "out", TREES["v1"])


def _paused_beside_gc(argv: list[str], cwd: Path, gc_from: Path, remote: Remote, env: dict[str, str]) -> dict:  # type: ignore[type-arg]
    """Run ``artctl ARGV`` in ``cwd`` with its uploads paused (5 s each); once it has listed the
    remote (it caches the pack indexes it saw), run a gc with a 2 s grace from ``gc_from``
    beside it. Return the gc's report after the command succeeded; the command must still be
    running when gc ends."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "artctl", *argv],
        cwd=cwd,
        env=cli_env({**remote.env, **env, "ARTCTL_TEST_TRANSFER_DELAY": "5"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    cached = cwd / ".artifacts" / "remotes" / "origin" / "packs"
    deadline = time.monotonic() + 60
    while not list(cached.glob("*.idx")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    done = ok(gc_from, remote, "gc", "--remote", "origin", "--grace", "2s", "--json", env=env).json()
    assert proc.poll() is None, f"artctl {argv[0]} ended before gc ran: the test proves nothing"
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return done


def test_a_push_never_relies_on_an_old_file_that_a_gc_running_meanwhile_deletes(
    remote: Remote, tmp_path: Path
) -> None:
    """The race the protocol exists for, made deterministic: B's push lists the remote while it
    holds the deleted v0's blobs and manifest (dead, older than the grace), then pauses before
    its first upload; a gc deletes those files meanwhile; B's version must still be complete.
    A push that relied on what the listing showed would create a version naming deleted files."""
    env = {"ARTCTL_GC_REMOTE_GRACE": "2s"}
    a = _repo(tmp_path / "a", remote)
    _put(a, remote, make_tree(tmp_path / "t0", TREES["v0"]), "p/ds")
    ok(a, remote, "push")
    ok(a, remote, "artifact", "rm", "p/ds:v0")
    ok(a, remote, "push")
    b = _repo(tmp_path / "b", remote)
    again = {**TREES["v0"], "new.txt": "B's own file\n"}  # all of v0 again, plus one file to upload
    _put(b, remote, make_tree(tmp_path / "t1", again), "p/other")
    _put(b, remote, make_tree(tmp_path / "t2", TREES["v0"]), "p/same")
    time.sleep(3.2)  # v0's files are older than the grace (and the mtime resolution) now
    done = _paused_beside_gc(["push"], b, a, remote, env)
    assert done["objects"] == 1 and done["manifests"] == 1 and done["packs_deleted"] == 1
    fresh = _clone_all(tmp_path, remote, "fresh")
    for name, tree in (("p/other", again), ("p/same", TREES["v0"])):
        root = tmp_path / "out" / name.replace("/", "_")
        ok(fresh, remote, "artifact", "get", f"{name}:latest", "--root", str(root))
        _same(root, tree)


def test_gc_writes_back_a_manifest_that_a_version_pushed_while_it_ran_names(tmp_path: Path) -> None:
    """Manifests are named by content, so a push can only rewrite an old one under the same name,
    which a gc that listed it may delete a moment later. gc's second registry read catches a
    version created meanwhile that names a manifest it deleted, and writes the manifest back."""
    from artctl.backend.local import LocalBackend
    from artctl.format.layout import manifest_key, version_key
    from artctl.format.names import parse_name
    from artctl.format.records import ArtifactRecord, VersionRecord, loads
    from artctl.ops.remote.gc import collect
    from artctl.ops.remote.publish import ensure_artifact, publish_version

    (tmp_path / "remote").mkdir()
    origin = Remote((tmp_path / "remote").as_uri(), {}, {})
    _scene(tmp_path, origin, expiring=False)
    v0 = VersionRecord.from_json(
        loads((tmp_path / "remote" / version_key(parse_name("p/ds"), 0)).read_bytes(), "v0")
    )
    dead = manifest_key(v0.manifest)

    class PushedMeanwhile(LocalBackend):
        """The remote, with a push creating a version of v0's content right after gc deleted its
        manifest (the push had rewritten it just before, and gc had listed the old file)."""

        def delete(self, rel: str) -> None:
            super().delete(rel)
            if rel == dead:
                ensure_artifact(self, ArtifactRecord("p/again", "dataset", v0.created_at))
                publish_version(
                    self, v0.evolve(name="p/again", index=0, state="committed", deleted_at=None), {}
                )

    backend = PushedMeanwhile(str(tmp_path / "remote"), origin.url)
    report = collect(backend, grace=0, dry_run=False)
    assert report.restored == ["p/again:v0"]
    assert (tmp_path / "remote" / dead).exists()


GC_POINTS = [
    "remote-gc.lease-free",
    "remote-gc.marked",
    "remote-gc.expired-deleted",
    "remote-gc.repack-written",
    "remote-gc.old-index-deleted",
    "remote-gc.packs-swept",
    "remote-gc.objects-swept",
    "remote-gc.manifests-swept",
    "remote-gc.purge-marked",
]


def test_a_gc_killed_anywhere_leaves_every_live_version_complete_and_the_rerun_finishes(
    tmp_path: Path,
) -> None:
    """A kill at each crash point of remote gc (file://, a copy of one scene per point): a fresh
    clone gets v1 byte-identical and verifies, and the re-run of gc finishes with no debris."""
    (tmp_path / "remote").mkdir()
    origin = Remote((tmp_path / "remote").as_uri(), {}, {})
    a = _scene(tmp_path, origin)
    trace = crash_trace(
        "gc",
        "--remote",
        _copy(origin, tmp_path / "traced").url,
        "--grace",
        "0",
        cwd=a,
        trace=tmp_path / "trace",
    )
    assert set(GC_POINTS) <= set(trace)
    for point in GC_POINTS:
        copy = _copy(origin, tmp_path / f"at-{point}")
        run_killed_at(point, "gc", "--remote", copy.url, "--grace", "0", cwd=a)
        if point in ("remote-gc.lease-free", "remote-gc.marked"):  # nothing changed but gc's start marker
            assert {k: v for k, v in _files(copy).items() if not k.startswith("gc/")} == _files(origin)
            ok(a, copy, "gc", "--remote", copy.url, "--grace", "0")
            # (a clone now would hold the expired v2 without its manifest, as before any gc)
        fresh = _clone_all(tmp_path, copy, f"clone-{point}")
        ok(fresh, copy, "artifact", "get", "p/ds:v1", "--root", str(tmp_path / f"out-{point}"))
        _same(tmp_path / f"out-{point}", TREES["v1"])
        ok(a, copy, "gc", "--remote", copy.url, "--grace", "0")
        assert (
            ok(a, copy, "gc", "--remote", copy.url, "--grace", "0", "--dry-run", "--json").json()["files"]
            == []
        )
        assert _content(copy) == _content(_copy(origin, tmp_path / "ref", done=True))


def _copy(origin: Remote, path: Path, done: bool = False) -> Remote:
    """A copy of a file:// remote (``done``: collected once, as reference for the end state)."""
    if not path.exists():
        shutil.copytree(Path(origin.url.removeprefix("file://")), path)
        if done:
            from artctl.ops.remote.gc import collect

            collect(open_backend(path.as_uri(), {}), grace=0, dry_run=False)
    return Remote(path.as_uri(), {}, {})


# -- gc in a loop beside pushes that share content ------------------------------------------------
WRITER = r"""
import json, os, subprocess, sys
from pathlib import Path
me, rounds = int(sys.argv[1]), int(sys.argv[2])
pool = Path(sys.argv[3])
def artctl(*args):
    proc = subprocess.run([sys.executable, "-m", "artctl", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"artctl {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout
for r in range(rounds):
    key = f"t{(me + r) % 4}"  # every writer puts every tree at some point: shared blobs
    put = ("artifact", "put", str(pool / key), "--name", f"p/w{me}", "--type", "dataset", "--json")
    out = json.loads(artctl(*put))
    artctl("push")
    if r % 2 == 0:  # delete it again, so its content is dead until another push brings it back
        artctl("artifact", "rm", f"p/w{me}:{out['version']}")
        artctl("push")
"""


def _pool(base: Path) -> dict[str, dict[str, bytes | str]]:
    trees: dict[str, dict[str, bytes | str]] = {}
    for i in range(4):
        trees[f"t{i}"] = {
            "id.txt": f"t{i}\n",
            "shared.txt": "in every tree\n",
            f"own{i}.txt": f"only t{i}\n",
            "half.bin": _big(f"half{i % 2}"),  # big, shared by two trees
        }
        make_tree(base / f"t{i}", trees[f"t{i}"])
    return trees


def test_gc_in_a_loop_beside_pushes_that_share_content_loses_nothing(remote: Remote, tmp_path: Path) -> None:
    """Three real `artctl push` writers putting, deleting and re-pushing trees that share blobs,
    while `artctl gc --remote origin --grace 2s` runs in a loop: afterwards every version any
    writer committed and did not delete is on the remote, complete and byte-identical."""
    trees = _pool(tmp_path / "pool")
    env = {**remote.env, "ARTCTL_GC_REMOTE_GRACE": "2s"}
    seed = _repo(tmp_path / "seed", remote)
    _put(seed, remote, str(tmp_path / "pool" / "t0"), "p/seed")
    ok(seed, remote, "push")
    writers = [_repo(tmp_path / f"w{i}", remote) for i in range(3)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(i), "2", str(tmp_path / "pool")],
            cwd=w,
            env=cli_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, w in enumerate(writers)
    ]
    runs = 0
    while any(p.poll() is None for p in procs) or runs < 2:
        ok(seed, remote, "gc", "--remote", "origin", "--grace", "2s", env=env, subprocess=True)
        runs += 1
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    time.sleep(
        3.1
    )  # everything is older than the grace (and the mtime resolution) now: a last gc collects all it may
    ok(seed, remote, "gc", "--remote", "origin", "--grace", "2s", env=env)
    fresh = _clone_all(tmp_path, remote, "fresh")
    expected = {("p/seed", "t0")}
    for i, w in enumerate(writers):
        ok(w, remote, "pull", env=env)
        for version in ok(w, remote, "artifact", "ls", f"p/w{i}", "--json").json():
            expected.add((f"p/w{i}", version["version"]))
    got = set()
    for name in ("p/seed", "p/w0", "p/w1", "p/w2"):
        for version in ok(fresh, remote, "artifact", "ls", name, "--json").json():
            root = tmp_path / "out" / name.replace("/", "_") / version["version"]
            ok(fresh, remote, "artifact", "get", f"{name}:{version['version']}", "--root", str(root))
            tree = (root / "id.txt").read_text().strip()
            _same(root, trees[tree])
            got.add((name, version["version"]) if name != "p/seed" else (name, tree))
    assert expected == got
    assert runs >= 2


def test_a_put_on_the_remote_never_relies_on_an_old_file_that_gc_deletes(
    remote: Remote, tmp_path: Path
) -> None:
    """`put --remote` commits on the remote first with push's rules. The same race as above: the
    put's content holds the deleted v0's large file (a loose object on the remote, dead and older
    than the grace) plus a new file to upload; the put pauses at that upload, after it listed the
    remote, while a gc deletes the old object. The committed version must still be complete."""
    import os as _os

    env = {"ARTCTL_GC_REMOTE_GRACE": "2s"}
    big = _os.urandom(1536 * 1024)  # >= 1 MiB: a loose object, never packed with the new file
    a = _repo(tmp_path / "a", remote)
    old = tmp_path / "t0"
    old.mkdir()
    (old / "big.bin").write_bytes(big)
    (old / "a.txt").write_text("A's small file: a pack whose index B's listing caches\n")
    _put(a, remote, old, "p/ds")
    ok(a, remote, "push")
    ok(a, remote, "artifact", "rm", "p/ds:v0")
    ok(a, remote, "push")
    b = _repo(tmp_path / "b", remote)
    new = tmp_path / "t1"
    new.mkdir()
    (new / "big.bin").write_bytes(big)
    (new / "new.txt").write_text("B's own file\n")
    time.sleep(4.5)  # v0's files are older than the grace and both clocks' whole-second rounding now
    argv = ["artifact", "put", str(new), "--name", "p/put", "--type", "dataset", "--remote", "origin"]
    done = _paused_beside_gc(argv, b, a, remote, env)
    assert done["objects"] == 1, done  # the old big.bin
    fresh = _clone_all(tmp_path, remote, "fresh")
    ok(fresh, remote, "artifact", "get", "p/put:latest", "--root", str(tmp_path / "out"))
    assert (tmp_path / "out" / "big.bin").read_bytes() == big
