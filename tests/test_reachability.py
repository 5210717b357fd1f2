"""gc and cache cleanup act on one answer to "what is live" (artctl/ops/reachability.py).

A repository holding every kind of live thing — a draft with a staged file, an open
distributed version, a version with a TTL still running, a reference version — plus a
soft-deleted version. Every blob of it is also behind a reference (its bytes were fetched
through one), so cache cleanup is free to evict whatever is not the only copy of something live.
"""

from __future__ import annotations

import os
from pathlib import Path

from artctl.base.hashing import hash_bytes

from conftest import make_tree

MiB = 1024 * 1024


def _stored(repo_dir: Path, digest: str) -> bool:
    return (repo_dir / ".artifacts" / "objects" / digest[:2] / digest[2:]).exists()  # the on-disk format


def test_gc_and_cache_cleanup_agree_on_what_is_live(cli, repo_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # 1 MiB+ each: stored loose, so each blob is a unit of its own for cache cleanup.
    data = {kind: os.urandom(MiB + i) for i, kind in enumerate(("draft", "dist", "ttl", "deleted", "ref"))}
    digest = {kind: hash_bytes(blob) for kind, blob in data.items()}
    ref = make_tree(tmp_path / "mount", {f"{kind}.bin": blob for kind, blob in data.items()})
    cli.ok("artifact", "put", ref.as_uri(), "--name", "p/ref", "--type", "dataset")
    cli.ok("artifact", "get", "p/ref", "--root", str(tmp_path / "fetched"))  # every blob: behind a ref

    def tree(kind: str) -> Path:
        return make_tree(tmp_path / kind, {f"{kind}.bin": data[kind]})

    cli.ok("artifact", "put", str(tree("ttl")), "--name", "p/ttl", "--type", "dataset", "--ttl", "30d")
    cli.ok("artifact", "put", str(tree("deleted")), "--name", "p/gone", "--type", "dataset")
    cli.ok("artifact", "rm", "p/gone:v0")
    base = make_tree(tmp_path / "base", {"keep.txt": "base\n"})
    cli.ok("artifact", "put", str(base), "--name", "p/work", "--type", "dataset")
    draft = cli.ok("draft", "new", "p/work").stdout.strip().split()[-1]
    cli.ok("draft", "add", draft, str(tree("draft")))
    args = ("--name", "p/dist", "--type", "dataset", "--distributed-id", "d1")
    cli.ok("artifact", "upsert", str(tree("dist")), *args)

    plan = cli.ok("gc", "--grace-period", "0", "--dry-run", "--json").json()
    # The reference version names every blob (as the fetched bytes of its references): gc keeps
    # them all, and purges the deleted version.
    assert plan["purged"] == ["p/gone:v0"] and plan["objects"] == 0

    evicted = cli.ok("cache", "cleanup", "0", "--json").json()["evicted"]
    gone = {kind for kind in data if not _stored(repo_dir, digest[kind])}
    # The cache pins exactly what is live as a plain file; what gc finds dead is not pinned
    # (before one module owned this, cache cleanup kept the soft-deleted version's blob).
    assert gone == {"deleted", "ref"}
    assert len(evicted) == 2

    done = cli.ok("gc", "--grace-period", "0", "--json").json()
    assert done["purged"] == ["p/gone:v0"]
    for kind in ("draft", "dist", "ttl"):
        assert _stored(repo_dir, digest[kind]), kind
    cli.ok("draft", "commit", draft)
    cli.ok("artifact", "finish", *args)
    for name, kind in (("p/work", "draft"), ("p/dist", "dist"), ("p/ttl", "ttl")):
        root = Path(cli.ok("artifact", "get", name, "--root", str(tmp_path / "out" / kind)).stdout.strip())
        assert (root / f"{kind}.bin").read_bytes() == data[kind]
    again = Path(cli.ok("artifact", "get", "p/ref", "--root", str(tmp_path / "again")).stdout.strip())
    assert {p.name: p.read_bytes() for p in again.iterdir()} == {f"{k}.bin": v for k, v in data.items()}
    cli.ok("artifact", "verify")
