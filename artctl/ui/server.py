"""The ``artctl ui`` HTTP server: static page + JSON API, stdlib only.

Security model (the page is for the person at this machine, nothing else):
- bound to 127.0.0.1 by default; every request whose ``Host`` header is not a loopback name
  (or the exact ``--host`` given) is refused with 403, so a DNS-rebinding page on another
  origin cannot read the API through the browser;
- then every request must carry the server's access token (:mod:`.auth`: query once, then an
  HttpOnly SameSite=Strict cookie, or an ``Authorization: Token`` header), else 403 — so other
  users and processes of this machine cannot read or edit either (``--no-token`` turns it off);
- static files are served from a table built at start-up from ``static/`` (exact relative
  paths only), so no URL — ``..``, ``%2e%2e``, backslashes, NULs — can reach another file;
- read-only unless ``allow_edit``; edits are ``POST``/``PUT`` with a JSON body
  (``Content-Type: application/json`` forces a CORS preflight that this server never grants,
  and a cross-origin ``Origin`` is refused), going through the library's API;
- answers carry a strict Content-Security-Policy (scripts only from this origin) and
  ``nosniff``; the page builds its DOM with ``textContent`` only.
"""

from __future__ import annotations

import json
import mimetypes
import os
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, parse_qs, urlsplit

from artctl.api.repo import Repo
from artctl.errors import ArtctlError, ArtifactNotFound, InvalidInput, RunError
from artctl.ui import auth
from artctl.ui.routes import GET_ROUTES, WRITE_ROUTES, Route

STATIC_DIR = Path(__file__).resolve().parent / "static"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")
MAX_BODY = 1 << 20
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def static_table(root: Path = STATIC_DIR) -> dict[str, Path]:
    """URL path → file, for every regular file under ``root`` (symlinks leaving it skipped)."""
    table: dict[str, Path] = {}
    base = root.resolve()
    for dirpath, _dirs, files in os.walk(base):
        for name in files:
            path = Path(dirpath, name)
            real = path.resolve()
            if path.is_file() and real.is_relative_to(base):
                table["/" + path.relative_to(base).as_posix()] = real
    table["/"] = base / "index.html"
    return table


def host_allowed(header: str | None, extra: str | None = None) -> bool:
    """Is ``Host`` a loopback name (any port), or the host the server was told to bind?"""
    if not header:
        return False
    host = header.strip().lower()
    if host.startswith("["):
        host = host[: host.find("]") + 1] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    allowed = set(LOOPBACK_NAMES)
    if extra:
        allowed.add(extra.lower())
        allowed.add(f"[{extra.lower()}]")
    return host in allowed or host.startswith("127.") and host.replace(".", "").isdigit()


class UIServer(ThreadingHTTPServer):
    """One server per ``artctl ui``; holds the repository path and options."""

    daemon_threads = True
    allow_reuse_address = False  # a port in use must fail, not be shared

    def __init__(
        self,
        address: tuple[str, int],
        repo_root: Path,
        *,
        allow_edit: bool = False,
        bind_host: str | None = None,
        token: str | None = None,
    ) -> None:
        self.repo_root = repo_root
        self.allow_edit = allow_edit
        self.bind_host = bind_host
        self.token = token  # None: no token asked (``--no-token``)
        self.static = static_table()
        self.write_lock = threading.Lock()
        if ":" in address[0]:
            import socket

            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that drops a connection (closed tab, cancelled fetch) is normal, not an error.

        socketserver's default prints a traceback to stderr for it; other errors still do.
        """
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        name = host if isinstance(host, str) else bytes(host).decode()
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}/"

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def login_url(self, page: str = "") -> str:
        """The URL to print and open: with the token (if any) and the start page's fragment."""
        return self.url + (f"?token={self.token}" if self.token else "") + page

    def repo(self) -> Repo:
        """A fresh facade per request: cheap, and no state shared between threads."""
        from artctl.repository.repo import Repository

        return Repo(Repository(self.repo_root))


class Handler(BaseHTTPRequestHandler):
    server: UIServer
    server_version = "artctl-ui"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 60  # an idle keep-alive connection gives its thread back after a minute
    _body_read = False

    # -- plumbing ---------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if os.environ.get("ARTCTL_UI_LOG"):
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        if self.command in ("POST", "PUT") and not self._body_read:
            # Refused before its body was read: the rest of the stream is not a request.
            self.close_connection = True
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, document: Any) -> None:
        body = json.dumps(document, ensure_ascii=False, default=str).encode()
        self._send(status, body, "application/json; charset=utf-8")

    def _error(self, status: int, message: str, hint: str | None = None) -> None:
        self._json(status, {"error": message, "hint": hint})

    def _guard(self) -> bool:
        """Refuse a foreign Host (DNS rebinding) before anything else is looked at."""
        if not host_allowed(self.headers.get("Host"), self.server.bind_host):
            self._error(HTTPStatus.FORBIDDEN, "refused: Host header is not this machine's loopback address")
            return False
        return True

    def _authorized(self, query: dict[str, list[str]], *, page: bool) -> bool | None:
        """Check the access token; answer 403 (JSON, or the login page for a page) when it is absent
        or wrong. Returns ``None`` when refused, else whether the URL's query holds a token (a page
        asked that way is redirected, to take the token out of the address bar)."""
        expected = self.server.token
        if expected is None:
            return False
        cookie = auth.cookie_value(self.headers.get("Cookie"), auth.cookie_name(self.server.port))
        offered = [auth.header_token(self.headers.get("Authorization")), cookie, *query.get("token", [])]
        if any(auth.same(expected, value) for value in offered):
            return "token" in query
        reason = (
            "the access token is wrong (a restarted server has a new one)"
            if any(value is not None for value in offered) or "Authorization" in self.headers
            else "this server needs its access token"
        )
        if page:
            self._send(
                HTTPStatus.FORBIDDEN,
                auth.login_page(reason[0].upper() + reason[1:] + "."),
                "text/html; charset=utf-8",
            )
        else:
            self._error(
                HTTPStatus.FORBIDDEN,
                f"refused: {reason}",
                "open the URL that `artctl ui` printed (it ends in ?token=…), or send the "
                "header `Authorization: Token …`",
            )
        return None

    def _drop_token(self, split: SplitResult) -> None:
        """Keep the token in a cookie and redirect to the same page without it in the URL (only
        to a page of this server: never an open redirect such as ``//elsewhere``)."""
        query = auth.without_token(split.query)
        location = (split.path if split.path in self.server.static else "/") + (f"?{query}" if query else "")
        self._send(
            HTTPStatus.SEE_OTHER,
            b"",
            "text/plain; charset=utf-8",
            {"Location": location, "Set-Cookie": auth.set_cookie(self.server.port, self.server.token or "")},
        )

    # -- verbs ------------------------------------------------------------------------------
    def do_HEAD(self) -> None:  # noqa: N802 - stdlib naming
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802
        if not self._guard():
            return
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        is_api = split.path.startswith("/api/")
        from_query = self._authorized(query, page=not is_api)
        if from_query is None:
            return
        if is_api:
            self._dispatch(GET_ROUTES.get(split.path), {k: v[-1] for k, v in query.items()})
        elif from_query:
            self._drop_token(split)
        else:
            self._static(split.path)

    def do_POST(self) -> None:  # noqa: N802
        self._write()

    def do_PUT(self) -> None:  # noqa: N802
        self._write()

    def _write(self) -> None:
        self._body_read = False  # per request: one handler serves a whole keep-alive connection
        if not self._guard():
            return
        split = urlsplit(self.path)
        if self._authorized(parse_qs(split.query, keep_blank_values=True), page=False) is None:
            return
        route = WRITE_ROUTES.get(split.path)
        if route is None:
            self._error(HTTPStatus.NOT_FOUND, f"no such endpoint: {split.path}")
            return
        if not self.server.allow_edit:
            self._error(
                HTTPStatus.FORBIDDEN,
                "the repository is read-only in this UI",
                "restart with `artctl ui --allow-edit` to edit aliases, descriptions, metadata, TTL",
            )
            return
        origin = self.headers.get("Origin")
        if origin and not host_allowed(urlsplit(origin).netloc, self.server.bind_host):
            self._error(HTTPStatus.FORBIDDEN, "refused: cross-origin request")
            return
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            self._error(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send a JSON body (Content-Type: application/json)"
            )
            return
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            self._error(HTTPStatus.BAD_REQUEST, "missing, invalid or too large request body")
            return
        raw = self.rfile.read(length)
        self._body_read = True
        try:
            body = json.loads(raw)
        except ValueError:
            self._error(HTTPStatus.BAD_REQUEST, "request body is not valid JSON")
            return
        if not isinstance(body, dict):
            self._error(HTTPStatus.BAD_REQUEST, "request body must be a JSON object")
            return
        with self.server.write_lock:
            self._dispatch(route, body)

    def _dispatch(self, route: Route | None, params: dict[str, Any]) -> None:
        if route is None:
            self._error(HTTPStatus.NOT_FOUND, "no such endpoint")
            return
        try:
            result = route(self, params)
        except (ArtifactNotFound, RunError) as exc:
            status = (
                HTTPStatus.NOT_FOUND
                if "not found" in exc.message or isinstance(exc, ArtifactNotFound)
                else HTTPStatus.CONFLICT
            )
            self._error(status, exc.message, exc.hint)
        except (InvalidInput, ValueError) as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc), getattr(exc, "hint", None))
        except ArtctlError as exc:
            self._error(HTTPStatus.CONFLICT, exc.message, exc.hint)
        except (BrokenPipeError, ConnectionResetError):
            return
        except Exception as exc:  # noqa: BLE001 - a bad request must never kill the server
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"unexpected {type(exc).__name__}: {exc}")
        else:
            self._json(HTTPStatus.OK, result)

    def _static(self, path: str) -> None:
        file = self.server.static.get(path)
        if file is None:
            self._error(HTTPStatus.NOT_FOUND, "not found")
            return
        try:
            body = file.read_bytes()
        except OSError:
            self._error(HTTPStatus.NOT_FOUND, "not found")
            return
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript", "text/javascript"):
            kind += "; charset=utf-8"
        self._send(HTTPStatus.OK, body, kind)
