"""``artctl ui`` in a real browser: Debian's headless Chromium driven by Playwright.

One browser and one server (``artctl ui --no-open --port 0`` as a subprocess, stopped by PID)
per module; each test opens its own page. Screenshots of the main views go to the pytest tmp
dir, or to ``docs/screenshots/`` with ``ARTCTL_SCREENSHOTS=1`` (how the README's are made).
Install the browser with ``bash .ci/install-browser.sh`` (Playwright never downloads one here).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from artctl.api.repo import Repo

from ui_support import (
    IMG,
    SCRIPT,
    build_example,
    start_ui,
    stop_ui,
    token_of,
    with_page,
)

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO_ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "no /usr/bin/chromium: run `bash .ci/install-browser.sh`"
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield instance
        instance.close()


def _example_site(work: Path):  # type: ignore[no-untyped-def]
    """The example repository served by `artctl ui`: its URL, directory and the ids in it."""
    work.mkdir(parents=True, exist_ok=True)
    repo, _ = Repo.init(work)
    ids = build_example(repo, work / "scratch")
    proc, url = start_ui(work)
    yield {"url": url, "work": work, "ids": ids}
    code, err = stop_ui(proc)
    assert code == 0 and "Traceback" not in err, err


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Shared by the tests that only read: it stays as built, whatever order they run in."""
    yield from _example_site(tmp_path_factory.mktemp("ui-browser"))


@pytest.fixture
def own_site(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The example for one test that changes the repository (a new artifact, a new run)."""
    yield from _example_site(tmp_path / "ui")


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("ARTCTL_SCREENSHOTS") == "1":
        target = REPO_ROOT / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        return target
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    # bypass_csp: the page's CSP would also block Playwright's string predicates; without it the
    # XSS checks prove that the DOM building alone keeps hostile values inert.
    context = browser.new_context(viewport={"width": 1280, "height": 760}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))  # type: ignore[attr-defined]
    page.on("dialog", lambda d: (page.errors.append("dialog: " + d.message), d.dismiss()))  # type: ignore[attr-defined]
    yield page
    assert page.errors == []  # type: ignore[attr-defined]
    assert page.evaluate("window.__xss") is None
    context.close()


def signed_in(printed: str, suffix: str) -> str:
    """A URL of the page without the token: for a browser that opened the printed URL (and so
    holds the cookie) before."""
    base = printed.split("?", 1)[0].split("#", 1)[0]
    assert token_of(printed) is None or token_of(printed) not in base
    return with_page(base, suffix)


def navigate(page, url: str) -> None:  # type: ignore[no-untyped-def]
    """Go to ``url`` (often only a new #fragment) and wait until the page rendered that view."""
    before = page.evaluate("(document.getElementById('main') || {dataset: {}}).dataset.rendered || ''")
    page.goto(url)
    page.wait_for_function(
        "(b) => { const m = document.getElementById('main'); "
        "return m && m.dataset.rendered && m.dataset.rendered !== b; }",
        arg=before,
    )


def wait_graph(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector(".lineage[data-ready='1'] canvas")
    page.wait_for_function("window.artctlApp && window.artctlApp.graph && window.artctlApp.graph.cy")


def click_node(page, node_id: str) -> None:  # type: ignore[no-untyped-def]
    """A real mouse click on the node's position in the canvas, once the view stopped moving
    (opening the side panel resizes the canvas and re-fits the graph)."""
    import time

    where = """(id) => {
        const cy = window.artctlApp.graph.cy; const n = cy.getElementById(id);
        if (!n.length) return null;
        const box = cy.container().getBoundingClientRect(); const p = n.renderedPosition();
        return {x: box.left + p.x, y: box.top + p.y}; }"""
    pos, deadline = None, time.monotonic() + 5
    while time.monotonic() < deadline:
        before = page.evaluate(where, node_id)
        page.wait_for_timeout(150)
        pos = page.evaluate(where, node_id)
        if pos is not None and pos == before:
            break
    assert pos is not None, f"node {node_id} is not drawn"
    page.mouse.click(pos["x"], pos["y"])


def graph_ids(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.evaluate("window.artctlApp.graph.cy.nodes().map((n) => n.id())")


def test_click_through_list_version_files_lineage(page, site, shots: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(site["url"])
    page.wait_for_selector("table.artifacts")
    page.screenshot(path=str(shots / "artifacts.png"))
    page.fill("#artifact-search", "raw")
    page.wait_for_function("document.querySelectorAll('table.artifacts tr.row').length === 1")
    page.click("a.artifact-link:text('demo/raw-images')")
    page.wait_for_selector("table.versions")
    assert page.inner_text("tr[data-version='v1']").count("production") == 1
    assert "30d" in page.inner_text("tr[data-version='v1']")
    page.click("tr[data-version='v0'] a.version-link")
    page.wait_for_selector(".metadata")
    # Hostile metadata and description are shown as text, never run.
    assert SCRIPT in page.inner_text(".metadata") and IMG in page.inner_text(".metadata")
    assert SCRIPT in page.inner_text(".description")
    assert page.locator("main script, main img").count() == 0
    page.screenshot(path=str(shots / "version.png"))

    page.click("a[data-tab='files']")
    page.wait_for_selector(".tree .file[data-path='images/cat.txt']")
    assert page.locator(".tree details.dir").count() == 1
    page.click("a[data-tab='diff']")
    page.wait_for_selector(".diff tr.removed")  # v0 compared with v1, the only other version
    assert "images/bird.txt" in page.inner_text(".diff")

    page.click("a[data-tab='lineage']")
    wait_graph(page)
    ids = graph_ids(page)
    assert "artifact:demo/raw-images:v0" in ids  # the root, even with no run linked


def test_cluster_search_pull_out_and_preview(page, site, shots: Path) -> None:  # type: ignore[no-untyped-def]
    ids = site["ids"]
    train = ids["train_runs"].split(",")
    page.goto(with_page(site["url"], "#/version/" + quote(ids["clean"], safe="") + "/lineage"))
    wait_graph(page)
    drawn = graph_ids(page)
    run_cluster = next(i for i in drawn if i.startswith("cluster:") and ":run:" in i)
    assert not any(f"run:{r}" in drawn for r in train)  # 6 runs → one cluster node
    assert any(i.startswith("cluster:") and ":artifact:" in i for i in drawn)  # and their 6 models
    assert (
        page.evaluate(f"window.artctlApp.graph.cy.getElementById('{run_cluster}').data('label')")
        == "6 runs\ntrain"
    )
    page.screenshot(path=str(shots / "lineage.png"))

    click_node(page, run_cluster)
    page.wait_for_selector("#panel.open .cluster-search")
    assert page.locator("#panel .cluster-members li.member").count() == 6
    page.fill("#panel .cluster-search", "sweep-3")
    page.wait_for_function("document.querySelectorAll('#panel li.member').length === 1")
    page.wait_for_timeout(300)  # the panel narrowed the canvas: let the graph re-fit
    page.screenshot(path=str(shots / "lineage-cluster.png"))
    page.click("#panel li.member button.pull-out")
    pulled = f"run:{train[3]}"
    page.wait_for_function(f"window.artctlApp.graph.cy.getElementById('{pulled}').length === 1")
    drawn = graph_ids(page)
    assert "artifact:demo/cnn:v3" in drawn  # its own lineage: the model it logged …
    assert "run:" + ids["evaluate"] in drawn  # … and what used that model
    assert not any(f"run:{r}" in drawn for r in train if r != train[3])  # 5 left: still a cluster
    page.wait_for_selector("#panel.open .preview table.kv")
    assert "train" in page.inner_text("#panel") and "sweep-3" in page.inner_text("#panel")

    # A click on a version opens its preview, with metadata fetched from the API.
    click_node(page, "artifact:demo/cnn:v3")
    page.wait_for_function(
        "document.querySelector('#panel .preview') && "
        "document.querySelector('#panel .preview').innerText.includes('accuracy')"
    )
    assert "best" in page.inner_text("#panel")
    page.wait_for_timeout(300)
    page.screenshot(path=str(shots / "lineage-preview.png"))

    # Direction control: upstream of the root hides the downstream runs.
    page.select_option("select.direction", "upstream")
    page.wait_for_function("!window.artctlApp.graph.cy.nodes().some((n) => n.id().startsWith('cluster:'))")
    assert f"run:{ids['prep']}" in graph_ids(page)


def test_run_page_and_run_lineage(page, site) -> None:  # type: ignore[no-untyped-def]
    ids = site["ids"]
    page.goto(with_page(site["url"], "#/runs"))
    page.wait_for_selector("table.runs")
    assert page.locator("table.runs tr.row").count() == 8
    page.click(f"tr[data-run='{ids['prep']}'] a")
    page.wait_for_selector(".config")
    assert SCRIPT in page.inner_text(".config")
    assert ids["raw2"] in page.inner_text("main") and ids["clean"] in page.inner_text("main")
    page.click("a[data-tab='lineage']")
    wait_graph(page)
    # A reference entry shows its URI; only http(s) URIs become links.
    navigate(page, signed_in(site["url"], "#/version/other%2Frefs%3Av0/files"))
    page.wait_for_selector(".tree .file .ref")
    assert page.inner_text(".tree .file .ref") == ids["ref_uri"]
    assert page.locator(".tree a.ref").count() == 0
    navigate(page, signed_in(site["url"], "#/version/other%2Fnotes%3Av0/files"))
    page.wait_for_selector(".tree .file .name")
    assert f"{IMG}.txt" in page.inner_text(".tree")
    assert page.locator("main img").count() == 0
    navigate(page, signed_in(site["url"], "#/run/" + ids["prep"] + "/lineage"))
    wait_graph(page)
    assert {f"run:{ids['prep']}", "artifact:" + ids["raw2"], "artifact:" + ids["clean"]} <= set(
        graph_ids(page)
    )


def test_page_reloads_when_the_repository_changes(page, own_site) -> None:  # type: ignore[no-untyped-def]
    site = own_site
    page.goto(with_page(site["url"], "?poll=250#/"))
    page.wait_for_selector("table.artifacts")
    assert page.locator("tr[data-name='live/fresh']").count() == 0
    data = site["work"] / "scratch" / "fresh"
    data.mkdir(parents=True)
    (data / "f.txt").write_text(SCRIPT)
    from conftest import cli_env

    subprocess.run(
        [
            sys.executable,
            "-m",
            "artctl",
            "artifact",
            "put",
            str(data),
            "--name",
            "live/fresh",
            "--type",
            "dataset",
            "--metadata",
            '{"x": "' + IMG.replace('"', "'") + '"}',
        ],
        cwd=site["work"],
        env=cli_env(),
        check=True,
        capture_output=True,
    )
    page.wait_for_selector("tr[data-name='live/fresh']")
    assert "repository changed" in page.inner_text("#status")
    # A version page open while its artifact is edited and a new version lands: no crash.
    navigate(page, signed_in(site["url"], "?poll=250#/artifact/live%2Ffresh"))
    page.wait_for_selector("tr[data-version='v0']")
    (data / "g.txt").write_text("more")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "artctl",
            "artifact",
            "put",
            str(data),
            "--name",
            "live/fresh",
            "--type",
            "dataset",
        ],
        cwd=site["work"],
        env=cli_env(),
        check=True,
        capture_output=True,
    )
    page.wait_for_selector("tr[data-version='v1']")
    # The lineage graph open while a run starts using that version: the graph gains the run.
    navigate(page, signed_in(site["url"], "?poll=250#/version/live%2Ffresh%3Av1/lineage"))
    wait_graph(page)
    repo = Repo(site["work"])
    run = repo.repository.runs.create("consume", name="late-reader")
    repo.get("live/fresh:v1", root=site["work"] / "scratch" / "late", run_id=run.id)
    page.wait_for_function(f"window.artctlApp.graph.cy.getElementById('run:{run.id}').length === 1")


def test_exported_html_draws_the_same_graph_offline(page, site, tmp_path: Path, shots: Path) -> None:  # type: ignore[no-untyped-def]
    from conftest import run_cli

    out = tmp_path / "graph.html"
    result = run_cli("lineage", site["ids"]["clean"], "--format", "html", "-o", str(out), cwd=site["work"])
    assert result.returncode == 0, result
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(out.as_uri())
    page.wait_for_function(
        "window.artctlGraph && window.artctlGraph.cy && window.artctlGraph.cy.nodes().length > 0"
    )
    assert all(u.startswith("file://") for u in requests), requests
    labels = page.evaluate("window.artctlGraph.cy.nodes().map((n) => n.data('label'))")
    assert "6 runs\ntrain" in labels and "6 versions\nmodel" in labels
    page.screenshot(path=str(shots / "lineage-export.png"))
    # Preview of the preprocess run: its fields as text.
    page.evaluate(f"window.artctlGraph.select('run:{site['ids']['prep']}')")
    page.wait_for_selector("#panel.open table.kv")
    assert "preprocess" in page.inner_text("#panel")


def test_edit_form_with_allow_edit(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo, _ = Repo.init(tmp_path)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.txt").write_text("x")
    repo.put(tmp_path / "d", name="p/ds", type="dataset", metadata={"a": 1})
    proc, url = start_ui(tmp_path, "--allow-edit")
    context = browser.new_context(bypass_csp=True)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(with_page(url, "#/version/p%2Fds%3Av0"))
        page.wait_for_selector(".edit textarea.edit-description")
        page.fill(".edit-description", SCRIPT)
        page.fill(".edit-metadata", '{"a": 2, "html": "' + IMG.replace('"', "'") + '"}')
        page.fill(".edit-ttl", "7d")
        page.click(".edit button.save")
        page.wait_for_function(
            "document.querySelector('.description') && "
            "document.querySelector('.description').textContent.includes('__xss')"
        )
        page.fill(".edit-alias", "best")
        page.click(".edit button.alias-add")
        page.wait_for_selector("h1 .chip.custom:text('best')")
        page.fill(".edit-metadata", "{not json")
        page.click(".edit button.save")
        page.wait_for_selector(".edit-message.error")
        assert errors == [] and page.evaluate("window.__xss") is None
    finally:
        context.close()
        code, err = stop_ui(proc)
    assert code == 0, err
    info = Repo(tmp_path).show("p/ds:v0")
    assert info.record.description == SCRIPT and info.record.metadata["a"] == 2
    assert info.record.ttl_seconds == 7 * 86400 and "best" in info.aliases


def test_the_page_works_under_its_own_content_security_policy(browser, site) -> None:  # type: ignore[no-untyped-def]
    """The other tests bypass the CSP (for Playwright's predicates); this one keeps it on."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.goto(with_page(site["url"], "#/version/" + quote(site["ids"]["clean"], safe="") + "/lineage"))
        page.wait_for_selector(".lineage[data-ready='1'] canvas")
        page.click("a[data-tab='files']")
        page.wait_for_selector(".tree .file")
        assert problems == []
    finally:
        context.close()


def test_the_printed_url_signs_in_and_the_token_leaves_the_address_bar(browser, site) -> None:  # type: ignore[no-untyped-def]
    """The token is exchanged for an HttpOnly cookie: gone from the URL (history, screenshots,
    shared links) and out of reach of the page's scripts; a browser without it sees nothing."""
    token = token_of(site["url"])
    assert token
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(with_page(site["url"], "?poll=60000#/artifact/demo%2Fcnn"))
        page.wait_for_selector("table.versions")
        assert token not in page.url and page.url.endswith("/?poll=60000#/artifact/demo%2Fcnn")
        assert page.evaluate("document.cookie") == ""  # HttpOnly: scripts cannot read it
        cookies = context.cookies()
        assert [(c["value"], c["httpOnly"], c["sameSite"]) for c in cookies] == [(token, True, "Strict")]
        assert page.evaluate("fetch('/api/info').then((r) => r.status)") == 200
    finally:
        context.close()

    stranger = browser.new_context()  # another user's browser: no cookie, no token
    try:
        page = stranger.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        response = page.goto(signed_in(site["url"], "#/artifact/demo%2Fcnn"))
        assert response.status == 403
        assert "access token" in page.inner_text("body") and "demo/" not in page.content()
        assert page.evaluate("fetch('/api/artifacts').then((r) => r.status)") == 403
    finally:
        stranger.close()
