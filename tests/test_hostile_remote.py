"""Hostile or damaged remote content (issue 14, items 4 and 5).

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
    return make_tree(
        tmp_path / "victim",
        {"id_rsa": "-----BEGIN PRIVATE KEY-----\nsecret\n", "internal.json": '{"token": "t0p-s3cret"}\n'},
    )


@pytest.fixture
def http_server(victim_files: Path) -> Iterator[CountingServer]:
    server = CountingServer(victim_files)
    yield server
    server.close()


def checkout_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


# -- item 4: references that arrive from a remote ----------------------------------------------
def test_unchecked_file_reference_from_a_remote_is_never_followed(
    cli, repo_dir: Path, tmp_path: Path, victim_files: Path
) -> None:
    """``--no-checksum`` + ``file:///…/id_rsa`` pushed by someone else: the clone's get refuses
    it before writing anything, even with local references allowed (nothing to verify)."""
    remote = (tmp_path / "remote").as_uri()
    publish(
        cli,
        repo_dir,
        remote,
        ((victim_files / "id_rsa").as_uri(), "--no-checksum", "--name", "p/keys", "--type", "dataset"),
    )
    cli.ok("clone", remote, str(tmp_path / "clone"))
    clone = tmp_path / "clone"
    for extra in ((), ("--allow-local-refs",)):
        refused = cli.fails("artifact", "get", "p/keys", "--root", "out", *extra, cwd=clone)
        assert "came from remote origin" in refused.stderr
        assert "without checksum" in refused.stderr and "id_rsa" in refused.stderr
        assert checkout_files(clone / "out") == []
    # the URI stays visible, so a user who trusts it can fetch it deliberately
    listed = cli.ok("artifact", "get", "p/keys", "--refs-only", cwd=clone).stdout
    assert (victim_files / "id_rsa").as_uri() in listed
    # the pusher logged it locally: in its own repository the reference is still followed
    mine = Path(cli.ok("artifact", "get", "p/keys", "--root", "mine", cwd=repo_dir).stdout.strip())
    assert checkout_files(mine) == ["id_rsa"]


def test_checkout_of_a_pulled_version_obeys_the_same_reference_rules(
    cli, repo_dir: Path, tmp_path: Path, victim_files: Path
) -> None:
    """``artifact checkout`` writes files like ``get``: an unchecked reference from a remote is
    refused before DIR changes at all (its extra files are not even removed under --force)."""
    remote = (tmp_path / "remote").as_uri()
    publish(
        cli,
        repo_dir,
        remote,
        ((victim_files / "id_rsa").as_uri(), "--no-checksum", "--name", "p/keys", "--type", "dataset"),
    )
    cli.ok("clone", remote, str(tmp_path / "clone"))
    clone = tmp_path / "clone"
    target = make_tree(clone / "dir", {"mine.txt": "keep\n"})
    refused = cli.fails("artifact", "checkout", "p/keys", str(target), "--force", cwd=clone)
    assert "came from remote origin" in refused.stderr
    assert checkout_files(target) == ["mine.txt"]


def test_tampered_manifest_entry_with_file_ref_is_refused(cli, repo_dir: Path, tmp_path: Path) -> None:
    """A manifest written straight into the remote (no artctl involved) with an entry
    ``{"ref": "file:///etc/passwd", "digest": null}`` is refused by the clone's get."""
    from artctl.base.hashing import hash_bytes

    remote_dir = tmp_path / "remote"
    publish(
        cli,
        repo_dir,
        remote_dir.as_uri(),
        (str(make_tree(tmp_path / "data", {"a.txt": "a\n"})), "--name", "p/ds", "--type", "dataset"),
    )
    header = (remote_dir / "manifests").rglob("*.jsonl").__next__().read_bytes().splitlines()[0]
    body = (
        header
        + b"\n"
        + json.dumps(
            {"path": "passwd", "digest": None, "size": 0, "ref": "file:///etc/passwd"},
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        + b"\n"
    )
    digest = hash_bytes(body)
    (remote_dir / "manifests" / digest[:2]).mkdir(exist_ok=True)
    (remote_dir / "manifests" / digest[:2] / f"{digest[2:]}.jsonl").write_bytes(body)
    record = json.loads((remote_dir / "registry/p/ds/versions/v0.json").read_text())
    record.update(index=1, manifest=digest, files=1, size=0)
    (remote_dir / "registry/p/ds/versions/v1.json").write_text(json.dumps(record))
    cli.ok("clone", remote_dir.as_uri(), str(tmp_path / "clone"))
    refused = cli.fails("artifact", "get", "p/ds:v1", "--root", "out", cwd=tmp_path / "clone")
    assert "file:///etc/passwd" in refused.stderr and "came from remote origin" in refused.stderr
    assert checkout_files(tmp_path / "clone" / "out") == []
    ok = Path(cli.ok("artifact", "get", "p/ds:v0", "--root", "v0", cwd=tmp_path / "clone").stdout.strip())
    assert checkout_files(ok) == ["a.txt"]


def test_checked_file_reference_from_a_remote_needs_the_users_consent(
    cli, repo_dir: Path, tmp_path: Path, victim_files: Path
) -> None:
    """A file:// reference with its BLAKE3 recorded (a shared NFS mount) is followed only when
    the user allows local references: by flag, or by ``references.allow_local``."""
    remote = (tmp_path / "remote").as_uri()
    publish(cli, repo_dir, remote, (victim_files.as_uri(), "--name", "p/mount", "--type", "dataset"))
    clone = tmp_path / "clone"
    cli.ok("clone", remote, str(clone))
    refused = cli.fails("artifact", "get", "p/mount", "--root", "out", cwd=clone)
    assert "this machine" in refused.stderr and "references.allow_local" in refused.stderr
    assert checkout_files(clone / "out") == []
    flagged = Path(
        cli.ok("artifact", "get", "p/mount", "--root", "flag", "--allow-local-refs", cwd=clone).stdout.strip()
    )
    assert checkout_files(flagged) == ["id_rsa", "internal.json"]
    cli.ok("config", "references.allow_local", "true", cwd=clone)
    configured = Path(cli.ok("artifact", "get", "p/mount", "--root", "conf", cwd=clone).stdout.strip())
    assert checkout_files(configured) == ["id_rsa", "internal.json"]


def test_loopback_http_reference_from_a_remote_sends_no_request(
    cli, repo_dir: Path, tmp_path: Path, http_server: CountingServer
) -> None:
    """SSRF: an ``http://127.0.0.1:…`` (or ``localhost``) reference from a remote is refused
    before any request leaves the clone; allowed explicitly, it is fetched and verified."""
    remote = (tmp_path / "remote").as_uri()
    url = f"{http_server.url}/internal.json"
    named = url.replace("127.0.0.1", "localhost")
    publish(
        cli,
        repo_dir,
        remote,
        (url, "--name", "p/web", "--type", "dataset"),
        (named, "--no-checksum", "--name", "p/web-unchecked", "--type", "dataset"),
    )
    clone = tmp_path / "clone"
    cli.ok("clone", remote, str(clone))
    http_server.requests.clear()
    refused = cli.fails("artifact", "get", "p/web", "--root", "out", cwd=clone)
    assert url in refused.stderr and "references.allow_local" in refused.stderr
    unchecked = cli.fails(
        "artifact", "get", "p/web-unchecked", "--root", "out", "--allow-local-refs", cwd=clone
    )
    assert "without checksum" in unchecked.stderr
    assert http_server.requests == [] and checkout_files(clone / "out") == []
    allowed = Path(
        cli.ok("artifact", "get", "p/web", "--root", "ok", "--allow-local-refs", cwd=clone).stdout.strip()
    )
    assert (allowed / "internal.json").read_text() == '{"token": "t0p-s3cret"}\n'
    assert http_server.requests  # it was fetched only now


def test_draft_of_a_pulled_version_keeps_its_origin(
    cli, repo_dir: Path, tmp_path: Path, victim_files: Path
) -> None:
    """A draft built on a pulled version cannot launder its references into a "local" one."""
    remote = (tmp_path / "remote").as_uri()
    publish(cli, repo_dir, remote, (victim_files.as_uri(), "--name", "p/mount", "--type", "dataset"))
    clone = tmp_path / "clone"
    cli.ok("clone", remote, str(clone))
    draft = cli.ok("draft", "new", "p/mount", cwd=clone).stdout.strip()
    cli.ok("draft", "add", draft, str(make_tree(tmp_path / "extra", {"x.txt": "x\n"})), cwd=clone)
    cli.ok("draft", "commit", draft, cwd=clone)
    refused = cli.fails("artifact", "get", "p/mount:v1", "--root", "out", cwd=clone)
    assert "came from remote origin" in refused.stderr
    # once the pulled references are dropped, the new version is the user's own
    for name in ("id_rsa", "internal.json"):
        draft = cli.ok("draft", "new", "p/mount", cwd=clone).stdout.strip()
        cli.ok("draft", "rm", draft, name, cwd=clone)
        cli.ok("draft", "commit", draft, cwd=clone)
    mine = Path(cli.ok("artifact", "get", "p/mount", "--root", "mine", cwd=clone).stdout.strip())
    assert checkout_files(mine) == ["x.txt"]


def test_file_reference_through_an_s3_remote_is_refused(
    cli, repo_dir: Path, tmp_path: Path, s3_server, s3_bucket: str, victim_files: Path
) -> None:
    cli.env = dict(s3_server.env)
    publish(
        cli,
        repo_dir,
        s3_bucket,
        ((victim_files / "id_rsa").as_uri(), "--name", "p/keys", "--type", "dataset"),
        ((victim_files / "internal.json").as_uri(), "--no-checksum", "--name", "p/tok", "--type", "dataset"),
    )
    clone = tmp_path / "clone"
    cli.ok("clone", s3_bucket, str(clone))
    for ref in ("p/keys", "p/tok"):
        refused = cli.fails("artifact", "get", ref, "--root", "out", cwd=clone)
        assert "came from remote origin" in refused.stderr
    assert checkout_files(clone / "out") == []


# -- item 5: damaged records on a remote --------------------------------------------------------
def _good_and_bad_remote(cli: CLI, repo_dir: Path, tmp_path: Path) -> Path:
    remote_dir = tmp_path / "remote"
    publish(
        cli,
        repo_dir,
        remote_dir.as_uri(),
        (str(make_tree(tmp_path / "good", {"g.txt": "good\n"})), "--name", "p/good", "--type", "dataset"),
        (str(make_tree(tmp_path / "bad", {"b.txt": "bad\n"})), "--name", "p/bad", "--type", "dataset"),
    )
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
def test_one_damaged_version_record_does_not_block_the_clone(
    cli, repo_dir: Path, tmp_path: Path, damage: str
) -> None:
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


@pytest.mark.damages_repository  # records are damaged on purpose
def test_damaged_local_records_are_one_clear_error(cli, repo_dir: Path, tmp_path: Path) -> None:
    """Records read from disk are held to the same rules: NaN metadata is refused (``--json``
    would print invalid JSON), a run record missing a field names its file."""
    cli.ok(
        "artifact", "put", str(make_tree(tmp_path / "d", {"a": "a"})), "--name", "p/x", "--type", "dataset"
    )
    record = repo_dir / ".artifacts/registry/p/x/versions/v0.json"
    record.chmod(0o644)
    record.write_text(record.read_text().replace('"metadata": {}', '"metadata": {"loss": NaN}'))
    shown = cli.fails("artifact", "show", "p/x", "--json")
    assert "v0.json" in shown.stderr and "NaN" in shown.stderr
    assert shown.json()["error"]["code"] == "repository_format_error"  # valid JSON, never NaN
    run_id = cli.ok("run", "start", "--job-type", "train").stdout.strip()
    run = repo_dir / ".artifacts/runs" / f"{run_id}.json"
    doc = json.loads(run.read_text())
    del doc["job_type"]
    run.write_text(json.dumps(doc))
    listed = cli.fails("run", "ls")
    assert f"{run_id}.json" in listed.stderr and "job_type" in listed.stderr


def test_push_goes_past_a_damaged_remote_record(cli, repo_dir: Path, tmp_path: Path) -> None:
    """The number an unreadable remote record holds is taken: push publishes under the next
    ones (renumbering the local versions, as for any taken number) and loses nothing."""
    remote_dir = tmp_path / "remote"
    data = tmp_path / "data.txt"
    data.write_text("one\n")
    publish(cli, repo_dir, remote_dir.as_uri(), (str(data), "--name", "p/x", "--type", "dataset"))
    damaged = remote_dir / "registry/p/x/versions/v0.json"
    damaged.chmod(0o644)
    damaged.write_text("{")
    data.write_text("two\n")
    cli.ok("artifact", "put", str(data), "--name", "p/x", "--type", "dataset")
    pushed = cli.ok("push", "--json")
    assert "registry/p/x/versions/v0.json" in pushed.stderr
    assert pushed.json()["skipped_records"] and damaged.read_text() == "{"
    versions = {v["version"]: v["digest"] for v in cli.ok("artifact", "ls", "p/x", "--json").json()}
    assert sorted(versions) == ["v1", "v2"]
    clone = tmp_path / "clone"
    cli.ok("clone", remote_dir.as_uri(), str(clone))
    assert {
        v["version"]: v["digest"] for v in cli.ok("artifact", "ls", "p/x", "--json", cwd=clone).json()
    } == versions
    out = Path(cli.ok("artifact", "get", "p/x:v1", "--root", "out", cwd=clone).stdout.strip())
    assert (out / "data.txt").read_text() == "one\n"
