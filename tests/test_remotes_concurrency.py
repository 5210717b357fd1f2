"""Many writers, one remote, at the same time: parallel `artctl push` subprocesses from clones
that each made a different v1 all survive, with every alias kept (exclusive create and
compare-and-swap on every backend, no lock file)."""

from __future__ import annotations

import json
import subprocess
import sys

from test_remotes_contract import new_repo

from artctl.api.repo import clone
from artctl.backend import open_backend
from artctl.ops.remote.protocol import read_registry
from artctl.ops.remote.push import push

from conftest import cli_env, make_tree

WRITERS = 3


def test_parallel_pushes_of_conflicting_versions_all_survive(remote_url, tmp_path):  # type: ignore[no-untyped-def]
    seed = new_repo(tmp_path / "seed", remote_url)
    seed.put(make_tree(tmp_path / "d0", {"base.txt": "base\n"}), name="proj/ds", type="dataset")
    push(seed)
    clones = [
        clone(remote_url.url, tmp_path / f"c{i}", options=remote_url.stored_options)[0]
        for i in range(WRITERS)
    ]
    mine = []
    for i, repo in enumerate(clones):
        data = make_tree(tmp_path / f"data{i}", {"base.txt": "base\n", f"w{i}.txt": f"writer {i}\n"})
        result = repo.put(data, name="proj/ds", type="dataset", aliases=[f"from-{i}"])
        assert result.record.version == "v1"
        mine.append(result.record.manifest)
    env = cli_env(remote_url.env)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "artctl", "push", "--json"],
            cwd=repo.root.parent,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for repo in clones
    ]
    renumbered = 0
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        renumbered += len(json.loads(out)["renumbered"])
    assert renumbered == WRITERS - 1  # one writer kept v1, the others moved up
    remote = read_registry(open_backend(remote_url.url, remote_url.storage_options))["proj/ds"]
    assert sorted(remote.versions) == list(range(WRITERS + 1))
    assert {r.manifest for r in remote.versions.values()} >= set(mine)
    assert sorted(remote.aliases) == [f"from-{i}" for i in range(WRITERS)]
    for i, repo in enumerate(clones):  # each clone's own work kept its alias and content
        record = repo.resolve(f"proj/ds:from-{i}")
        assert record.manifest == mine[i]
        assert remote.versions[record.index].manifest == mine[i]
    fresh, _ = clone(remote_url.url, tmp_path / "fresh", options=remote_url.stored_options)
    for i in range(WRITERS):
        out = fresh.get(f"proj/ds:from-{i}", root=tmp_path / f"out{i}").root
        assert (out / f"w{i}.txt").read_text() == f"writer {i}\n"
