"""The JSON API of ``artctl ui``: which path answers with what (docs/ui.md, "API").

Each route is a function of the request handler and the query (or body) parameters that calls
:mod:`artctl.ui.data` and returns the document to send; checking the host, the token and the
body, and sending the answer or the error, is :class:`artctl.ui.server.Handler`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from artctl.errors import InvalidInput
from artctl.ui import data
from artctl.ui.changes import change_token

if TYPE_CHECKING:
    from artctl.ui.server import Handler

Route = Callable[["Handler", dict[str, str]], Any]


def _param(params: dict[str, Any], key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"missing parameter {key!r}")
    return value


def _int(params: dict[str, Any], key: str, default: int) -> int:
    value = params.get(key)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{key} must be a whole number") from None


def _info(h: Handler, p: dict[str, Any]) -> Any:
    from artctl import __version__

    return {
        "version": __version__,
        "repository": str(h.server.repo_root.parent),
        "allow_edit": h.server.allow_edit,
        "token": change_token(h.server.repo_root),
    }


def _changed(h: Handler, p: dict[str, Any]) -> Any:
    token = change_token(h.server.repo_root)
    return {"token": token, "changed": p.get("since") not in (None, "", token)}


GET_ROUTES: dict[str, Route] = {
    "/api/info": _info,
    "/api/changed": _changed,
    "/api/artifacts": lambda h, p: data.artifacts(
        h.server.repo(), project=p.get("project") or None, type=p.get("type") or None, q=p.get("q")
    ),
    "/api/artifact": lambda h, p: data.artifact(h.server.repo(), _param(p, "name")),
    "/api/version": lambda h, p: data.version(h.server.repo(), _param(p, "ref")),
    "/api/diff": lambda h, p: data.diff(h.server.repo(), _param(p, "old"), _param(p, "new")),
    "/api/runs": lambda h, p: data.runs(h.server.repo(), q=p.get("q")),
    "/api/run": lambda h, p: data.run(h.server.repo(), _param(p, "id")),
    "/api/lineage": lambda h, p: data.lineage(
        h.server.repo(), _param(p, "node"), direction=p.get("direction") or "both", depth=_int(p, "depth", 2)
    ),
}

WRITE_ROUTES: dict[str, Route] = {
    "/api/version": lambda h, p: data.edit_version(h.server.repo(), p),
    "/api/alias": lambda h, p: data.edit_alias(h.server.repo(), p),
}
