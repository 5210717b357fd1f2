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

from artctl.api.repo import Repo

from ui_support import SCRIPT, build_example, start_ui, stop_ui, token_of


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


def request(
    url: str,
    path: str,
    *,
    method: str = "GET",
    host: str | None = None,
    body: object = None,
    headers: dict[str, str] | None = None,
    auth: bool = True,
) -> tuple[int, dict, bytes]:
    """One raw HTTP request: ``path`` goes on the request line exactly as given; with ``auth``
    it carries the token of the printed ``url`` as an ``Authorization: Token`` header."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    all_headers = dict(headers or {})
    if auth and token_of(url):
        all_headers.setdefault("Authorization", f"Token {token_of(url)}")
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
    assert refs == [
        {"path": "a.txt", "size": 3, "digest": refs[0]["digest"], "ref": ids["ref_uri"], "url": None}
    ]
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
    assert {"from": f"run:{ids['prep']}", "to": "artifact:" + ids["clean"], "kind": "logged"} in graph[
        "edges"
    ]
    up = get_json(server, f"/api/lineage?node=run:{ids['evaluate']}&direction=upstream&depth=1")
    assert {n["id"] for n in up["nodes"]} == {f"run:{ids['evaluate']}", "artifact:demo/cnn:v3"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/version?ref=demo/nope:v0",
        "/api/run?id=zzzzzzzz",
        "/api/lineage?node=run:zzzzzzzz",
        "/api/lineage?node=demo/cnn:v0&depth=99",
        "/api/lineage?node=demo/cnn:v0&direction=sideways",
        "/api/version",
        "/api/artifact?name=../../etc",
        "/api/nothing",
    ],
)
def test_bad_api_requests_get_a_json_error_and_the_server_lives_on(server: str, path: str) -> None:
    status, headers, payload = request(server, path)
    assert status in (400, 404), (status, payload)
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(payload)["error"]
    assert get_json(server, "/api/info")["allow_edit"] is False


@pytest.mark.parametrize(
    "path",
    [
        "/files/../../etc/passwd",
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/vendor/..%2f..%2f..%2fserver.py",
        "/vendor/%2e%2e/%2e%2e/server.py",
        "/..%5c..%5cserver.py",
        "/app.js%00.png",
        "//etc/passwd",
        "/static/../../../../etc/passwd",
        "/.artifacts/FORMAT",
    ],
)
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


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:80", "127.0.0.1.evil.example", "localhost.evil.example", "10.0.0.1", ""],
)
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
    status, _, payload = request(
        server, "/api/version", method="PUT", body={"ref": ids["raw"], "description": "changed"}
    )
    assert status == 403 and b"--allow-edit" in payload
    assert get_json(server, "/api/version?ref=" + quote(ids["raw"]))["description"].startswith("Raw images")


def test_allow_edit_changes_description_metadata_ttl_and_aliases(tmp_path: Path) -> None:
    repo, _ = Repo.init(tmp_path)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.txt").write_text("x")
    repo.put(tmp_path / "d", name="p/ds", type="dataset")
    proc, url = start_ui(tmp_path, "--allow-edit")
    try:
        status, _, payload = request(
            url,
            "/api/version",
            method="PUT",
            body={"ref": "p/ds:v0", "description": SCRIPT, "metadata": {"k": 1}, "ttl": "7d"},
        )
        assert status == 200, payload
        status, _, payload = request(
            url, "/api/alias", method="POST", body={"ref": "p/ds:v0", "alias": "best"}
        )
        assert status == 200 and "best" in json.loads(payload)["aliases"]
        # Refusals: bad JSON, wrong content type, cross-origin, managed alias, bad TTL.
        assert request(url, "/api/alias", method="POST", body={"ref": "p/ds:v0", "alias": "latest"})[0] == 400
        assert request(url, "/api/version", method="PUT", body={"ref": "p/ds:v0", "ttl": "soon"})[0] == 400
        assert (
            request(
                url,
                "/api/version",
                method="PUT",
                body={"ref": "p/ds:v0", "description": "x"},
                headers={"Origin": "http://evil.example"},
            )[0]
            == 403
        )
        assert (
            request(
                url,
                "/api/version",
                method="PUT",
                body={"ref": "p/ds:v0", "description": "x"},
                headers={"Content-Type": "text/plain"},
            )[0]
            == 415
        )
        assert request(url, "/api/version", method="PUT", body=["not", "an", "object"])[0] == 400
        status, _, _ = request(
            url,
            "/api/version",
            method="PUT",
            host="evil.example",
            body={"ref": "p/ds:v0", "description": "rebound"},
        )
        assert status == 403
    finally:
        code, err = stop_ui(proc)
    assert code == 0, err
    info = Repo(tmp_path).show("p/ds:v0")
    assert (info.record.description, info.record.metadata, info.record.ttl_seconds) == (
        SCRIPT,
        {"k": 1},
        7 * 86400,
    )
    assert "best" in info.aliases


@pytest.fixture
def own_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The example served for one test that changes the repository: the module's ``example``
    stays as built, whatever order the tests run in (``--dist worksteal`` reorders them)."""
    repo, _ = Repo.init(tmp_path)
    build_example(repo, tmp_path / "scratch")
    proc, url = start_ui(tmp_path)
    yield url, tmp_path
    code, err = stop_ui(proc)
    assert code == 0 and "Traceback" not in err, err


def test_change_token_moves_when_the_repository_changes(own_server) -> None:  # type: ignore[no-untyped-def]
    server, work = own_server
    token = get_json(server, "/api/info")["token"]
    assert get_json(server, f"/api/changed?since={token}") == {"token": token, "changed": False}
    Repo(work).registry.set_alias(
        __import__("artctl.format.names").format.names.parse_ref("demo/cnn:v1"), "candidate"
    )
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


def test_a_client_that_resets_its_connection_leaves_no_traceback(tmp_path: Path) -> None:
    """Browsers drop keep-alive connections (closed tabs, cancelled fetches); that is not an error."""
    import socket
    import struct
    import time
    from urllib.parse import urlsplit

    Repo.init(tmp_path)
    proc, url = start_ui(tmp_path)
    parts = urlsplit(url)
    for partial in (b"", b"GET /api/info HTTP/1.1\r\nHost: 127"):
        with socket.create_connection((parts.hostname, parts.port)) as sock:
            if partial:
                sock.sendall(partial)
            time.sleep(0.1)
            # SO_LINGER 0: close sends RST, as a browser's aborted connection does
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    time.sleep(0.3)
    assert get_json(url, "/api/info")["repository"] == str(tmp_path.resolve())
    code, err = stop_ui(proc)
    assert code == 0 and "Traceback" not in err, err


def test_outside_a_repository_is_a_clear_error(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli.fails("ui", "--no-open", "--port", "0")
    assert "not inside an artctl repository" in result.stderr


def test_lineage_format_html_is_self_contained_and_escaped(example, tmp_path: Path) -> None:
    work, ids = example
    out = tmp_path / "graph.html"
    from conftest import run_cli

    result = run_cli(
        "lineage", ids["raw"].replace(":v0", ":v1"), "--format", "html", "-o", str(out), cwd=work
    )
    assert result.returncode == 0, result
    page = out.read_text()
    assert "cytoscape" in page and "cytoscapeDagre" in page and 'id="artctl-lineage"' in page
    assert not re.search(r"<(link|script)[^>]+(src|href)=", page), "must not load anything from outside"
    data = re.search(r'<script type="application/json" id="artctl-lineage">(.*?)</script>', page, re.S).group(
        1
    )
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
    conn.request(
        "POST",
        "/api/alias",
        body=b'{"ref": "demo/cnn:v0", "alias": "x"}' + b" " * 5000,
        headers={"Content-Type": "application/json"},
    )
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
    done = subprocess.run(
        ["bash", str(REPO_ROOT / "docs" / "example-pipeline.sh"), str(work)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
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


# -- the access token ------------------------------------------------------------------------
def _api_gets() -> list[str]:
    """Every GET route of the server (a new one is covered without editing this), with valid
    parameters, and one unknown endpoint."""
    from artctl.ui.routes import GET_ROUTES

    params = {
        "/api/changed": "since=x",
        "/api/artifact": "name=demo/cnn",
        "/api/version": "ref=demo/cnn:v0",
        "/api/diff": "old=demo/cnn:v0&new=demo/cnn:v1",
        "/api/run": "id=zzzzzzzz",
        "/api/lineage": "node=demo/cnn:v0",
    }
    return [route + ("?" + params[route] if route in params else "") for route in sorted(GET_ROUTES)] + [
        "/api/nothing"
    ]


API_GETS = _api_gets()


def test_the_printed_url_carries_a_random_token(server: str) -> None:
    token = token_of(server)
    assert token and len(token) >= 43 and urlsplit(server).path == "/"
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)


@pytest.mark.parametrize("path", API_GETS)
def test_api_without_or_with_a_wrong_token_is_refused(server: str, path: str) -> None:
    port = urlsplit(server).port
    attempts = [
        {},
        {"Authorization": "Token wrong-token-wrong-token-wrong"},
        {"Authorization": "Token " + token_of(server)[:-1]},
        {"Authorization": token_of(server)},  # no scheme
        {"Cookie": f"artctl-ui-token-{port}=wrong"},
        {"Cookie": f"artctl-ui-token-{port + 1}={token_of(server)}"},  # another server's cookie
    ]
    for headers in attempts:
        status, answer_headers, payload = request(server, path, headers=headers, auth=False)
        assert status == 403, (path, headers, status)
        assert answer_headers["Content-Type"].startswith("application/json")
        answer = json.loads(payload)
        assert "access token" in answer["error"] and "?token=" in answer["hint"]
        assert b"demo/" not in payload and b"/tmp" not in payload
    sep = "&" if "?" in path else "?"
    assert request(server, path + sep + "token=wrong", auth=False)[0] == 403


def test_page_and_static_files_without_the_token_get_only_the_login_page(server: str) -> None:
    for path in ("/", "/index.html", "/app.js", "/vendor/cytoscape.min.js", "/?token=wrong"):
        status, headers, payload = request(server, path, auth=False)
        assert status == 403, path
        assert headers["Content-Type"].startswith("text/html")
        assert b"access token" in payload and b"?token=" in payload and b"<script" not in payload
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "Set-Cookie" not in headers


def test_token_in_the_query_becomes_a_cookie_and_leaves_the_address_bar(server: str) -> None:
    token, port = token_of(server), urlsplit(server).port
    status, headers, _ = request(server, f"/?poll=250&token={token}", auth=False)
    assert status == 303 and headers["Location"] == "/?poll=250"
    cookie = headers["Set-Cookie"]
    name_value, *attributes = [part.strip() for part in cookie.split(";")]
    assert name_value == f"artctl-ui-token-{port}={token}"
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= set(attributes)
    assert not any(a.lower().startswith(("expires", "max-age")) for a in attributes)  # session only
    jar = {"Cookie": f"other=1; {name_value}"}
    for path in ("/", "/app.js", "/api/artifacts", "/api/info"):
        status, _, payload = request(server, path, headers=jar, auth=False)
        assert status == 200, (path, payload)
    assert b"demo/cnn" in request(server, "/api/artifacts", headers=jar, auth=False)[2]
    # A page asked with the token again (a bookmark) is redirected again, keeping its path.
    status, headers, _ = request(server, f"/index.html?token={token}", headers=jar, auth=False)
    assert status == 303 and headers["Location"] == "/index.html"
    # Never an open redirect: a path that is not a page of this server goes to "/".
    for path in ("//evil.example/x", "/nothing", "/%2F%2Fevil.example"):
        status, headers, _ = request(server, f"{path}?token={token}", auth=False)
        assert status == 303 and headers["Location"] == "/", path


def test_token_in_a_header_or_an_api_query_works(server: str) -> None:
    token = token_of(server)
    assert request(server, "/api/artifacts", auth=False)[0] == 403  # the token is what opens it
    for headers in (
        {"Authorization": f"Token {token}"},
        {"Authorization": f"token  {token}"},
        {"Authorization": f"Bearer {token}"},
    ):
        status, _, payload = request(server, "/api/artifacts", headers=headers, auth=False)
        assert status == 200 and b"demo/cnn" in payload, headers
    status, headers, payload = request(server, f"/api/info?token={token}", auth=False)
    assert status == 200 and "Set-Cookie" not in headers  # scripts (curl) need no cookie


def test_edits_need_the_token_too(tmp_path: Path) -> None:
    repo, _ = Repo.init(tmp_path)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.txt").write_text("x")
    repo.put(tmp_path / "d", name="p/ds", type="dataset")
    proc, url = start_ui(tmp_path, "--allow-edit")
    try:
        for headers in ({}, {"Authorization": "Token nope-nope-nope-nope"}):
            status, _, payload = request(
                url,
                "/api/version",
                method="PUT",
                auth=False,
                headers=headers,
                body={"ref": "p/ds:v0", "ttl": "1s"},
            )
            assert status == 403 and "access token" in json.loads(payload)["error"]
            status, _, payload = request(
                url,
                "/api/alias",
                method="POST",
                auth=False,
                headers=headers,
                body={"ref": "p/ds:v0", "alias": "prod"},
            )
            assert status == 403 and "access token" in json.loads(payload)["error"]
        # The token does not lift the other checks: a foreign Origin is still refused.
        assert (
            request(
                url,
                "/api/version",
                method="PUT",
                body={"ref": "p/ds:v0", "ttl": "1s"},
                headers={"Origin": "http://evil.example"},
            )[0]
            == 403
        )
        assert (
            request(url, "/api/version", method="PUT", body={"ref": "p/ds:v0", "description": "ok"})[0] == 200
        )
    finally:
        code, err = stop_ui(proc)
    assert code == 0, err
    info = Repo(tmp_path).show("p/ds:v0")
    assert info.record.ttl_seconds is None and info.record.description == "ok" and "prod" not in info.aliases


def test_no_token_serves_openly_after_a_warning(tmp_path: Path) -> None:
    Repo.init(tmp_path)
    proc, url = start_ui(tmp_path, "--no-token", "--allow-edit")
    try:
        assert token_of(url) is None and url.endswith("/")
        assert request(url, "/api/info", auth=False)[0] == 200
        assert request(url, "/", auth=False)[0] == 200
    finally:
        code, err = stop_ui(proc)
    assert code == 0
    assert (
        "warning: serving without an access token: any local user or process can read this "
        "repository and edit it" in err
    )


def test_artctl_ui_token_sets_the_token(tmp_path: Path) -> None:
    Repo.init(tmp_path)
    fixed = "my-script-token-0123456789"
    proc, url = start_ui(tmp_path, env={"ARTCTL_UI_TOKEN": fixed})
    try:
        assert token_of(url) == fixed
        assert request(url, "/api/info", headers={"Authorization": f"Token {fixed}"}, auth=False)[0] == 200
        assert request(url, "/api/info", auth=False)[0] == 403
    finally:
        code, err = stop_ui(proc)
    assert code == 0, err


@pytest.mark.parametrize("value", ["", "short", "has space in it 0123456789", "semi;colon;0123456789abc"])
def test_a_weak_or_unusable_artctl_ui_token_is_a_clear_error(tmp_path: Path, value: str) -> None:
    from conftest import run_cli

    Repo.init(tmp_path)
    result = run_cli(
        "ui", "--no-open", "--port", "0", cwd=tmp_path, env={"ARTCTL_UI_TOKEN": value}, timeout=30
    )  # refused before it binds: never left serving
    assert result.returncode == 2 and "Traceback" not in result.stderr  # invalid input
    assert result.stderr.startswith("error: ARTCTL_UI_TOKEN must be at least 16 characters")
    assert "hint: unset ARTCTL_UI_TOKEN" in result.stderr


def test_the_browser_is_opened_through_a_private_file_not_with_the_token_on_its_command_line(
    tmp_path: Path,
) -> None:
    """A command line is visible to every user (``ps``): the browser gets a 0600 redirect file."""
    import os
    import stat
    import time

    Repo.init(tmp_path)
    seen = tmp_path / "browser-argv.txt"
    fake = tmp_path / "fake-browser"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {seen}.part && mv {seen}.part {seen}\n')
    fake.chmod(0o755)
    proc, url = start_ui(
        tmp_path, open_browser=True, env={"BROWSER": f"{fake} %s", "DISPLAY": ":99", "WAYLAND_DISPLAY": ""}
    )
    try:
        deadline = time.monotonic() + 15
        while not seen.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        argv = seen.read_text()
        assert token_of(url) not in argv
        opened = Path(urlsplit(argv.strip()).path)
        assert argv.startswith("file://") and opened.is_file()
        assert stat.S_IMODE(opened.stat().st_mode) == 0o600
        assert stat.S_IMODE(opened.parent.stat().st_mode) == 0o700
        assert opened.stat().st_uid == os.getuid()
        assert f'url={url.replace("&", "&amp;")}"' in opened.read_text()
    finally:
        code, err = stop_ui(proc)
    assert code == 0, err
    assert not opened.exists()  # removed when the server stops
