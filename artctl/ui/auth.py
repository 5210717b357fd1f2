"""The access token of ``artctl ui``: who may read (and, with ``--allow-edit``, change) the repository.

Loopback binding and the Host check keep other machines and foreign web pages out, but not the
other users and processes of this machine: anything can connect to 127.0.0.1. So, as Jupyter
does, each server has a random token (``secrets.token_urlsafe(32)``, or ``ARTCTL_UI_TOKEN``)
that every request must present, in one of three ways:

- ``?token=…`` in the URL that ``artctl ui`` prints and opens; on a page (not ``/api/``) the
  server answers with a redirect to the same URL without the token, setting
- a cookie ``artctl-ui-token-PORT`` (``HttpOnly``: page scripts cannot read it;
  ``SameSite=Strict``: no other site's request carries it) that the page's own requests send;
- an ``Authorization: Token …`` header, for scripts.

Cookies are not separated by port, so the cookie's name carries the port: two servers on the
same machine never overwrite each other's. Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode

from artctl.errors import InvalidInput

TOKEN_ENV = "ARTCTL_UI_TOKEN"
#: What a token may contain: safe in a URL, a cookie and a header without any quoting.
TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~-]+")
MIN_TOKEN_LENGTH = 16
AUTH_SCHEMES = ("token", "bearer")


def new_token() -> str:
    """A fresh random token (32 random bytes, 43 URL-safe characters)."""
    return secrets.token_urlsafe(32)


def token_from(environ: Mapping[str, str]) -> str:
    """``ARTCTL_UI_TOKEN`` when set (checked: scripts then know the token in advance), else a new one."""
    value = environ.get(TOKEN_ENV)
    if value is None:
        return new_token()
    if len(value) < MIN_TOKEN_LENGTH or not TOKEN_CHARS.fullmatch(value):
        raise InvalidInput(
            f"{TOKEN_ENV} must be at least {MIN_TOKEN_LENGTH} characters of A-Z a-z 0-9 . _ ~ -",
            hint=f"unset {TOKEN_ENV} for a random token, or set it to the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`",
        )
    return value


def cookie_name(port: int) -> str:
    """The cookie of the server on ``port`` (cookies are shared by all ports of a host)."""
    return f"artctl-ui-token-{port}"


def set_cookie(port: int, token: str) -> str:
    """The ``Set-Cookie`` value: for this session only, never readable by scripts or sent cross-site."""
    return f"{cookie_name(port)}={token}; Path=/; HttpOnly; SameSite=Strict"


def cookie_value(header: str | None, name: str) -> str | None:
    """The value of cookie ``name`` in a ``Cookie`` header (tolerant of malformed pairs)."""
    for pair in (header or "").split(";"):
        key, sep, value = pair.strip().partition("=")
        if sep and key.strip() == name:
            return value.strip().strip('"')
    return None


def header_token(header: str | None) -> str | None:
    """The token of ``Authorization: Token …`` (or ``Bearer …``)."""
    scheme, _, value = (header or "").strip().partition(" ")
    if scheme.lower() in AUTH_SCHEMES and value.strip():
        return value.strip()
    return None


def same(expected: str, presented: str | None) -> bool:
    """Constant-time comparison (no timing oracle for guessing the token byte by byte)."""
    if presented is None:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode("utf-8", "replace"))


def without_token(query: str) -> str:
    """The query string minus every ``token`` parameter (what the address bar keeps)."""
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "token"]
    return urlencode(kept)


LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>artctl ui: access token needed</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em}}
code{{background:#eee;padding:0 .2em}}</style></head>
<body><h1>artctl ui: access token needed</h1>
<p>{reason}</p>
<p>Open the URL that <code>artctl ui</code> printed in its terminal: it ends in
<code>/?token=&hellip;</code>. A restarted server has a new token (unless
<code>ARTCTL_UI_TOKEN</code> sets it).</p>
</body></html>
"""


def login_page(reason: str) -> bytes:
    """The one page served without a token: it says how to get in, and shows nothing else."""
    return LOGIN_PAGE.format(reason=reason).encode()
