"""Plain JSON given by the user: metadata, run config and the options that carry them.

A user's JSON object is checked in full before anything is written (a refused value must claim
no name and leave no half-made record): plain JSON only (str keys, lists, str, int, finite
float, bool, None), nested at most :data:`MAX_JSON_DEPTH` deep, so every reader (``--json``,
the UI, jq) keeps working. The same checks serve the records that store it
(:mod:`artctl.format.records`) when they are read back.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from artctl.errors import InvalidInput

#: Deepest nesting of lists and objects accepted in metadata and run config. Real metadata is
#: a few levels deep; a bound keeps every reader (recursive JSON encoders, the UI, jq) working.
MAX_JSON_DEPTH = 64


def json_problem(value: Any, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """What makes ``value`` unfit to store as JSON, or None if it is plain JSON.

    Plain JSON: dicts with str keys, lists, str, int, finite float, bool, None, nested at most
    ``max_depth`` deep. Iterative, so a hostile depth cannot exhaust the stack; checked before
    anything is written, so a refused value never leaves a half-made record behind.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list, tuple)):
            if depth > max_depth:
                return f"nested more than {max_depth} levels deep"
            children: Iterable[Any] = item
            if isinstance(item, dict):
                for key in item:
                    if not isinstance(key, str):
                        return f"key {key!r} is not a string"
                children = item.values()
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"{item!r} is not a JSON number (NaN and Infinity are not JSON)"
        elif item is not None and not isinstance(item, (str, int, bool)):
            return f"{type(item).__name__} value {item!r:.60} is not a JSON value"
    return None


def check_plain_json(value: dict[str, Any], what: str) -> dict[str, Any]:
    """A user's JSON object (metadata, run config) is plain JSON, finite and not too deep —
    checked in full before anything is written (a refused value must claim no name)."""
    problem = json_problem(value)
    if problem:
        raise InvalidInput(
            f"{what} is not plain JSON: {problem}",
            hint="use str, int, float (finite), bool, None, lists and dicts; "
            "convert e.g. datetimes with str() and numpy values with .item()",
        )
    return value


def reject_constant(name: str) -> Any:
    """``NaN``/``Infinity`` are not JSON: stored, they would make every ``--json`` invalid."""
    raise ValueError(f"{name} is not a JSON value")


def parse_json_object(text: str | None, option: str, example: str) -> dict[str, Any] | None:
    """A JSON-object option (``--metadata``, ``--config``) → dict, or None when not given.

    One parser so every such option refuses the same things (invalid JSON, NaN/Infinity,
    anything but an object) with the same wording; ``example`` is shown in the error.
    """
    if text is None:
        return None
    try:
        value = json.loads(text, parse_constant=reject_constant)
    except ValueError as exc:
        raise InvalidInput(f"{option} is not valid JSON: {exc}") from None
    except RecursionError:
        value = None
        problem: str | None = f"nested more than {MAX_JSON_DEPTH} levels deep"
    else:
        problem = json_problem(value)
    if problem:
        raise InvalidInput(f"{option} is not plain JSON: {problem}")
    if not isinstance(value, dict):
        raise InvalidInput(f"{option} must be a JSON object, e.g. '{example}'")
    return value


def parse_metadata(text: str | None) -> dict[str, Any] | None:
    """``--metadata`` JSON → dict; anything but a JSON object is a clear error."""
    return parse_json_object(text, "--metadata", '{"source": "mnist"}')


def check_metadata(metadata: Any) -> dict[str, Any] | None:
    """Metadata must be a JSON object of plain JSON values (no NaN, datetimes, numpy scalars):
    anything else failed deep inside the write, or was stored and broke every ``--json``."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise InvalidInput("metadata must be a dict (a JSON object)")
    return check_plain_json(metadata, "metadata")
