"""Remote commands through the CLI, and every bad input of the remotes issue: unreachable
endpoint, wrong credentials, missing bucket, non-artctl remote, tampered object / pack /
manifest on the remote. Each is one clear line, exit 1, nothing written outside the repository
and nothing local lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from artctl.backend import open_backend
from artctl.base.hashing import hash_bytes
from artctl.errors import RemoteError

from conftest import make_tree, run_cli
from servers import AZURITE_ACCOUNT, free_port


def put_and_remote(cli, repo_dir: Path, url: str, *options: str) -> None:  # type: ignore[no-untyped-def]
    make_tree(repo_dir / "data", {"a.txt": "alpha\n", "sub/b.txt": "beta\n", "big.bin": b"\x07" * 1_100_000})
    cli.ok("artifact", "put", "data", "--name", "proj/ds", "--type", "dataset")
    args = [a for o in options for a in ("-o", o)]
    cli.ok("remote", "add", "origin", url, "--default", *args)


def assert_nothing_lost(cli) -> None:  # type: ignore[no-untyped-def]
    cli.ok("artifact", "verify")
    assert [v["version"] for v in cli.ok("artifact", "ls", "proj/ds", "--json").json()] == ["v0"]


def test_remote_add_ls_rm_and_default(cli, repo_dir: Path, tmp_path: Path) -> None:
    first = cli.ok("remote", "add", "origin", (tmp_path / "r1").as_uri(), "--json").json()
    assert first == {
        "name": "origin",
        "url": (tmp_path / "r1").as_uri(),
        "options": {},
        "default": True,
        "sources": {"url": "repository"},
    }
    cli.ok(
        "remote",
        "add",
        "cloud",
        "s3://bucket/prefix",
        "-o",
        "endpoint_url=http://127.0.0.1:1",
        "-o",
        "secret=env:CLOUD_SECRET",  # a credential is stored as the variable that holds it
        "-o",
        "client_kwargs.region_name=eu-west-1",
    )
    listed = cli.ok("remote", "ls", "--json").json()
    assert [r["name"] for r in listed] == ["cloud", "origin"]
    assert (
        listed[0]["options"]["secret"] == "env:CLOUD_SECRET"
        and listed[0]["options"]["endpoint_url"] == "http://127.0.0.1:1"
    )
    from_env = cli.ok("remote", "ls", "--json", env={"ARTCTL_REMOTE_CLOUD_OPTIONS_SECRET": "s3cr3t"}).json()
    assert from_env[0]["options"]["secret"] == "***"  # a secret from the environment is masked
    assert listed[0]["default"] is False and listed[1]["default"] is False  # two remotes, none chosen
    no_default = cli.fails("push")
    assert "none is the default" in no_default.stderr
    cli.fails("remote", "add", "origin", "file:///x")
    cli.fails("remote", "add", "bad name", "file:///x", code=2)
    cli.fails("remote", "add", "x", "s3://", code=2)
    assert cli.ok("remote", "rm", "cloud", "--json").json()["removed"] == "cloud"
    assert [r["default"] for r in cli.ok("remote", "ls", "--json").json()] == [True]
    cli.fails("remote", "rm", "cloud")
    cli.ok("remote", "rm", "origin")
    assert "hint: add one with `artctl remote add" in cli.fails("push").stderr


def test_cli_push_clone_pull_json_shapes(cli, repo_dir: Path, tmp_path: Path) -> None:
    url = (tmp_path / "remote").as_uri()
    put_and_remote(cli, repo_dir, url)
    pushed = cli.ok("push", "--json").json()
    assert pushed["objects_sent"] == 3 and pushed["initialized"] is True
    assert set(pushed) >= {"bytes_sent", "objects_skipped", "bytes_skipped", "versions", "renumbered"}
    assert cli.ok("push", "origin", "proj/ds:v0", "--json").json()["objects_sent"] == 0
    cloned = cli.ok("clone", url, str(tmp_path / "b"), "--all", "--json").json()
    assert cloned["direction"] == "clone" and cloned["objects_fetched"] == 3
    assert cloned["root"] == str(tmp_path / "b")
    b = tmp_path / "b"
    got = run_cli("artifact", "get", "proj/ds:latest", "--root", "out", cwd=b)
    assert got.returncode == 0 and (b / "out" / "big.bin").read_bytes() == b"\x07" * 1_100_000
    pulled = run_cli("pull", "origin", "proj/ds", "--json", cwd=b)
    assert pulled.returncode == 0 and json.loads(pulled.stdout)["objects_fetched"] == 0
    missing = run_cli("pull", "origin", "proj/nope", cwd=b)
    assert missing.returncode == 1 and "not on remote origin" in missing.stderr
    for command in (
        ["remote"],
        ["remote", "add"],
        ["push"],
        ["pull"],
        ["clone"],
        ["artifact", "upsert"],
        ["artifact", "finish"],
    ):
        text = cli.ok(*command, "--help").stdout
        assert "Example" in text, command


def test_unreachable_endpoint(cli, repo_dir: Path) -> None:
    cli.env = {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}  # the AWS chain
    put_and_remote(cli, repo_dir, "s3://some-bucket", f"endpoint_url=http://127.0.0.1:{free_port()}")
    result = cli.fails("push")
    assert "cannot reach remote s3://some-bucket" in result.stderr
    assert_nothing_lost(cli)
    clone = cli.fails(
        "clone", "gs://bucket", "c", "-o", f"endpoint_url=http://127.0.0.1:{free_port()}", "-o", "token=anon"
    )
    assert "cannot reach" in clone.stderr and not (repo_dir / "c").exists()


def test_a_refused_login_never_reads_as_an_empty_file(azure_container: str, azure_server) -> None:  # type: ignore[no-untyped-def]
    """Azure refuses a bad key with a request id and a time in the message; one with "416" in it
    was taken for a refused range (an empty object), so about one push in ten said the remote's
    FORMAT was "not artctl's" instead of "access denied"."""
    conn = azure_server.storage_options["connection_string"].replace("AccountKey=", "AccountKey=AAAA")
    backend = open_backend(azure_container, {"connection_string": conn})
    for _ in range(100):  # request ids are random: many reads, so some of them hold a "416"
        with pytest.raises(RemoteError, match="access denied"):
            backend.read("FORMAT")
        with pytest.raises(RemoteError, match="access denied"):
            backend.read_range("FORMAT", 0, 1)


def test_only_a_refused_range_counts_as_no_bytes() -> None:
    """The status the SDK attached decides, or the error's name; not a "416" inside other text."""
    from artctl.backend.cloud import _empty_range

    denied = PermissionError(
        "Server failed to authenticate the request. RequestId:9b2f4161-0001 Time:23:41:16"
    )
    assert not _empty_range(denied)
    assert not _empty_range(OSError("Forbidden: 416 bytes of policy"))
    refused = OSError("The range specified is invalid")
    refused.status_code = 416  # type: ignore[attr-defined]  # azure.core's HttpResponseError
    assert _empty_range(refused)
    try:
        try:
            raise refused
        except OSError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert _empty_range(outer)  # the cause decides
    assert _empty_range(OSError("An error occurred (InvalidRange) when calling the GetObject operation"))
    assert _empty_range(OSError("Requested range not satisfiable"))


def test_only_an_existing_file_loses_an_exclusive_create() -> None:
    """A failed create whose message holds "409" or "412" (a request id) is not a lost race:
    taking it for one would let a writer believe another wrote a file nobody wrote."""
    from artctl.backend.cloud import _lost_create_race

    assert not _lost_create_race(OSError("Service unavailable. RequestId:1a2b4121-0409 Time:23:41:09"))
    exists = OSError("The specified blob already exists")
    assert _lost_create_race(exists)
    failed = OSError("Conditional request failed")
    failed.status = 412  # type: ignore[attr-defined]  # aiohttp's ClientResponseError
    assert _lost_create_race(failed)


def test_wrong_credentials(cli, repo_dir: Path, azure_container: str, azure_server) -> None:  # type: ignore[no-untyped-def]
    conn = (
        azure_server.storage_options["connection_string"]
        .replace("AccountKey=", "AccountKey=AAAA")
        .replace(f"AccountName={AZURITE_ACCOUNT}", f"AccountName={AZURITE_ACCOUNT}")
    )
    cli.env = {**azure_server.env, "AZURE_STORAGE_CONNECTION_STRING": conn}  # the Azure chain
    put_and_remote(cli, repo_dir, azure_container)
    result = cli.fails("push")
    assert "access denied" in result.stderr or "authoriz" in result.stderr.lower(), result.stderr
    assert_nothing_lost(cli)


def test_missing_bucket(cli, repo_dir: Path, s3_server) -> None:  # type: ignore[no-untyped-def]
    cli.env = dict(s3_server.env)  # the AWS chain
    put_and_remote(cli, repo_dir, "s3://no-such-bucket-here", f"endpoint_url={s3_server.endpoint_url}")
    result = cli.fails("push")
    assert "'no-such-bucket-here'" in result.stderr and "does not exist" in result.stderr
    assert_nothing_lost(cli)


def test_remote_that_is_not_artctl(cli, repo_dir: Path, tmp_path: Path, s3_server, s3_bucket: str) -> None:  # type: ignore[no-untyped-def]
    foreign = make_tree(tmp_path / "foreign", {"photos/cat.jpg": "not ours\n"})
    put_and_remote(cli, repo_dir, foreign.as_uri())
    result = cli.fails("push")
    assert "is not an artctl remote" in result.stderr
    assert sorted(p.name for p in foreign.rglob("*")) == ["cat.jpg", "photos"]  # untouched
    fs = s3_server.filesystem()
    fs.pipe(f"{s3_bucket[5:]}/FORMAT", b'{"kind": "something-else"}')
    clone = cli.fails(
        "clone", s3_bucket, "c", "-o", f"endpoint_url={s3_server.endpoint_url}", env=s3_server.env
    )
    assert "not an artctl repository" in clone.stderr and not (repo_dir / "c").exists()
    empty = cli.fails("clone", (tmp_path / "empty").as_uri(), "c2")
    assert "does not exist" in empty.stderr or "nothing to pull" in empty.stderr


def test_tampered_object_on_remote_is_refused_and_nothing_stored(cli, repo_dir: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    put_and_remote(cli, repo_dir, remote.as_uri())
    cli.ok("push")
    big = hash_bytes(b"\x07" * 1_100_000)
    loose = remote / "objects" / big[:2] / big[2:]
    loose.chmod(0o644)
    loose.write_bytes(b"\x08" * 1_100_000)
    b = tmp_path / "b"
    assert run_cli("clone", remote.as_uri(), str(b), cwd=tmp_path).returncode == 0
    got = run_cli("artifact", "get", "proj/ds:latest", "--root", "out", cwd=b)
    assert got.returncode == 1 and got.stderr.startswith("error: ") and "corrupt" in got.stderr, got
    assert not (b / "out" / "big.bin").exists()
    assert not (b / ".artifacts" / "objects" / big[:2] / big[2:]).exists()
    # a tampered pack is refused by pull --all as well, and nothing of it is adopted
    pack = next((remote / "packs").glob("*.pack"))
    pack.chmod(0o644)
    data = bytearray(pack.read_bytes())
    data[-1] ^= 0xFF
    pack.write_bytes(bytes(data))
    c = tmp_path / "c"
    fresh = {"ARTCTL_CACHE_DIR": str(tmp_path / "c-cache")}  # b's get put the honest pack in b's cache
    assert run_cli("clone", remote.as_uri(), str(c), cwd=tmp_path, env=fresh).returncode == 0
    pulled = run_cli("pull", "--all", cwd=c, env=fresh)
    assert pulled.returncode == 1 and "corrupt" in pulled.stderr, pulled
    assert list((c / ".artifacts" / "packs").glob("*.pack")) == []


def test_tampered_manifest_with_parent_paths_is_refused_before_anything_is_written(
    cli, repo_dir: Path, tmp_path: Path
) -> None:
    remote = tmp_path / "remote"
    put_and_remote(cli, repo_dir, remote.as_uri())
    cli.ok("push")
    evil = (
        b'{"format":1,"kind":"artctl-manifest"}\n'
        b'{"digest":"' + hash_bytes(b"alpha\n").encode() + b'","path":"../../escaped.txt","size":6}\n'
    )
    digest = hash_bytes(evil)  # a valid name: the attack is the content, not the digest
    backend = open_backend(remote.as_uri())
    backend.write(f"manifests/{digest[:2]}/{digest[2:]}.jsonl", evil)
    record = json.loads((remote / "registry/proj/ds/versions/v0.json").read_text())
    record.update(index=1, manifest=digest)
    backend.write("registry/proj/ds/versions/v1.json", json.dumps(record).encode())
    result = cli.fails("clone", remote.as_uri(), str(tmp_path / "b"))
    assert "'..' segment" in result.stderr
    assert not (tmp_path / "b").exists() and not (tmp_path / "escaped.txt").exists()
    pulled = cli.fails("pull")
    assert "'..' segment" in pulled.stderr
    assert_nothing_lost(cli)
    assert not (repo_dir / ".artifacts" / "manifests" / digest[:2] / f"{digest[2:]}.jsonl").exists()
    assert not list(tmp_path.rglob("escaped.txt"))


def test_unknown_remote_name_is_named_as_such(cli, repo_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`push nope` with no remote called nope says so, instead of parsing it as an artifact."""
    cli.ok("remote", "add", "origin", (tmp_path / "r").as_uri(), "--default")
    for command in ("push", "pull"):
        result = cli.fails(command, "nope")
        assert "no remote 'nope'" in result.stderr and "origin" in result.stderr


def test_remote_with_unknown_protocol_is_refused_when_added(cli, repo_dir) -> None:  # type: ignore[no-untyped-def]
    result = cli.fails("remote", "add", "origin", "notaurl://bucket/x", code=2)
    assert "unknown storage protocol" in result.stderr
    assert cli.ok("remote", "ls", "--json").json() == []
