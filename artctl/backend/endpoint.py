"""Failing in seconds when a remote's explicit endpoint is down, instead of after the SDK's
minutes of retries."""

from __future__ import annotations

import os
import socket
from typing import Any
from urllib.parse import urlparse

from artctl.base import extras
from artctl.errors import RemoteError

#: How long one TCP connect to an explicit endpoint may take before the remote is unreachable.
CONNECT_TIMEOUT_SECONDS = 5.0


def explicit_endpoint(protocol: str, options: dict[str, Any]) -> str | None:
    """The endpoint a client will talk to, when the user (or environment) named one."""
    if protocol == "s3":
        client = options.get("client_kwargs") or {}
        return options.get("endpoint_url") or client.get("endpoint_url") or extras.env_s3_endpoint()
    if protocol in ("gs", "gcs"):
        return options.get("endpoint_url") or os.environ.get("STORAGE_EMULATOR_HOST")
    if protocol in ("az", "abfs", "abfss"):
        if options.get("account_url"):
            return str(options["account_url"])
        conn = options.get("connection_string") or (
            None if options.get("account_name") else os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
        )
        for part in str(conn or "").split(";"):
            key, _, value = part.partition("=")
            if key.strip().lower() == "blobendpoint":
                return value.strip()
    return None


def probe_endpoint(
    url: str, protocol: str, options: dict[str, Any], timeout: float = CONNECT_TIMEOUT_SECONDS
) -> None:
    """Fail in seconds, not minutes, when an explicit endpoint refuses connections.

    The SDKs retry a refused connection with backoff for 15-90 s; one TCP connect tells us
    the same thing at once. Endpoints chosen by the SDK itself (real clouds) are not probed.
    """
    endpoint = explicit_endpoint(protocol, options)
    if not endpoint:
        return
    parsed = urlparse(endpoint if "://" in endpoint else f"http://{endpoint}")
    if not parsed.hostname:
        return
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        socket.create_connection((parsed.hostname, port), timeout=timeout).close()
    except OSError as exc:
        raise RemoteError(
            f"cannot reach remote {url}: endpoint {parsed.scheme}://{parsed.hostname}:{port} "
            f"does not answer ({exc.strerror or exc})",
            hint="check the URL and endpoint_url option, and that the server is up",
        ) from None
