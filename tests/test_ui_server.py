"""``artctl ui`` without a browser: the JSON API, its refusals, start/stop, and the HTML export.

The server runs as a real subprocess (``artctl ui --no-open --port 0``) and is spoken to over
raw HTTP (``http.client``), so hostile request lines reach it exactly as sent — no client-side
normalisation of ``..`` or of the Host header.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from ui_support import SCRIPT, build_example, start_ui, stop_ui

from artctl.repository_ops import Repo


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    work = tmp_path_factory.mktemp("ui-server")
    repo, _ = Repo.init(work)
    return work, build_example(repo, work / "scratch")


@pytest.fixture(scope="module")
def server(example):  # type: ignore[no-untyped-def]
    work, _ = example
    proc, url = start_ui(work)
    yield url
    code, err = stop_ui(proc)
    assert code == 0, err
    assert "Traceback" not in err


def request(url: str, path: str, *, method: str = "GET", host: str | None = None,
            body: object = None, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    """One raw HTTP request: ``path`` goes on the request line exactly as given."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    all_headers = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", host if host is not None else parts.netloc)
    for key, value in all_headers.items():
        conn.putheader(key, value)
    if data is not None:
        conn.putheader("Content-Length", str(len(data)))
    conn.endheaders(data)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, dict(response.getheaders()), payload


def get_json(url: str, path: str) -> dict:
    status, _, payload = request(url, path)
    assert status == 200, payload
    return json.loads(payload)


def test_api_lists_artifacts_versions_files_runs_and_lineage(server: str, example) -> None:
    _, ids = example
    listing = get_json(server, "/api/artifacts")
    names = [a["name"] for a in listing["artifacts"]]
    assert "demo/cnn" in names and "other/notes" in names
    assert listing["projects"] == ["demo", "other"]
    refs = get_json(server, "/api/version?ref=other/refs:v0")["entries"]
    assert refs == [{"path": "a.txt", "size": 3, "digest": refs[0]["digest"], "ref": ids["ref_uri"], "url": None}]
    assert get_json(server, "/api/artifacts?q=CNN")["artifacts"][0]["name"] == "demo/cnn"
    assert [a["name"] for a in get_json(server, "/api/artifacts?type=model")["artifacts"]] == ["demo/cnn"]

    artifact = get_json(server, "/api/artifact?name=demo/raw-images")
    v1, v0 = artifact["versions"]
    assert (v1["version"], v1["ttl"], v1["state"]) == ("v1", "30d", "committed")
    assert v1["aliases"] == ["latest", "v1", "production"] and v1["expires_at"]

    version = get_json(server, "/api/version?ref=" + quote(ids["raw"]))
    assert version["metadata"]["note"] == SCRIPT
    assert sorted(e["path"] for e in version["entries"]) == ["images/cat.txt", "images/dog.txt", "labels.csv"]
    assert all(len(e["digest"]) == 64 for e in version["entries"])

    diff = get_json(server, "/api/diff?old=demo/raw-images:v0&new=demo/raw-images:v1")
    assert [d["path"] for d in diff["added"]] == ["images/bird.txt"] and not diff["removed"]

    runs = get_json(server, "/api/runs")["runs"]
    assert {r["job_type"] for r in runs} == {"preprocess", "train", "evaluate"}
    run = get_json(server, f"/api/run?id={ids['prep']}")
    assert run["config"]["note"] == SCRIPT and run["inputs"][0]["ref"] == ids["raw2"]

    graph = get_json(server, "/api/lineage?node=" + quote("artifact:" + ids["clean"]) + "&depth=1")
    kinds = {n["id"]: n["kind"] for n in graph["nodes"]}
    assert graph["root"] == "artifact:" + ids["clean"]
    assert sum(1 for k in kinds.values() if k == "run") == 7  # preprocess + 6 train runs
    assert {"from": f"run:{ids['prep']}", "to": "artifact:" + ids["clean"], "kind": "logged"} in graph["edges"]
    up = get_json(server, f"/api/lineage?node=run:{ids['evaluate']}&direction=upstream&depth=1")
    assert {n["id"] for n in up["nodes"]} == {f"run:{ids['evaluate']}", "artifact:demo/cnn:v3"}


@pytest.mark.parametrize("path", [
    "/api/version?ref=demo/nope:v0", "/api/run?id=zzzzzzzz", "/api/lineage?node=run:zzzzzzzz",
    "/api/lineage?node=demo/cnn:v0&depth=99", "/api/lineage?node=demo/cnn:v0&direction=sideways",
    "/api/version", "/api/artifact?name=../../etc", "/api/nothing",
])
def test_bad_api_requests_get_a_json_error_and_the_server_lives_on(server: str, path: str) -> None:
    status, headers, payload = request(server, path)
    assert status in (400, 404), (status, payload)
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(payload)["error"]
    assert get_json(server, "/api/info")["allow_edit"] is False


@pytest.mark.parametrize("path", [
    "/files/../../etc/passwd", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
    "/vendor/..%2f..%2f..%2fserver.py", "/vendor/%2e%2e/%2e%2e/server.py", "/..%5c..%5cserver.py",
    "/app.js%00.png", "//etc/passwd", "/static/../../../../etc/passwd", "/.artifacts/FORMAT",
])
def test_path_traversal_never_reaches_a_file_outside_static(server: str, path: str) -> None:
    status, _, payload = request(server, path)
    assert status == 404, (path, status)
    assert b"root:" not in payload and b"import" not in payload


def test_static_files_and_security_headers(server: str) -> None:
    status, headers, payload = request(server, "/")
    assert status == 200 and b"<title>artctl</title>" in payload
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, payload = request(server, "/vendor/cytoscape.min.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example",
                                  "localhost.evil.example", "10.0.0.1", ""])
def test_non_loopback_host_header_is_refused(server: str, host: str) -> None:
    for path in ("/api/artifacts", "/"):
        status, _, payload = request(server, path, host=host)
        assert status == 403, (host, path)
        assert b"demo/" not in payload


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
def test_loopback_names_are_accepted(server: str, host: str) -> None:
    port = urlsplit(server).port
    status, _, _ = request(server, "/api/info", host=f"{host}:{port}")
    assert status == 200


def test_read_only_server_refuses_edits(server: str, example) -> None:
    _, ids = example
    status, _, payload = request(server, "/api/version", method="PUT",
                                 body={"ref": ids["raw"], "description": "changed"})
    assert status == 403 and b"--allow-edit" in payload
    assert get_json(server, "/api/version?ref=" + quote(ids["raw"]))["description"].startswith("Raw images")


def test_allow_edit_changes_description_metadata_ttl_and_aliases(tmp_path: Path) -> None:
    repo, _ = Repo.init(tmp_path)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.txt").write_text("x")
    repo.put(tmp_path / "d", name="p/ds", type="dataset")
    proc, url = start_ui(tmp_path, "--allow-edit")
    try:
        status, _, payload = request(url, "/api/version", method="PUT",
                                     body={"ref": "p/ds:v0", "description": SCRIPT,
                                           "metadata": {"k": 1}, "ttl": "7d"})
        assert status == 200, payload
        status, _, payload = request(url, "/api/alias", method="POST",
                                     body={"ref": "p/ds:v0", "alias": "best"})
        assert status == 200 and "best" in json.loads(payload)["aliases"]
        # Refusals: bad JSON, wrong content type, cross-origin, managed alias, bad TTL.
        assert request(url, "/api/alias", method="POST", body={"ref": "p/ds:v0", "alias": "latest"})[0] == 400
        assert request(url, "/api/version", method="PUT", body={"ref": "p/ds:v0", "ttl": "soon"})[0] == 400
        assert request(url, "/api/version", method="PUT", body={"ref": "p/ds:v0", "description": "x"},
                       headers={"Origin": "http://evil.example"})[0] == 403
        assert request(url, "/api/version", method="PUT", body={"ref": "p/ds:v0", "description": "x"},
                       headers={"Content-Type": "text/plain"})[0] == 415
        assert request(url, "/api/version", method="PUT", body=["not", "an", "object"])[0] == 400
        status, _, _ = request(url, "/api/version", method="PUT", host="evil.example",
                               body={"ref": "p/ds:v0", "description": "rebound"})
        assert status == 403
    finally:
        code, err = stop_ui(proc)
    assert code == 0, err
    info = Repo(tmp_path).show("p/ds:v0")
    assert (info.record.description, info.record.metadata, info.record.ttl_seconds) == (SCRIPT, {"k": 1}, 7 * 86400)
    assert "best" in info.aliases


def test_change_token_moves_when_the_repository_changes(server: str, example) -> None:
    work, _ = example
    token = get_json(server, "/api/info")["token"]
    assert get_json(server, f"/api/changed?since={token}") == {"token": token, "changed": False}
    Repo(work).registry.set_alias(__import__("artctl.names").names.parse_ref("demo/cnn:v1"), "candidate")
    after = get_json(server, f"/api/changed?since={token}")
    assert after["changed"] is True and after["token"] != token


def test_port_in_use_is_a_clear_error(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    cli.ok("init")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = cli.fails("ui", "--no-open", "--port", str(port))
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "hint: choose another with --port" in result.stderr


def test_ctrl_c_and_sigterm_stop_cleanly(tmp_path: Path) -> None:
    Repo.init(tmp_path)
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc, url = start_ui(tmp_path)
        assert get_json(url, "/api/info")["repository"] == str(tmp_path.resolve())
        code, err = stop_ui(proc, sig)
        assert code == 0, err
        assert "Traceback" not in err and err.strip().splitlines()[-1] == "artctl ui: stopped"


def test_outside_a_repository_is_a_clear_error(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli.fails("ui", "--no-open", "--port", "0")
    assert "not inside an artctl repository" in result.stderr


def test_lineage_format_html_is_self_contained_and_escaped(example, tmp_path: Path) -> None:
    work, ids = example
    out = tmp_path / "graph.html"
    from conftest import run_cli

    result = run_cli("lineage", ids["raw"].replace(":v0", ":v1"), "--format", "html", "-o", str(out), cwd=work)
    assert result.returncode == 0, result
    page = out.read_text()
    assert "cytoscape" in page and "cytoscapeDagre" in page and 'id="artctl-lineage"' in page
    assert not re.search(r"<(link|script)[^>]+(src|href)=", page), "must not load anything from outside"
    data = re.search(r'<script type="application/json" id="artctl-lineage">(.*?)</script>', page, re.S).group(1)
    assert "<" not in data  # nothing in the data can open or close a tag
    doc = json.loads(data)
    assert doc["root"] == "artifact:demo/raw-images:v1"
    assert any(n["kind"] == "run" and n["job_type"] == "train" for n in doc["nodes"])
    help_text = run_cli("lineage", "--help", cwd=work).stdout
    assert "html" in help_text


def test_ui_help_has_an_example(cli) -> None:  # type: ignore[no-untyped-def]
    text = cli.ok("ui", "--help").stdout
    assert "Example" in text and "--allow-edit" in text and "--no-open" in text


def test_static_table_skips_symlinks_out_of_static(tmp_path: Path) -> None:
    from artctl.ui.server import static_table

    (tmp_path / "index.html").write_text("x")
    (tmp_path / "secret").symlink_to("/etc/passwd")
    table = static_table(tmp_path)
    assert "/secret" not in table and "/index.html" in table


def test_ui_module_is_importable_without_a_browser() -> None:
    code = "import artctl.ui.server, artctl.ui.export, artctl.cli.ui_cmds"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_a_refused_write_closes_its_connection_and_the_next_request_works(server: str) -> None:
    parts = urlsplit(server)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("POST", "/api/alias", body=b'{"ref": "demo/cnn:v0", "alias": "x"}' + b" " * 5000,
                 headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 403 and response.getheader("Connection") == "close"
    response.read()
    conn.close()
    assert get_json(server, "/api/info")["allow_edit"] is False


def test_example_pipeline_script_and_ui_ref_argument(tmp_path: Path) -> None:
    """docs/example-pipeline.sh (the README's screenshot) builds; `artctl ui REF` opens its graph."""
    from conftest import REPO_ROOT, cli_env, run_cli

    work = tmp_path / "pipeline"
    env = cli_env({"ARTCTL": f"{sys.executable} -m artctl"})
    done = subprocess.run(["bash", str(REPO_ROOT / "docs" / "example-pipeline.sh"), str(work)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "artctl ui demo/clean-images:v0" in done.stdout and done.stderr == ""
    proc, url = start_ui(work, "demo/clean-images:v0")
    try:
        base, _, fragment = url.partition("#")
        assert fragment == "/version/demo%2Fclean-images%3Av0/lineage"
        graph = get_json(base, "/api/lineage?node=artifact:demo/clean-images:v0&direction=downstream&depth=1")
        assert sum(1 for n in graph["nodes"] if n.get("job_type") == "train") == 6
    finally:
        code, err = stop_ui(proc)
    assert code == 0, err
    bad = run_cli("ui", "--no-open", "demo/nope:v0", cwd=work)
    assert bad.returncode == 1 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr


def test_only_http_references_become_links() -> None:
    from artctl.ui.data import link_for

    assert link_for("https://example.com/a.csv") == "https://example.com/a.csv"
    assert link_for("HTTP://example.com/a") == "HTTP://example.com/a"
    for uri in ("javascript:alert(1)", "s3://b/k", "file:///etc/passwd", "data:text/html,x", None, ""):
        assert link_for(uri) is None
