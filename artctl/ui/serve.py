"""Start, announce and stop the ``artctl ui`` server (the CLI calls :func:`serve`)."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from artctl.errors import ArtctlError, InvalidInput
from artctl.ui.server import LOOPBACK_NAMES, UIServer


class ServerError(ArtctlError, OSError):
    """The UI server could not start (port in use, address not available)."""


def make_server(
    repo_root: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    allow_edit: bool = False,
    token: str | None = None,
) -> UIServer:
    """Bind the server (a clear error when the port is taken); it is not serving yet."""
    if not host:
        raise InvalidInput("--host must not be empty")
    try:
        return UIServer((host, port), repo_root, allow_edit=allow_edit, bind_host=host, token=token)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ServerError(
                f"port {port} on {host} is already in use",
                hint="choose another with --port N, or --port 0 for any free port",
            ) from None
        if exc.errno == errno.EACCES:
            raise ServerError(
                f"not allowed to listen on port {port}",
                hint="ports below 1024 need privileges; choose a higher --port",
            ) from None
        raise ServerError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}", hint="check --host (default 127.0.0.1)"
        ) from None


def start_page(repo: Any, target: str) -> str:
    """The URL fragment of the lineage view of REF or ``run:ID`` (checked before serving)."""
    from urllib.parse import quote

    from artctl.ops.lineage import root_id

    node = root_id(repo, target)
    if node.startswith("run:"):
        return "#/run/" + quote(node[len("run:") :], safe="") + "/lineage"
    return "#/version/" + quote(node[len("artifact:") :], safe="") + "/lineage"


def browser_available() -> bool:
    """Only open a browser where one can show up (a text browser would take the terminal)."""
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def redirect_file(url: str, directory: Path) -> Path:
    """A private (0600) HTML file that sends the browser on to ``url``.

    The browser is then started with this file's name, not with the URL: a command line is
    visible to every user of the machine (``ps``), the token in the URL must not be (as Jupyter).
    """
    import html

    target = html.escape(url, quote=True)
    path = directory / "open.html"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(
            f'<!doctype html><html><head><meta charset="utf-8">'
            f'<meta http-equiv="refresh" content="0;url={target}"><title>artctl ui</title></head>'
            f'<body><p>Opening <a href="{target}">artctl ui</a>&hellip;</p></body></html>\n'
        )
    return path


def open_browser_at(url: str, private_dir: Path | None) -> None:
    """Open ``url`` in a browser in the background; through a redirect file when it holds a token."""
    import webbrowser

    target = redirect_file(url, private_dir).as_uri() if private_dir is not None else url
    threading.Thread(target=webbrowser.open, args=(target,), daemon=True).start()


def serve(
    repo_root: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    open_browser: bool = True,
    allow_edit: bool = False,
    token: str | None = None,
    announce: Callable[[str], None] = print,
    info: Callable[[str], None] = lambda s: None,
    warn: Callable[[str], None] = lambda s: None,
    page: str = "",
) -> None:
    """Serve until Ctrl-C or SIGTERM, then close the socket and return normally.

    ``token`` is the access token every request must carry (:mod:`.auth`); ``None`` serves
    without one, after a warning.
    """
    server = make_server(repo_root, host=host, port=port, allow_edit=allow_edit, token=token)
    if host.lower() not in LOOPBACK_NAMES and not host.startswith("127."):
        warn(
            f"listening on {host}: other machines can reach it, and the access token travels "
            "unencrypted (plain HTTP)"
            if token
            else f"listening on {host}: anyone who can reach it can read this repository"
        )
    if token is None:
        warn(
            "serving without an access token: any local user or process can read this repository"
            + (" and edit it" if allow_edit else "")
        )
    url = server.login_url(page)
    announce(url)
    info(f"serving {repo_root.parent} ({'editable' if allow_edit else 'read-only'}); press Ctrl-C to stop")

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = (
        signal.signal(signal.SIGTERM, on_term)
        if threading.current_thread() is threading.main_thread()
        else None
    )
    private_dir = Path(tempfile.mkdtemp(prefix="artctl-ui-")) if open_browser and token else None
    try:
        if open_browser:
            if browser_available():
                open_browser_at(url, private_dir)
            else:
                info("no graphical browser here: open the URL above yourself")
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        info("artctl ui: stopped")
    finally:
        server.server_close()
        if private_dir is not None:
            shutil.rmtree(private_dir, ignore_errors=True)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
