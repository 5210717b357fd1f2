"""Remote URLs: which storage a URL names, and where in it."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlparse

from artctl.errors import InvalidInput


def split_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix/`` → ``("s3", "bucket/prefix")``; a plain path is ``file``."""
    if "://" not in url:
        return "file", os.path.abspath(os.path.expanduser(url))
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    if not scheme.isalnum() and scheme not in ("gs", "az", "abfs"):
        raise InvalidInput(f"invalid remote URL {url!r}")
    if scheme == "file":
        parsed = urlparse(url)
        if parsed.netloc not in ("", "localhost"):
            raise InvalidInput(f"file:// URL {url!r} names a host; use file:///absolute/path")
        return "file", unquote(parsed.path).rstrip("/") or "/"
    if scheme == "gcs":
        scheme = "gs"
    root = rest.strip("/")
    if not root:
        raise InvalidInput(f"remote URL {url!r} names no bucket or container")
    return scheme, root
