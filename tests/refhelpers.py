"""Helpers for the reference and cache tests: a local HTTP file server started by the test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from blake3 import blake3


class HTTPFiles:
    """Files served at ``/<mode>/<name>``; ``mode`` decides the headers sent.

    * ``etag``     — ETag (from the content) + Content-Length
    * ``lastmod``  — Last-Modified (from ``mtime``) + Content-Length, no ETag (like http.server)
    * ``bare``     — Content-Length only: no validator at all
    * ``nolength`` — no Content-Length (body ends when the connection closes)
    """

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, float]] = {}
        self.url = ""

    def set(self, name: str, data: bytes, mtime: float = 1_700_000_000.0) -> None:
        self.files[name] = (data, mtime)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        files = self.files

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_HEAD(self) -> None:  # noqa: N802
                self._serve(False)

            def do_GET(self) -> None:  # noqa: N802
                self._serve(True)

            def _serve(self, body: bool) -> None:
                mode, _, name = self.path.lstrip("/").partition("/")
                if name not in files:
                    self.send_error(404)
                    return
                data, mtime = files[name]
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                if mode != "nolength":
                    self.send_header("Content-Length", str(len(data)))
                if mode == "etag":
                    self.send_header("ETag", f'"{blake3(data).hexdigest()[:20]}"')
                if mode == "lastmod":
                    self.send_header("Last-Modified", formatdate(mtime, usegmt=True))
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@contextmanager
def http_files() -> Iterator[HTTPFiles]:
    files = HTTPFiles()
    server = ThreadingHTTPServer(("127.0.0.1", 0), files.handler())
    files.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield files
    finally:
        server.shutdown()
        server.server_close()
