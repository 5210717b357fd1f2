"""Hostile or damaged remote content (issue 14, item 5).

Whoever can write to a remote must not be able to make a clone read its user's files or
internal network, and one damaged record on a remote must not make the rest unreachable.
Everything runs real ``artctl`` processes against a real file:// remote (tampered with by
hand where an honest artctl would never write such a record), one real S3 (moto) remote, and
a real HTTP server on 127.0.0.1 that counts the requests it gets.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import CLI, make_tree


# -- helpers ------------------------------------------------------------------------------------
def publish(cli: CLI, repo_dir: Path, remote_url: str, *puts: tuple[str, ...]) -> None:
    """The attacker (anyone who may push): log ``puts`` and push them to ``remote_url``."""
    for args in puts:
        cli.ok("artifact", "put", *args, cwd=repo_dir)
    cli.ok("remote", "add", "origin", remote_url, "--default", cwd=repo_dir)
    cli.ok("push", cwd=repo_dir)


class CountingServer:
    """A real HTTP server on loopback serving ``root``, counting every request it answers."""

    def __init__(self, root: Path) -> None:
        counter = self
        self.requests: list[str] = []

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
                super().__init__(*args, directory=str(root), **kwargs)

            def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
                counter.requests.append(self.requestline)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def victim_files(tmp_path: Path) -> Path:
    """Files of the victim's machine that a hostile manifest would like to read."""
    return make_tree(tmp_path / "victim", {"id_rsa": "-----BEGIN PRIVATE KEY-----\nsecret\n",
                                           "internal.json": '{"token": "t0p-s3cret"}\n'})


@pytest.fixture
def http_server(victim_files: Path) -> Iterator[CountingServer]:
    server = CountingServer(victim_files)
    yield server
    server.close()


def checkout_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


# -- item 5: damaged records on a remote --------------------------------------------------------
def _good_and_bad_remote(cli: CLI, repo_dir: Path, tmp_path: Path) -> Path:
    remote_dir = tmp_path / "remote"
    publish(cli, repo_dir, remote_dir.as_uri(),
            (str(make_tree(tmp_path / "good", {"g.txt": "good\n"})), "--name", "p/good", "--type", "dataset"),
            (str(make_tree(tmp_path / "bad", {"b.txt": "bad\n"})), "--name", "p/bad", "--type", "dataset"))
    return remote_dir


def _set(field: str, value: object):  # type: ignore[no-untyped-def]
    return lambda record: {**record, field: value}


DAMAGE = {
    "huge-ttl": _set("ttl_seconds", 10**17),
    "naive-created-at": _set("created_at", "2026-01-02T03:04:05"),
    "year-9999-with-ttl": lambda r: {**r, "created_at": "9999-12-31T23:00:00+00:00", "ttl_seconds": 86400},
    "nan-metadata": _set("metadata", {"loss": float("nan")}),
    "infinity-metadata": _set("metadata", {"loss": float("inf")}),
    "deep-metadata": _set("metadata", json.loads('{"a":' * 300 + "1" + "}" * 300)),
    "missing-field": lambda r: {k: v for k, v in r.items() if k != "manifest"},
    "wrong-type": _set("files", "many"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_one_damaged_version_record_does_not_block_the_clone(cli, repo_dir: Path, tmp_path: Path,
                                                             damage: str) -> None:
    remote_dir = _good_and_bad_remote(cli, repo_dir, tmp_path)
    path = remote_dir / "registry/p/bad/versions/v0.json"
    path.chmod(0o644)
    path.write_text(json.dumps(DAMAGE[damage](json.loads(path.read_text()))))  # NaN → bare NaN
    clone = tmp_path / "clone"
    result = cli.ok("clone", remote_dir.as_uri(), str(clone))
    assert "Traceback" not in result.stderr and "this is a bug" not in result.stderr
    assert "warning:" in result.stderr and "registry/p/bad/versions/v0.json" in result.stderr, result.stderr
    assert "p/bad:v0 is skipped" in result.stderr
    listed = cli.ok("artifact", "ls", "--json", cwd=clone).json()
    assert [a["name"] for a in listed] == ["p/good"]
    out = Path(cli.ok("artifact", "get", "p/good", "--root", "out", cwd=clone).stdout.strip())
    assert (out / "g.txt").read_text() == "good\n"
    # pull says the same thing and still succeeds; --json lists what was skipped
    pulled = cli.ok("pull", "--json", cwd=clone).json()
    assert len(pulled["skipped_records"]) == 1 and "p/bad" in pulled["skipped_records"][0]
    cli.ok("artifact", "verify", cwd=clone)


def test_damaged_artifact_record_and_run_record_are_skipped(cli, repo_dir: Path, tmp_path: Path) -> None:
    remote_dir = _good_and_bad_remote(cli, repo_dir, tmp_path)
    art = remote_dir / "registry/p/bad/artifact.json"
    art.chmod(0o644)
    art.write_text('{"format": 1, "name": "p/bad", "type": "dataset", "created_at": NaN}')
    (remote_dir / "runs").mkdir(exist_ok=True)
    (remote_dir / "runs/abcd1234.json").write_text('{"format": 1, "id": "abcd1234", "job_type": "train"}')
    clone = tmp_path / "clone"
    result = cli.ok("clone", remote_dir.as_uri(), str(clone))
    assert "registry/p/bad/artifact.json" in result.stderr and "runs/abcd1234.json" in result.stderr
    assert [a["name"] for a in cli.ok("artifact", "ls", "--json", cwd=clone).json()] == ["p/good"]
    assert cli.ok("run", "ls", "--json", cwd=clone).json() == []


def test_damaged_local_records_are_one_clear_error(cli, repo_dir: Path, tmp_path: Path) -> None:
    """Records read from disk are held to the same rules: NaN metadata is refused (``--json``
    would print invalid JSON), a run record missing a field names its file."""
    cli.ok("artifact", "put", str(make_tree(tmp_path / "d", {"a": "a"})), "--name", "p/x", "--type", "dataset")
    record = repo_dir / ".artifacts/registry/p/x/versions/v0.json"
    record.chmod(0o644)
    record.write_text(record.read_text().replace('"metadata": {}', '"metadata": {"loss": NaN}'))
    shown = cli.fails("artifact", "show", "p/x", "--json")
    assert "v0.json" in shown.stderr and "NaN" in shown.stderr and shown.stdout == ""
    run_id = cli.ok("run", "start", "--job-type", "train").stdout.strip()
    run = repo_dir / ".artifacts/runs" / f"{run_id}.json"
    doc = json.loads(run.read_text())
    del doc["job_type"]
    run.write_text(json.dumps(doc))
    listed = cli.fails("run", "ls")
    assert f"{run_id}.json" in listed.stderr and "job_type" in listed.stderr
