"""Start, announce and stop the ``artctl ui`` server (the CLI calls :func:`serve`)."""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ArtctlError, InvalidInput
from .server import LOOPBACK_NAMES, UIServer


class ServerError(ArtctlError, OSError):
    """The UI server could not start (port in use, address not available)."""


def make_server(repo_root: Path, *, host: str = "127.0.0.1", port: int = 0,
                allow_edit: bool = False) -> UIServer:
    """Bind the server (a clear error when the port is taken); it is not serving yet."""
    if not host:
        raise InvalidInput("--host must not be empty")
    try:
        return UIServer((host, port), repo_root, allow_edit=allow_edit, bind_host=host)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ServerError(f"port {port} on {host} is already in use",
                              hint="choose another with --port N, or --port 0 for any free port") from None
        if exc.errno == errno.EACCES:
            raise ServerError(f"not allowed to listen on port {port}",
                              hint="ports below 1024 need privileges; choose a higher --port") from None
        raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                          hint="check --host (default 127.0.0.1)") from None


def start_page(repo: Any, target: str) -> str:
    """The URL fragment of the lineage view of REF or ``run:ID`` (checked before serving)."""
    from urllib.parse import quote

    from ..lineage import root_id

    node = root_id(repo, target)
    if node.startswith("run:"):
        return "#/run/" + quote(node[len("run:"):], safe="") + "/lineage"
    return "#/version/" + quote(node[len("artifact:"):], safe="") + "/lineage"


def browser_available() -> bool:
    """Only open a browser where one can show up (a text browser would take the terminal)."""
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def serve(repo_root: Path, *, host: str = "127.0.0.1", port: int = 0, open_browser: bool = True,
          allow_edit: bool = False, announce: Callable[[str], None] = print,
          info: Callable[[str], None] = lambda s: None,
          warn: Callable[[str], None] = lambda s: None, page: str = "") -> None:
    """Serve until Ctrl-C or SIGTERM, then close the socket and return normally."""
    server = make_server(repo_root, host=host, port=port, allow_edit=allow_edit)
    if host.lower() not in LOOPBACK_NAMES and not host.startswith("127."):
        warn(f"listening on {host}: anyone who can reach it can read this repository")
    url = server.url + page
    announce(url)
    info(f"serving {repo_root.parent} ({'editable' if allow_edit else 'read-only'}); "
         "press Ctrl-C to stop")
    def on_term(signum, frame):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term) if threading.current_thread() is threading.main_thread() else None
    try:
        if open_browser:
            if browser_available():
                import webbrowser

                threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
            else:
                info("no graphical browser here: open the URL above yourself")
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        info("artctl ui: stopped")
    finally:
        server.server_close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
