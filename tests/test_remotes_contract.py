"""The remote contract: the same tests against file://, S3 (moto), GCS (fake-gcs-server) and
Azure (Azurite) — push → clone → get, incremental transfer, many writers, resumable push,
distributed versions across clones. Servers are session-scoped (tests/servers.py); every test
gets a fresh bucket.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from artctl.api.repo import Repo, clone
from artctl.backend import open_backend
from artctl.errors import Conflict
from artctl.ops.distributed.upsert import upsert
from artctl.ops.remote.config import add_remote
from artctl.ops.remote.pull import pull
from artctl.ops.remote.push import push

from conftest import REPO_ROOT, cli_env, make_tree, run_cli


def new_repo(path: Path, remote=None) -> Repo:  # type: ignore[no-untyped-def]
    repo, _ = Repo.init(path)
    if remote is not None:
        add_remote(repo.repository, "origin", remote.url, remote.stored_options, default=True)
    return repo


def tree(root: Path, tag: str, big: bool = True) -> Path:
    files: dict[str, bytes | str] = {"a.txt": f"alpha {tag}\n", "sub/b.txt": f"beta {tag}\n"}
    if big:
        files["big.bin"] = (tag.encode() * 700_000)[:1_200_000]  # > 1 MiB: a loose object
    return make_tree(root, files)


def same_tree(a: Path, b: Path) -> None:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


class TestRemoteContract:
    """Every backend must pass all of these."""

    @pytest.mark.damages_repository
    def test_corrupt_local_objects_are_never_pushed(self, remote_url, tmp_path):
        """A damaged loose object or pack is refused before anything of it is visible remotely."""
        from artctl.errors import IntegrityError

        a = new_repo(tmp_path / "a", remote_url)
        a.put(tree(tmp_path / "data", "one"), name="proj/ds", type="dataset")
        store = a.repository.store
        victims = [p for p in store.objects_dir.rglob("*") if p.is_file()] + list(
            store.packs_dir.glob("*.pack")
        )
        assert len(victims) == 2  # big.bin loose, the two small files in one pack
        for victim in victims:
            os.chmod(victim, 0o644)
            data = bytearray(victim.read_bytes())
            data[-1] ^= 0xFF
            victim.write_bytes(bytes(data))
        with pytest.raises(IntegrityError, match="not pushed"):
            push(a)
        backend = open_backend(remote_url.url, remote_url.storage_options)
        assert backend.find("objects") == [] and backend.find("packs") == []

    def test_push_clone_get_is_byte_identical_and_second_push_sends_nothing(self, remote_url, tmp_path):
        data = tree(tmp_path / "data", "one")
        a = new_repo(tmp_path / "a", remote_url)
        a.put(data, name="proj/ds", type="dataset", aliases=["best"])
        first = push(a)
        assert first.initialized and first.objects == 3 and first.versions == ["proj/ds:v0"]
        assert first.files == 2  # one pack (two small blobs) + one loose object
        second = push(a)
        assert (second.objects, second.files, second.bytes, second.manifests) == (0, 0, 0, 0)
        assert second.objects_skipped == 3 and second.versions == []
        b, result = clone(remote_url.url, tmp_path / "b", options=remote_url.stored_options)
        assert result.objects == 0 and result.manifests == 1  # metadata only
        assert not b.store.has_many(d.digest for d in b.manifest(b.resolve("proj/ds:latest")))
        got = b.get("proj/ds:best", root=tmp_path / "out")
        same_tree(data, got.root)
        # fetched bytes are now local (and known to be on the remote: cache cleanup may drop them)
        digests = {e.digest for e in b.manifest(b.resolve("proj/ds:v0"))}
        assert b.store.has_many(digests) == digests
        assert b.repository.state.with_remote_copy(digests) == digests
        assert a.repository.state.with_remote_copy(digests) == digests

    def test_incremental_pull_moves_only_new_objects(self, remote_url, tmp_path):
        data = tree(tmp_path / "data", "one")
        a = new_repo(tmp_path / "a", remote_url)
        a.put(data, name="proj/ds", type="dataset")
        push(a)
        b, full = clone(remote_url.url, tmp_path / "b", options=remote_url.stored_options, fetch_all=True)
        assert full.objects == 3
        (data / "c.txt").write_text("gamma\n")
        (data / "big2.bin").write_bytes(os.urandom(1_100_000))
        a.put(data, name="proj/ds", type="dataset")
        sent = push(a)
        assert sent.objects == 2 and sent.objects_skipped == 3
        got = pull(b, fetch_all=True)
        assert got.versions == ["proj/ds:v1"]
        assert got.objects == 2 and got.objects_skipped == 3
        assert got.files == 2 and got.bytes >= 1_100_000
        again = pull(b, fetch_all=True)
        assert (again.objects, again.files, again.manifests, again.versions) == (0, 0, 0, [])
        same_tree(data, b.get("proj/ds:v1", root=tmp_path / "out").root)

    def test_two_clones_pushing_conflicting_versions_both_survive(self, remote_url, tmp_path):
        a = new_repo(tmp_path / "a", remote_url)
        a.put(tree(tmp_path / "d0", "base", big=False), name="proj/ds", type="dataset")
        push(a)
        b, _ = clone(remote_url.url, tmp_path / "b", options=remote_url.stored_options)
        data_a = tree(tmp_path / "da", "from-a", big=False)
        data_b = tree(tmp_path / "db", "from-b", big=False)
        ra = a.put(data_a, name="proj/ds", type="dataset", aliases=["mine-a"])
        rb = b.put(data_b, name="proj/ds", type="dataset", aliases=["mine-b"])
        assert ra.record.version == rb.record.version == "v1"
        push(a)
        pushed_b = push(b)
        assert [r.to_json() for r in pushed_b.renumbered] == [
            {"name": "proj/ds", "from": "v1", "to": "v2", "reason": "the remote already had v1"}
        ]
        # B's work is v2 everywhere, its alias followed it; A's v1 is also in B now
        assert b.resolve("proj/ds:v2").manifest == rb.record.manifest
        assert b.resolve("proj/ds:mine-b").version == "v2"
        assert b.resolve("proj/ds:v1").manifest == ra.record.manifest
        pull(a)
        assert a.resolve("proj/ds:latest").manifest == rb.record.manifest
        assert a.resolve("proj/ds:mine-b").version == "v2" and a.resolve("proj/ds:mine-a").version == "v1"
        same_tree(data_b, a.get("proj/ds:v2", root=tmp_path / "out-b").root)
        same_tree(data_a, b.get("proj/ds:v1", root=tmp_path / "out-a").root)

    def test_deleting_a_version_propagates_through_push_and_pull(self, remote_url, tmp_path):
        from artctl.errors import ArtifactNotFound
        from artctl.ops.lifecycle import delete_version

        a = new_repo(tmp_path / "a", remote_url)
        d0 = tree(tmp_path / "d0", "zero", big=False)
        a.put(d0, name="proj/ds", type="dataset")
        a.put(tree(tmp_path / "d1", "one", big=False), name="proj/ds", type="dataset")
        push(a)
        b, _ = clone(remote_url.url, tmp_path / "b", options=remote_url.stored_options)
        delete_version(a, "proj/ds:v0")
        assert push(a).deleted == ["proj/ds:v0"]
        assert push(a).deleted == []
        pull(b)
        with pytest.raises(ArtifactNotFound, match="deleted"):
            b.resolve("proj/ds:v0")
        assert b.resolve("proj/ds:latest").version == "v1"
        again = a.put(d0, name="proj/ds", type="dataset")  # same content again: a new version
        assert again.record.version == "v2"
        assert push(a).versions == ["proj/ds:v2"]
        pull(b)
        assert b.resolve("proj/ds:latest").manifest == again.record.manifest

    def test_killed_push_then_rerun_completes(self, remote_url, tmp_path):
        work = tmp_path / "a"
        a = new_repo(work, remote_url)
        data = tmp_path / "data"
        for i in range(6):  # six loose objects, sent one at a time, slowly
            make_tree(data, {f"f{i}.bin": bytes([i]) * 1_050_000})
        a.put(data, name="proj/ds", type="dataset")
        backend = open_backend(remote_url.url, remote_url.storage_options)
        env = cli_env({**remote_url.env, "ARTCTL_TEST_TRANSFER_DELAY": "0.4"})
        a.repository.config.set("remote.origin.jobs", 1)
        proc = subprocess.Popen(
            [sys.executable, "-m", "artctl", "push"],
            cwd=work,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(backend.find("objects")) < 2:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        arrived = len(backend.find("objects"))
        assert 2 <= arrived < 6, arrived
        assert backend.find("registry") == [] and backend.find("manifests") == []  # no version shown
        result = run_cli("push", "--json", cwd=work, env=remote_url.env)
        assert result.returncode == 0, result
        doc = result.json()
        assert doc["objects_sent"] == 6 - arrived and doc["objects_skipped"] == arrived
        b, _ = clone(remote_url.url, tmp_path / "b", options=remote_url.stored_options)
        same_tree(data, b.get("proj/ds:v0", root=tmp_path / "out").root)

    def test_parallel_upserts_from_separate_clones_make_one_version(self, remote_url, tmp_path):
        seed = new_repo(tmp_path / "seed", remote_url)
        seed.put(tree(tmp_path / "d0", "seed", big=False), name="proj/other", type="dataset")
        push(seed)
        clones = [
            clone(remote_url.url, tmp_path / f"c{i}", options=remote_url.stored_options)[0] for i in range(3)
        ]
        shards = [
            make_tree(
                tmp_path / f"shard{i}",
                {f"shard{i}/part.txt": f"rows of shard {i}\n", "common/README": "same everywhere\n"},
            )
            for i in range(3)
        ]
        env = cli_env(remote_url.env)
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "artctl",
                    "artifact",
                    "upsert",
                    str(shards[i]),
                    "--name",
                    "proj/ds",
                    "--type",
                    "dataset",
                    "--distributed-id",
                    "job-7",
                    "--remote",
                    "origin",
                ],
                cwd=clones[i].root.parent,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(3)
        ]
        for proc in procs:
            _out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
        pull(clones[1])  # before finish, readers do not see the version
        assert [a.name for a in clones[1].registry.iter_artifacts()] == ["proj/other"]
        done = run_cli(
            "artifact",
            "finish",
            "--name",
            "proj/ds",
            "--type",
            "dataset",
            "--distributed-id",
            "job-7",
            "--remote",
            "origin",
            "--json",
            cwd=clones[0].root.parent,
            env=remote_url.env,
        )
        assert done.returncode == 0, done
        assert done.json()["files"] == 4 and done.json()["version"] == "v0"
        with pytest.raises(Conflict, match="already finished"):
            upsert(
                clones[2], shards[0], name="proj/ds", type="dataset", distributed_id="job-7", remote="origin"
            )
        pull(clones[2])
        out = clones[2].get("proj/ds:latest", root=tmp_path / "out").root
        assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
            "common/README",
            "shard0/part.txt",
            "shard1/part.txt",
            "shard2/part.txt",
        ]
        assert (out / "shard1/part.txt").read_text() == "rows of shard 1\n"


def test_repo_root_is_importable() -> None:
    assert (REPO_ROOT / "artctl" / "ops" / "remote" / "transfer.py").is_file()
