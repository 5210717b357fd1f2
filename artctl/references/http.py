"""HTTP(S) references: one URL is one object (no listing).

The state recorded is what the server publishes about the exact bytes: ``ETag`` and/or
``Last-Modified``, with the size from ``Content-Length`` (required: without it artctl cannot say
how big the file is, so the reference is refused). A server that sends neither validator gives
nothing to compare later, so the body is downloaded once at logging time and its BLAKE3 becomes
the entry's digest — ``get`` then checks the bytes themselves.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from artctl.base.hashing import new_hasher
from artctl.errors import ObjectNotFound, RemoteError
from artctl.format.manifest import Entry
from artctl.references.base import CHUNK, Fetched, RemoteObject, basename, changed, check_size, copy_stream

TIMEOUT_SECONDS = 60.0


def _open(uri: str, method: str = "GET") -> Any:
    request = urllib.request.Request(uri, method=method, headers={"Accept-Encoding": "identity"})
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS)  # noqa: S310 - http(s) only
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 410):
            raise ObjectNotFound(f"no object at {uri} (HTTP {exc.code})") from None
        raise RemoteError(f"{uri} answered HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise RemoteError(f"cannot reach {uri}: {reason}") from None


def _state(headers: Any) -> dict[str, Any]:
    state: dict[str, Any] = {}
    if headers.get("ETag"):
        state["etag"] = headers["ETag"]
    if headers.get("Last-Modified"):
        state["last_modified"] = headers["Last-Modified"]
    return state


def _length(uri: str, headers: Any) -> int:
    value = headers.get("Content-Length")
    try:
        size = int(value) if value is not None else -1
    except ValueError:
        size = -1
    if size < 0:
        # The server's answer, not the user's input, is at fault: an operation failure (exit 1).
        raise RemoteError(
            f"{uri}: the server sends no Content-Length, so its size cannot be recorded",
            hint="serve the file with a Content-Length header, or download it and "
            "`artctl artifact put` the local copy",
        )
    return size


class HTTPAdapter:
    """``http://`` and ``https://`` URLs."""

    def __init__(self, scheme: str) -> None:
        self.scheme = scheme

    def list(self, uri: str, max_objects: int) -> list[RemoteObject]:
        try:
            response, method = _open(uri, "HEAD"), "HEAD"
        except RemoteError:
            response, method = _open(uri, "GET"), "GET"  # some servers refuse HEAD (405/501)
        with response:
            size = _length(uri, response.headers)
            state = _state(response.headers)
            if state or method == "GET":
                digest = None if state else self._hash_body(uri, response, size)
                return [RemoteObject(uri, "", size, state, digest)]
        with _open(uri, "GET") as response:
            size = _length(uri, response.headers)
            return [RemoteObject(uri, "", size, {}, self._hash_body(uri, response, size))]

    @staticmethod
    def _hash_body(uri: str, response: Any, size: int) -> str:
        hasher, total = new_hasher(), 0
        while chunk := response.read(CHUNK):
            hasher.update(chunk)
            total += len(chunk)
        if total != size:
            raise RemoteError(f"{uri}: got {total} bytes, Content-Length said {size}")
        return hasher.hexdigest()

    def fetch(self, entry: Entry, dst: Path) -> Fetched:
        assert entry.ref is not None
        try:
            response = _open(entry.ref)
        except ObjectNotFound:
            raise changed(entry, "the server no longer has it", versioned_hint=False) from None
        with response:
            now = _state(response.headers)
            recorded = entry.ref_state or {}
            for key in ("etag", "last_modified"):
                if key in recorded and now.get(key) != recorded[key]:
                    raise changed(
                        entry,
                        f"{key.replace('_', '-')} {recorded[key]} → {now.get(key)}",
                        versioned_hint=False,
                    )
            got = copy_stream(response, dst, limit=entry.size)
        check_size(entry, got)
        if entry.digest is not None and got.digest != entry.digest:
            raise changed(entry, "its bytes differ from the logged BLAKE3", versioned_hint=False)
        return got

    def fetch_current(self, uri: str, dst: Path) -> Fetched:
        with _open(uri) as response:
            return copy_stream(response, dst)


__all__ = ["HTTPAdapter", "basename"]
