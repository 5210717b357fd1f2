"""The :class:`artctl.backend.Backend` contract, method by method, on every backend against real
servers (file, moto S3, fake-gcs-server, Azurite): what each docstring in artctl/backend/base.py
promises is what each backend does (issue 15; issue 16 puts the registry on this interface)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from artctl.backend import Backend, open_backend
from artctl.base.hashing import hash_bytes
from artctl.errors import IntegrityError

from conftest import make_tree


def _backend(remote_url) -> Backend:  # type: ignore[no-untyped-def]
    backend = open_backend(remote_url.url, remote_url.storage_options)
    assert backend.check_location() is True  # the test's folder or bucket exists
    return backend


def test_read_returns_whole_files_within_their_bound(remote_url) -> None:  # type: ignore[no-untyped-def]
    backend = _backend(remote_url)
    backend.write("r/ten", b"0123456789")
    backend.write("r/empty", b"")
    assert backend.read("r/ten", 10) == b"0123456789"
    assert backend.read("r/empty") == b""
    with pytest.raises(IntegrityError, match="larger than the 9 bytes"):
        backend.read("r/ten", 9)
    with pytest.raises(FileNotFoundError):
        backend.read("r/missing")
    assert backend.read_or_none("r/missing") is None
    assert backend.read_many(["r/ten", "r/empty", "r/missing"]) == {
        "r/ten": b"0123456789",
        "r/empty": b"",
        "r/missing": None,
    }
    with pytest.raises(IntegrityError):
        backend.read_many(["r/ten"], 9)


def test_read_range_and_exists(remote_url) -> None:  # type: ignore[no-untyped-def]
    backend = _backend(remote_url)
    backend.write("r/ten", b"0123456789")
    backend.write("r/empty", b"")
    assert backend.read_range("r/ten", 2, 5) == b"234"
    assert backend.read_range("r/ten", 8, 20) == b"89"
    assert backend.read_range("r/ten", 12, 20) == b""  # past the end: no bytes, no error
    assert backend.read_range("r/empty", 0, 1) == b""
    with pytest.raises(FileNotFoundError):
        backend.read_range("r/missing", 0, 1)
    assert backend.exists("r/ten") is True
    assert backend.exists("r/empty") is True
    assert backend.exists("r/missing") is False


def test_write_replaces_and_create_never_does(remote_url) -> None:  # type: ignore[no-untyped-def]
    backend = _backend(remote_url)
    backend.write("w/deep/file", b"old")
    backend.write("w/deep/file", b"new")
    assert backend.read("w/deep/file") == b"new"
    assert backend.create("w/record", b"first") is True
    assert backend.create("w/record", b"second") is False
    assert backend.read("w/record") == b"first"
    assert backend.create("w/deep/file", b"other") is False  # a written file counts too
    assert backend.read("w/deep/file") == b"new"


def test_upload_and_download(remote_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    backend = _backend(remote_url)
    local = tmp_path / "blob"
    local.write_bytes(b"x" * 1000)
    assert backend.upload("u/refused", local, lambda: False) is False
    assert backend.exists("u/refused") is False
    assert backend.upload("u/blob", local, lambda: True) is True
    out = tmp_path / "out"
    assert backend.download("u/blob", out, 1000) == 1000
    assert out.read_bytes() == b"x" * 1000
    with pytest.raises(IntegrityError, match="larger than the 999 bytes"):
        backend.download("u/blob", tmp_path / "short", 999)
    with pytest.raises(FileNotFoundError):
        backend.download("u/missing", tmp_path / "none", 10)


def test_listing_sizes_and_delete(remote_url) -> None:  # type: ignore[no-untyped-def]
    backend = _backend(remote_url)
    backend.write("l/a", b"1")
    backend.write("l/sub/b", b"22")
    backend.write("l/sub/c/d", b"333")
    backend.write("l/.hidden", b"tmp")
    assert backend.listdir("l") == ["a", "sub"]
    assert backend.listdir("nowhere") == []
    assert backend.find("l") == ["l/a", "l/sub/b", "l/sub/c/d"]
    assert backend.find("nowhere") == []
    assert backend.list_sizes("l") == {"l/a": 1, "l/sub/b": 2, "l/sub/c/d": 3}
    assert backend.list_sizes("nowhere") == {}
    assert backend.sizes(["l/a", "l/sub/b", "l/missing"]) == {"l/a": 1, "l/sub/b": 2, "l/missing": None}
    backend.delete("l/a")
    backend.delete("l/a")  # idempotent
    backend.delete("l/never-was")
    assert backend.find("l") == ["l/sub/b", "l/sub/c/d"]
    assert backend.sizes(["l/a"]) == {"l/a": None}


def test_list_stats_gives_sizes_and_the_stores_modification_times(remote_url) -> None:  # type: ignore[no-untyped-def]
    """Remote gc ages files by the store's own clock: every backend lists an mtime per file,
    close to now for a file just written, later for a file rewritten later."""
    import time

    backend = _backend(remote_url)
    before = time.time()
    backend.write("m/a", b"1")
    backend.write("m/sub/b", b"22")
    backend.write("m/.hidden", b"tmp")
    first = backend.list_stats("m")
    assert {k: v.size for k, v in first.items()} == {"m/a": 1, "m/sub/b": 2}
    for stat in first.values():
        assert before - 5 <= stat.mtime <= time.time() + 5  # the servers run on this machine
    assert backend.list_stats("nowhere") == {}
    time.sleep(1.1)  # S3 and Azure keep whole seconds
    backend.write("m/a", b"11")
    again = backend.list_stats("m")
    assert again["m/a"].size == 2 and again["m/a"].mtime > first["m/a"].mtime
    assert again["m/sub/b"] == first["m/sub/b"]


def test_verify_remote_reports_a_cut_object_on_every_backend(cli, repo_dir: Path, remote_url) -> None:  # type: ignore[no-untyped-def]
    """A remote loose object cut to a few bytes is "does not have its length", a problem of that
    copy, on S3 and GCS too (they refuse a range past an object's end with HTTP 416, which
    stopped ``verify --remote`` with "remote … failed")."""
    url, options, env = remote_url
    big = os.urandom(1024 * 1024 + 5)
    cli.ok(
        "artifact",
        "put",
        str(make_tree(repo_dir / "d", {"big.bin": big})),
        "--name",
        "p/d",
        "--type",
        "dataset",
    )
    cli.ok("remote", "add", "origin", url, "--default", env=env)
    cli.ok("push", env=env)
    cli.ok("cache", "cleanup", "0", env=env)  # the remote's is now the only copy: --remote checks it
    digest = hash_bytes(big)
    open_backend(url, options).write(f"objects/{digest[:2]}/{digest[2:]}", b"cut")
    bad = cli.fails("artifact", "verify", "--remote", "origin", "--json", env=env).json()
    assert [p["path"] for p in bad["problems"]] == ["big.bin"], bad
    assert "does not have its length" in bad["problems"][0]["remote"], bad
