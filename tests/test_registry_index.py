"""The compacted registry index of a remote (artctl.ops.remote.index, issue 16 "Scale").

One remote of 20 artifacts x 6 versions (with a custom alias and a deletion) is built once
with the library and copied to file:// and S3 (moto) locations. A clone through the index must
give exactly the local registry a clone without it gives, in far fewer requests (counted at a
real HTTP proxy in front of moto), and the index is only ever a cache: damaged, stale or
superseded indexes are ignored or replaced, never trusted.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from countproxy import CountingProxy

from servers import StorageServer, make_s3_bucket

ARTIFACTS, VERSIONS = 20, 6
# Files on the remote: 30 artifact records, 300 version records, 300 manifests, 1 alias
# snapshot, 1 tombstone. A clone without an index GETs each of them and each pack index.
FILES = ARTIFACTS * (2 * VERSIONS + 1) + 2
# A clone through a current index: FORMAT twice, a few listings (registry, index, runs,
# packs, objects), the index, and nothing per file.
INDEXED_BOUND = 30


class Source(NamedTuple):
    remote: Path  # the pushed remote's tree (file://), with the index push wrote
    repo: Path


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    """The 20 x 6 remote, built once in-process (tiny distinct files, one push)."""
    from artctl.api.repo import Repo
    from artctl.ops.lifecycle import delete_version
    from artctl.ops.remote.config import add_remote
    from artctl.ops.remote.push import push

    base = tmp_path_factory.mktemp("index-source")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(base / "xdg-cache"))
        mp.setenv("XDG_CONFIG_HOME", str(base / "xdg"))
        mp.delenv("ARTCTL_CACHE_DIR", raising=False)
        mp.setenv("ARTCTL_CORE_FSYNC", "false")
        repo, _ = Repo.init(base / "repo")
        data = base / "f.txt"
        for a in range(ARTIFACTS):
            for v in range(VERSIONS):
                data.write_text(f"{a}-{v}\n")
                repo.put(
                    data, name=f"p/a{a:02d}", type="dataset", aliases=["best"] if (a, v) == (0, 5) else ()
                )
        delete_version(repo, "p/a01:v2")
        add_remote(repo, "origin", (base / "remote").as_uri(), None, default=True)
        push(repo)
        repo.close()
    yield Source(base / "remote", base / "repo")


def _tree(root: Path, *tops: str) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for top in tops
        for p in sorted((root / top).rglob("*"))
        if p.is_file()
    }


def _local(clone: Path) -> dict[str, bytes]:
    """What a clone holds of the remote's metadata: its registry and manifests (not the
    markers of which manifests came from a remote)."""
    return {
        k: v
        for k, v in _tree(clone / ".artifacts", "registry", "manifests").items()
        if not k.endswith(".remote")
    }


class Location:
    """The remote at one backend: its URL, clone options, and raw file access for the test."""

    def __init__(
        self,
        url: str,
        fs: Any,
        root: str,
        proxy: CountingProxy | None = None,
        options: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.url, self.fs, self.root, self.proxy = url, fs, root, proxy
        self.options, self.env = options or [], env or {}

    def path(self, key: str) -> str:
        return f"{self.root}/{key}"

    def indexes(self) -> list[str]:
        found = self.fs.find(self.path("index")) if self.fs.exists(self.path("index")) else []
        return sorted(p.rsplit("/", 1)[-1] for p in found)

    def read(self, key: str) -> bytes:
        return bytes(self.fs.cat_file(self.path(key)))

    def write(self, key: str, data: bytes) -> None:
        self.fs.pipe_file(self.path(key), data)

    def delete(self, key: str) -> None:
        self.fs.rm_file(self.path(key))

    def invalidate(self) -> None:
        self.fs.invalidate_cache()


@pytest.fixture
def location(request: pytest.FixtureRequest, source: Source, tmp_path: Path) -> Iterator[Location]:
    """A fresh copy of the source remote on file:// or, for tests parametrized with
    ``backend="s3"``, on S3 behind a counting proxy (where requests are counted)."""
    if getattr(request, "param", "file") == "file":
        import fsspec

        root = tmp_path / "remote"
        shutil.copytree(source.remote, root)
        yield Location(root.as_uri(), fsspec.filesystem("file"), str(root))
        return
    server: StorageServer = request.getfixturevalue("s3_server")
    fs = server.filesystem()
    bucket = make_s3_bucket(server)
    fs.put(str(source.remote) + "/", f"{bucket}/repo", recursive=True)
    assert fs.exists(f"{bucket}/repo/FORMAT")
    with CountingProxy(server.endpoint_url) as proxy:
        options = ["-o", f"client_kwargs.endpoint_url={proxy.url}"]
        yield Location(f"s3://{bucket}/repo", fs, f"{bucket}/repo", proxy, options, dict(server.env))


@pytest.fixture
def clone(cli, workdir: Path):  # type: ignore[no-untyped-def]
    """``clone(location, name)`` → (clone directory, requests it sent, or None on file://).

    Every CLI call of the test skips fsync: local durability is not what is tested here, and
    300 versions cost ~2,000 fsyncs per clone on a busy disk."""
    cli.env["ARTCTL_CORE_FSYNC"] = "false"

    def run(where: Location, name: str) -> tuple[Path, int | None]:
        where.invalidate()
        if where.proxy is not None:
            where.proxy.reset()
        cli.ok("clone", where.url, name, *where.options, env=where.env)
        return workdir / name, where.proxy.total if where.proxy is not None else None

    return run


def _without_index(where: Location) -> None:
    for name in where.indexes():
        where.delete(f"index/{name}")


def _plain_clone(where: Location, clone, name: str) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    """What a clone without any index holds (the oracle); the indexes are put back after."""
    saved = {n: where.read(f"index/{n}") for n in where.indexes()}
    _without_index(where)
    directory, _ = clone(where, name)
    for n, data in saved.items():
        where.write(f"index/{n}", data)
    return _local(directory)


BOTH = pytest.mark.parametrize(
    "location", ["file", pytest.param("s3", marks=pytest.mark.servers)], indirect=True
)


@BOTH
def test_push_writes_an_index_and_a_clone_through_it_is_identical_and_cheap(location, clone) -> None:
    assert len(location.indexes()) == 1  # the push of 500 files passed the threshold
    with_index, requests_with = clone(location, "with")
    with_requests = list(location.proxy.requests) if location.proxy is not None else []
    _without_index(location)
    without, requests_without = clone(location, "without")
    assert _local(with_index) == _local(without)
    versions = [k for k in _local(without) if re.fullmatch(r"registry/p/a\d+/versions/v\d+\.json", k)]
    assert len(versions) == ARTIFACTS * VERSIONS - 1  # the deleted one is not fetched
    if location.proxy is not None:
        assert requests_without is not None and requests_without >= FILES
        assert requests_with is not None and requests_with <= INDEXED_BOUND, with_requests


@pytest.mark.parametrize(
    ("location", "damage"),
    [
        ("file", "truncated"),
        ("file", "flipped"),
        ("file", "garbage newer"),
        pytest.param("s3", "garbage newer", marks=pytest.mark.servers),
    ],
    indirect=["location"],
)
def test_a_damaged_index_is_ignored(location, clone, damage: str) -> None:
    (name,) = location.indexes()
    data = location.read(f"index/{name}")
    if damage == "truncated":
        location.write(f"index/{name}", data[: len(data) // 2])
    elif damage == "flipped":
        location.write(f"index/{name}", data[:100] + bytes([data[100] ^ 1]) + data[101:])
    else:  # a newer name whose bytes are not what it names: the older, valid one is used
        seq, written, _ = name.split("-", 2)
        bogus = gzip.compress(b'{"format":1}\n')
        location.write(f"index/{int(seq) + 1:010d}-{written}-{'0' * 64}.jsonl.gz", bogus)
    damaged, requests = clone(location, "damaged")
    _without_index(location)
    plain, _ = clone(location, "plain")
    assert _local(damaged) == _local(plain)
    if location.proxy is not None and damage == "garbage newer":
        assert requests is not None and requests <= INDEXED_BOUND + 1


def test_index_entries_of_files_no_longer_listed_are_ignored(location, clone) -> None:
    """The listing is the truth: a version record or alias snapshot deleted after the index
    was written is not brought back by it."""
    from artctl.backend import open_backend
    from artctl.ops.remote.indexed import IndexedBackend

    assert len(location.indexes()) == 1
    gone, changed, kept = (
        "registry/p/a03/versions/v4.json",
        "registry/p/a03/versions/v5.json",
        "registry/p/a03/versions/v3.json",
    )
    location.delete(gone)
    location.delete("registry/p/a00/aliases/0000000000.json")
    location.write(changed, location.read(changed) + b" ")  # not what the index holds
    # by key, as a reader that lists and then reads (or reads a name it made up) would
    backend = IndexedBackend(open_backend(location.url))
    listed = backend.find("registry")
    assert gone not in listed and kept in listed
    assert backend.read_or_none(gone) is None
    assert backend.read_many([gone, changed]) == {gone: None, changed: location.read(changed)}
    assert backend.requests_saved == 0
    assert backend.read(kept) == location.read(kept) and backend.requests_saved == 1
    location.write(changed, location.read(changed)[:-1])
    cloned, _ = clone(location, "c")
    files = _local(cloned)
    assert "registry/p/a03/versions/v4.json" not in files
    assert "registry/p/a03/versions/v3.json" in files
    assert not any(k.startswith("registry/p/a00/aliases") for k in files)
    _without_index(location)
    plain, _ = clone(location, "plain")
    assert files == _local(plain)


def test_files_newer_than_the_index_are_read_and_push_renews_the_index(
    location, clone, cli, workdir, monkeypatch
) -> None:
    """Changes pushed after the index are read one by one until push passes the threshold
    (lowered to 12 files here, so a few puts cross it)."""
    from artctl.ops.remote import index

    monkeypatch.setattr(index, "THRESHOLD", 12)
    base, _ = clone(location, "base")
    env = location.env
    data = workdir / "new.txt"
    for v in range(3):
        data.write_text(f"new {v}\n")
        cli.ok("artifact", "put", str(data), "--name", "p/a05", "--type", "dataset", cwd=base)
    cli.ok("alias", "add", "p/a05:v7", "prod", cwd=base)
    cli.ok("artifact", "rm", "p/a06:v1", cwd=base)
    cli.ok("push", cwd=base, env=env)
    (first,) = location.indexes()  # few new files: no new index
    fresh, requests = clone(location, "fresh")
    assert _local(fresh) == _plain_clone(location, clone, "plain1")
    assert "registry/p/a05/versions/v8.json" in _local(fresh)
    if location.proxy is not None:  # 3 records, manifests and pack indexes, alias snapshot, tombstone
        assert requests is not None and requests <= INDEXED_BOUND + 11
    for v in range(2):  # with the 11 above: past the threshold
        data.write_text(f"more {v}\n")
        cli.ok("artifact", "put", str(data), "--name", "p/b", "--type", "model", cwd=base)
    cli.ok("push", cwd=base, env=env)
    indexes = location.indexes()
    assert len(indexes) == 2 and indexes[0] == first  # the older one stays for the grace period
    again, requests = clone(location, "again")
    assert _local(again) == _plain_clone(location, clone, "plain2")
    if location.proxy is not None:
        assert requests is not None and requests <= INDEXED_BOUND
    result = cli.ok("remote", "compact", "--grace-period", "0", "--json", cwd=base, env=env)
    assert '"written": null' in result.stdout
    assert location.indexes() == indexes[1:]


def test_concurrent_compactions_both_write_valid_indexes(source: Source, tmp_path: Path, clone) -> None:
    from artctl.backend import open_backend
    from artctl.ops.remote import index

    root = tmp_path / "remote"
    shutil.copytree(source.remote, root)
    for name in os.listdir(root / "index"):
        (root / "index" / name).unlink()
    (root / "registry/p/a07/versions/v5.json").unlink()  # so the index differs from the source's
    reports: list[index.CompactReport] = []
    start = threading.Barrier(2)

    def compact(now: float) -> None:
        start.wait()
        reports.append(index.compact(open_backend(root.as_uri()), now=now))

    threads = [threading.Thread(target=compact, args=(t,)) for t in (1_000_000, 2_000_000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Usually both write (each saw no index); one that starts after the other has written
    # finds that index current and writes none. Either way every index is valid.
    written = sorted(os.listdir(root / "index"))
    assert 1 <= len(written) == len([r for r in reports if r.written]) <= 2
    backend = open_backend(root.as_uri())
    files = index.listing(backend)
    assert len(files) > FILES
    for name in written:
        found = index.parse_key(f"index/{name}")
        assert found is not None
        entries = index.decode((root / "index" / name).read_bytes(), found.ident)
        assert entries is not None and set(entries) == set(files)
    assert index.newest(backend) is not None
    import fsspec

    where = Location(root.as_uri(), fsspec.filesystem("file"), str(root))
    cloned, _ = clone(where, "c")
    assert "registry/p/a07/versions/v5.json" not in _local(cloned)
    assert len([k for k in _local(cloned) if k.startswith("registry/p/a07/versions/")]) == VERSIONS - 1


def test_compact_refuses_a_location_that_is_not_an_artctl_remote(cli, repo_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    cli.ok("remote", "add", "empty", empty.as_uri())
    result = cli.fails("remote", "compact", "empty")
    assert "there is nothing to compact" in result.stderr
    assert not (empty / "index").exists()
