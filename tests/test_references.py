"""References: each scheme round-trips, unchanged state makes no new version, overwritten data
is fetched at its recorded version (versioned buckets) or refused clearly (everything else).

Real servers only: moto (S3), fake-gcs-server (GCS), Azurite (Azure), an http.server started
here, and a plain directory standing for an NFS mount (file://).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from artctl.api.repo import Repo
from artctl.errors import InvalidInput, ObjectNotFound, ReferenceChanged

from refhelpers import http_files
from servers import StorageServer

SERVER = {"s3": "s3_server", "gs": "gcs_server", "az": "azure_server"}
BUCKET = {
    ("s3", False): "s3_bucket",
    ("s3", True): "s3_versioned_bucket",
    ("gs", False): "gcs_bucket",
    ("gs", True): "gcs_versioned_bucket",
    ("az", False): "azure_container",
}


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def cloud(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """``(server, bucket_url, versioned)`` for the parametrized pair; the env is set for us."""
    scheme, versioned = request.param
    server: StorageServer = request.getfixturevalue(SERVER[scheme])
    bucket: str = request.getfixturevalue(BUCKET[(scheme, versioned)])
    for key, value in server.env.items():
        monkeypatch.setenv(key, value)
    return server, bucket, versioned


# -- object stores -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cloud",
    [("s3", False), ("s3", True), ("gs", False), ("gs", True), ("az", False)],
    indirect=True,
    ids=["s3", "s3-versioned", "gs", "gs-versioned", "az"],
)
def test_cloud_prefix_round_trips_and_overwrite(cloud, repo: Repo, workdir: Path) -> None:  # type: ignore[no-untyped-def]
    server, bucket, versioned = cloud
    fs = server.filesystem()
    files = {"a.txt": b"alpha\n", "sub/b.bin": os.urandom(3000)}
    for rel, data in files.items():
        fs.pipe_file(f"{bucket}/data/{rel}", data)

    with pytest.raises(ObjectNotFound, match="no object at"):
        repo.put(f"{bucket}/absent", name="p/ds", type="dataset")
    with pytest.raises(InvalidInput, match="more than 1 object "):
        repo.put(f"{bucket}/data", name="p/ds", type="dataset", max_objects=1)
    first = repo.put(f"{bucket}/data", name="p/ds", type="dataset")
    assert first.created and first.record.files == 2 and first.record.size == 6 + 3000
    entries = {e.path: e for e in repo.manifest(first.record)}
    assert set(entries) == set(files)
    assert entries["a.txt"].ref == f"{bucket}/data/a.txt" and entries["a.txt"].ref_state

    again = repo.put(f"{bucket}/data", name="p/ds", type="dataset")
    assert not again.created and again.record.version == "v0"

    out = repo.get("p/ds:v0", root=workdir / "out0").root
    assert read_tree(out) == files

    fs.pipe_file(f"{bucket}/data/a.txt", b"ALPHA changed\n")
    changed = repo.put(f"{bucket}/data", name="p/ds", type="dataset")
    assert changed.created and changed.record.version == "v1"
    assert repo.diff("p/ds:v0", "p/ds:v1").changed == ["a.txt"]

    # v0 was already fetched once: its bytes are cached and still served.
    assert read_tree(repo.get("p/ds:v0", root=workdir / "out1").root) == files

    # A fresh clone of the metadata (no cached bytes): only a versioned bucket can serve v0.
    fresh = Repo.init(workdir / "fresh")[0]
    fresh.put(f"{bucket}/data", name="p/ds", type="dataset")  # records the current state (v0 here)
    fs.pipe_file(f"{bucket}/data/a.txt", b"third state\n")
    if versioned:
        got = read_tree(fresh.get("p/ds:v0", root=workdir / "out2").root)
        assert got == {"a.txt": b"ALPHA changed\n", "sub/b.bin": files["sub/b.bin"]}
    else:
        with pytest.raises(ReferenceChanged, match=r"reference a\.txt .*changed since it was logged"):
            fresh.get("p/ds:v0", root=workdir / "out2")
        assert not (workdir / "out2" / "a.txt").exists()


def test_s3_single_object_via_cli_with_name_and_refs_only(
    cli, repo_dir: Path, s3_server: StorageServer, s3_versioned_bucket: str
) -> None:  # type: ignore[no-untyped-def]
    fs = s3_server.filesystem()
    fs.pipe_file(f"{s3_versioned_bucket}/models/m.pt", b"weights-1")
    env = s3_server.env
    put = cli.ok(
        "artifact",
        "put",
        f"{s3_versioned_bucket}/models/m.pt",
        "--name",
        "p/model",
        "--type",
        "model",
        "--json",
        env=env,
    ).json()
    assert put["created"] and put["files"] == 1 and put["size"] == 9
    show = cli.ok("artifact", "show", "p/model", "--json", env=env).json()
    assert show["entries"] == [
        {"path": "m.pt", "size": 9, "digest": None, "ref": f"{s3_versioned_bucket}/models/m.pt"}
    ]
    refs = cli.ok("artifact", "get", "p/model", "--refs-only", env=env)
    assert refs.stdout == f"m.pt\t{s3_versioned_bucket}/models/m.pt\n"
    assert not (repo_dir / "artifacts").exists()
    fs.pipe_file(f"{s3_versioned_bucket}/models/m.pt", b"weights-2")
    root = cli.ok("artifact", "get", "p/model", "--root", "out", env=env).stdout.strip()
    assert (Path(root) / "m.pt").read_bytes() == b"weights-1"
    cli.ok("artifact", "verify", "p/model", env=env)


def test_azure_overwritten_blob_fails_clearly_via_cli(
    cli, repo_dir: Path, azure_server: StorageServer, azure_container: str
) -> None:  # type: ignore[no-untyped-def]
    """Azurite keeps no old versions: an overwritten blob cannot be served, and get says why."""
    fs = azure_server.filesystem()
    fs.pipe_file(f"{azure_container}/d/x.csv", b"1,2\n")
    env = azure_server.env
    cli.ok("artifact", "put", f"{azure_container}/d", "--name", "p/t", "--type", "table", env=env)
    abfs = cli.ok(
        "artifact",
        "put",
        f"abfs://{azure_container[5:]}/d/x.csv",
        "--name",
        "p/t2",
        "--type",
        "table",
        "--json",
        env=env,
    ).json()
    assert abfs["files"] == 1 and abfs["size"] == 4
    fs.pipe_file(f"{azure_container}/d/x.csv", b"3,4\n")
    bad = cli.fails("artifact", "get", "p/t", "--root", "out", env=env)
    assert bad.stderr.count("error:") == 1
    assert (
        "reference x.csv" in bad.stderr
        and "etag" in bad.stderr
        and "changed since it was logged" in bad.stderr
    )
    assert not (repo_dir / "out" / "x.csv").exists()


def test_s3_missing_object_and_too_many(
    cli, repo_dir: Path, s3_server: StorageServer, s3_bucket: str
) -> None:  # type: ignore[no-untyped-def]
    fs = s3_server.filesystem()
    for i in range(3):
        fs.pipe_file(f"{s3_bucket}/many/f{i}", b"x%d" % i)
    fs.pipe_file(
        f"{s3_bucket}/many-more/not-under-the-prefix", b"y"
    )  # "many" is a directory, not a string prefix
    env = s3_server.env
    missing = cli.fails(
        "artifact", "put", f"{s3_bucket}/nothing-here", "--name", "p/x", "--type", "d", env=env
    )
    assert "no object at" in missing.stderr and "nothing-here" in missing.stderr
    many = cli.fails(
        "artifact",
        "put",
        f"{s3_bucket}/many",
        "--name",
        "p/x",
        "--type",
        "d",
        "--max-objects",
        "2",
        env=env,
        code=2,
    )
    assert "more than 2 objects" in many.stderr and "--max-objects" in many.stderr
    ok = cli.ok(
        "artifact",
        "put",
        f"{s3_bucket}/many",
        "--name",
        "p/x",
        "--type",
        "d",
        "--max-objects",
        "3",
        "--json",
        env=env,
    ).json()
    assert ok["files"] == 3


def test_python_api_add_reference(
    repo: Repo,
    workdir: Path,
    gcs_server: StorageServer,
    gcs_versioned_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import artctl

    for key, value in gcs_server.env.items():
        monkeypatch.setenv(key, value)
    fs = gcs_server.filesystem()
    fs.pipe_file(f"{gcs_versioned_bucket}/imgs/a.png", b"png-a")
    fs.pipe_file(f"{gcs_versioned_bucket}/imgs/b.png", b"png-b")
    art = artctl.Artifact("refs", type="dataset")
    art.add_reference(f"{gcs_versioned_bucket}/imgs", name="images")
    art.add_reference(f"{gcs_versioned_bucket}/imgs/a.png", name="cover.png")
    art.save(project="p")
    assert art.get_path("images/b.png").ref == f"{gcs_versioned_bucket}/imgs/b.png"
    assert {e.path: e.ref for e in art.manifest()}["cover.png"] == f"{gcs_versioned_bucket}/imgs/a.png"
    root = Path(art.download(root=workdir / "dl"))
    assert read_tree(root) == {"cover.png": b"png-a", "images/a.png": b"png-a", "images/b.png": b"png-b"}


# -- file:// (a directory standing for an NFS mount) ------------------------------------------------


@pytest.fixture
def nfs(tmp_path: Path) -> Path:
    mount = tmp_path / "mnt" / "datasets" / "mnist"
    (mount / "train").mkdir(parents=True)
    (mount / "train" / "0.png").write_bytes(b"zero")
    (mount / "train" / "1.png").write_bytes(b"one")
    (mount / "labels.csv").write_bytes(b"0,1\n")
    return mount


def test_file_reference_round_trip_and_overwrite(cli, repo_dir: Path, nfs: Path) -> None:  # type: ignore[no-untyped-def]
    uri = nfs.as_uri() + "/"
    first = cli.ok("artifact", "put", uri, "--name", "p/mnist", "--type", "dataset", "--json").json()
    assert first["created"] and first["files"] == 3
    assert not cli.ok("artifact", "put", uri, "--name", "p/mnist", "--type", "dataset", "--json").json()[
        "created"
    ]
    show = cli.ok("artifact", "show", "p/mnist", "--json").json()
    assert all(e["digest"] and e["ref"].startswith("file://") for e in show["entries"])
    refs = cli.ok("artifact", "get", "p/mnist", "--refs-only", "--path-prefix", "train/", "--json").json()
    assert refs == {
        "name": "p/mnist",
        "version": "v0",
        "refs": [{"path": f"train/{i}.png", "ref": (nfs / "train" / f"{i}.png").as_uri()} for i in (0, 1)],
    }
    # The referenced file is overwritten after logging, before any get: refuse, name the path.
    (nfs / "labels.csv").write_bytes(b"tampered\n")
    bad = cli.fails("artifact", "get", "p/mnist", "--root", "out")
    assert "labels.csv" in bad.stderr and "changed since it was logged" in bad.stderr
    assert not (repo_dir / "out" / "labels.csv").exists()
    # Re-logging records the new state as a new version, which downloads fine.
    new = cli.ok("artifact", "put", uri, "--name", "p/mnist", "--type", "dataset", "--json").json()
    assert new["created"] and new["version"] == "v1"
    root = Path(cli.ok("artifact", "get", "p/mnist:v1", "--root", "out1").stdout.strip())
    assert read_tree(root) == read_tree(nfs)


def test_file_reference_served_from_cache_after_change(repo: Repo, workdir: Path, nfs: Path) -> None:
    repo.put(nfs.as_uri(), name="p/mnist", type="dataset")
    before = read_tree(nfs)
    assert read_tree(repo.get("p/mnist", root=workdir / "a").root) == before
    (nfs / "train" / "0.png").write_bytes(b"ZERO!")
    assert read_tree(repo.get("p/mnist", root=workdir / "b").root) == before  # logged bytes, cached
    assert repo.verify("p/mnist").ok


def test_file_reference_bad_input(repo: Repo, nfs: Path, tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFound, match="no file or directory"):
        repo.put((tmp_path / "nope").as_uri(), name="p/x", type="d")
    with pytest.raises(InvalidInput, match="more than 2 objects"):
        repo.put(nfs.as_uri(), name="p/x", type="d", max_objects=2)
    with pytest.raises(InvalidInput, match="local path"):
        repo.put("file://otherhost/data", name="p/x", type="d")
    with pytest.raises(InvalidInput, match="unsupported reference"):
        repo.put("ftp://host/data", name="p/x", type="d")


def test_no_checksum_records_uri_only(repo: Repo, workdir: Path, nfs: Path) -> None:
    uri = (nfs / "labels.csv").as_uri()
    result = repo.put(uri, name="p/raw", type="d", checksum=False)
    [entry] = list(repo.manifest(result.record))
    assert (entry.path, entry.ref, entry.digest, entry.ref_state) == ("labels.csv", uri, None, None)
    (nfs / "labels.csv").write_bytes(b"new,labels\n")
    assert not repo.put(uri, name="p/raw", type="d", checksum=False).created  # the URI did not change
    out = repo.get("p/raw", root=workdir / "o").root
    assert (out / "labels.csv").read_bytes() == b"new,labels\n"  # unchecked: whatever is there now
    repo.put(nfs.as_uri(), name="p/rawdir", type="d", checksum=False)
    with pytest.raises(InvalidInput, match="logged without checksum"):
        repo.get("p/rawdir", root=workdir / "d")


# -- http(s) -------------------------------------------------------------------------------------


def test_http_with_and_without_validators(repo: Repo, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with http_files() as server:
        for name in ("e", "l", "b"):
            server.set(name, f"content {name}".encode())
        ids = {}
        for mode, name in (("etag", "e"), ("lastmod", "l"), ("bare", "b")):
            url = f"{server.url}/{mode}/{name}"
            result = repo.put(url, name=f"p/{mode}", type="d")
            [entry] = list(repo.manifest(result.record))
            ids[mode] = entry
            assert entry.size == len(f"content {name}") and entry.ref == url
            assert (
                repo.get(f"p/{mode}", root=workdir / mode).root.joinpath(name).read_bytes()
                == f"content {name}".encode()
            )
            assert not repo.put(url, name=f"p/{mode}", type="d").created
        assert "etag" in ids["etag"].ref_state and ids["etag"].digest is None
        assert ids["lastmod"].ref_state == {"last_modified": "Tue, 14 Nov 2023 22:13:20 GMT"}
        assert ids["bare"].ref_state is None and ids["bare"].digest  # no validator: BLAKE3 recorded

        # The data changes under each reference; a fresh repository with its own user cache
        # (the shared one holds the bytes fetched above) has nothing cached.
        monkeypatch.setenv("ARTCTL_CACHE_DIR", str(workdir / "fresh-cache"))
        fresh = Repo.init(workdir / "fresh")[0]
        for mode, name in (("etag", "e"), ("lastmod", "l"), ("bare", "b")):
            fresh.put(f"{server.url}/{mode}/{name}", name=f"p/{mode}", type="d")
            server.set(name, f"CONTENT {name}".encode(), mtime=1_800_000_000.0)
            with pytest.raises(ReferenceChanged, match=rf"reference {name} .*changed since it was logged"):
                fresh.get(f"p/{mode}", root=workdir / f"fresh-{mode}")
            assert not (workdir / f"fresh-{mode}" / name).exists()


def test_http_bad_input(cli, repo_dir: Path) -> None:  # type: ignore[no-untyped-def]
    with http_files() as server:
        server.set("f", b"streamed")
        no_length = cli.fails("artifact", "put", f"{server.url}/nolength/f", "--name", "p/x", "--type", "d")
        assert "no Content-Length" in no_length.stderr
        missing = cli.fails("artifact", "put", f"{server.url}/etag/absent", "--name", "p/x", "--type", "d")
        assert "no object at" in missing.stderr and "404" in missing.stderr
    down = cli.fails("artifact", "put", f"{server.url}/etag/f", "--name", "p/x", "--type", "d")
    assert "cannot reach" in down.stderr


def test_references_travel_through_push_and_clone(cli, repo_dir: Path, nfs: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A clone gets the reference entries, not bytes; once the user allows file:// references
    from a remote (a shared mount), its get reads the mount and caches them."""
    remote = tmp_path / "remote"
    remote.mkdir()
    cli.ok("artifact", "put", nfs.as_uri(), "--name", "p/mnist", "--type", "dataset")
    cli.ok("remote", "add", "origin", remote.as_uri(), "--default")
    cli.ok("push")
    clone = tmp_path / "clone"
    cli.ok("clone", remote.as_uri(), str(clone))
    assert cli.ok("cache", "info", "--json", cwd=clone).json()["cache_objects"] == 0
    refused = cli.fails("artifact", "get", "p/mnist", "--root", "o", cwd=clone)
    assert "came from remote origin" in refused.stderr and "references.allow_local" in refused.stderr
    assert not (clone / "o").exists()
    cli.ok("config", "references.allow_local", "true", cwd=clone)
    out = Path(cli.ok("artifact", "get", "p/mnist", "--root", "o", cwd=clone).stdout.strip())
    assert read_tree(out) == read_tree(nfs)
    assert cli.ok("cache", "info", "--json", cwd=clone).json()["cache_objects"] == 3
