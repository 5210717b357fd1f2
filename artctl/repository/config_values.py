"""What each setting accepts: the parser of every typed config key, and how values are written.

One parser per kind of value (boolean, count, duration, link mode, name part, cache directory),
used by ``artctl config`` when it writes a key and by :class:`~artctl.repository.settings.Settings`
when it reads one, so the command line, the files and ``ARTCTL_*`` accept and refuse alike; a
bad value is one :func:`invalid` error that says where it was set. The keys themselves, and the
layers they are read from, are :mod:`artctl.repository.config`'s.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from artctl.errors import InvalidInput


def invalid(value: Any, key: str, source: str | None, expected: str, why: str | None = None) -> InvalidInput:
    """The one error for a bad setting: what was wrong, what is accepted, and where to fix it
    (``why``, when the parser had something more specific to say, e.g. "5m: min or mo?")."""
    if source is None:  # being written by `artctl config`: the command line is the place
        hint = why
    elif source.startswith("ARTCTL_"):
        hint = f"it comes from the environment variable {source}: fix or unset it"
    else:
        scope = "--user " if source == "user" else ""
        hint = (
            f"it comes from the {source} config: fix it with `artctl config {scope}{key} VALUE` "
            f"or remove it with `artctl config {scope}--unset {key}`"
        )
    if why and hint and why != hint:
        hint = f"{why}; {hint}"
    return InvalidInput(f"invalid value {value!r} for {key}: {expected}", hint=hint)


def parse_bool(value: Any, key: str, source: str | None = None) -> bool:
    """A boolean setting: TOML true/false, or text true/false/1/0/yes/no/on/off (any case)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise invalid(value, key, source, "true or false (also yes/no, on/off, 1/0)")


def parse_count(value: Any, key: str, source: str | None = None) -> int:
    """A count of workers or jobs: a whole number of at least 1 (``4`` or ``"4"``)."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or number < 1:
        raise invalid(value, key, source, "a whole number of at least 1")
    return number


def parse_publish(value: Any, key: str, source: str | None = None) -> str:
    """Where ``put`` commits a new version: ``local`` or ``remote``."""
    if value not in ("local", "remote"):
        raise invalid(value, key, source, "local or remote")
    return str(value)


def parse_link(value: Any, key: str, source: str | None = None) -> str:
    """How ``get`` places files: one of :data:`~artctl.base.filecopy.LINK_MODES`."""
    from artctl.base.filecopy import LINK_MODES

    if not isinstance(value, str) or value not in LINK_MODES:
        raise invalid(value, key, source, "one of " + ", ".join(LINK_MODES))
    return value


def parse_name_part(value: Any, key: str, source: str | None = None) -> str:
    """An entity or project: one part of an artifact name (``docs/names.md``)."""
    from artctl.errors import InvalidName
    from artctl.format.names import parse_project

    expected = "1-128 letters, digits, '.', '_' or '-', starting with a letter or digit"
    if not isinstance(value, str) or "/" in value:
        raise invalid(value, key, source, expected)
    try:
        return parse_project(value)
    except InvalidName:
        raise invalid(value, key, source, expected) from None


#: Values of ``cache.dir`` that turn the user cache off.
CACHE_OFF = ("none", "off", "false", "no", "0", "")


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/artctl`` (an absolute XDG_CACHE_HOME only, as the XDG spec says), else
    ``~/.cache/artctl``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "artctl"


def parse_cache_dir(value: Any, key: str, source: str | None = None) -> Path | None:
    """The user cache's directory: an absolute path (``~`` expanded), or None when off
    (``none``/``off``/``false``/empty, or TOML ``false``). A relative path is refused: it would
    name a different cache in every working directory."""
    if value is False or (isinstance(value, str) and value.strip().lower() in CACHE_OFF):
        return None
    if not isinstance(value, str):
        raise invalid(value, key, source, "an absolute directory, or none to turn the cache off")
    path = Path(os.path.expanduser(value.strip()))
    if not path.is_absolute():
        raise invalid(
            value, key, source, "an absolute directory, or none to turn the cache off", "a relative path"
        )
    return path


def parse_grace(value: Any, key: str = "--grace-period", source: str | None = None) -> int:
    """A grace period in seconds from a duration (``1h``, ``30m``, ``2d``) or ``0``/``now``.

    One parser for the config key and the command-line option: both accept and refuse alike.
    """
    text = str(value).strip()
    if text in ("0", "0s", "none", "now"):
        return 0
    seconds, why = _duration_seconds(text)
    if seconds is None:
        raise invalid(value, key, source, "a duration such as 90min, 12h, 30d, 2w, 1y, or 0", why)
    return seconds


def parse_ttl(value: Any, key: str, source: str | None = None) -> int:
    """A TTL in seconds: a positive duration (``30d``) of at most 1000 years."""
    seconds, why = _duration_seconds(str(value))
    if not seconds:
        raise invalid(
            value, key, source, "a duration such as 90min, 12h, 30d, 2w, 6mo, 1y (at most 1000y)", why
        )
    return seconds


def _duration_seconds(text: str) -> tuple[int | None, str | None]:
    """Seconds of a duration like ``12h`` (at most 1000 years), or None and the parser's hint
    when it is not one."""
    from artctl.base.units import MAX_DURATION_SECONDS, parse_duration

    try:
        seconds = parse_duration(text.strip()).total_seconds()
    except InvalidInput as exc:
        return None, exc.hint
    return (int(seconds), None) if seconds <= MAX_DURATION_SECONDS else (None, None)


#: The parser of each typed key (``(value, key, source) -> typed value``): the one place that
#: decides what a setting accepts, used by ``artctl config`` when it writes and by
#: :class:`~artctl.repository.settings.Settings` when it reads (files and ``ARTCTL_*`` alike).
PARSERS: dict[str, Callable[[Any, str, str | None], Any]] = {
    "core.link": parse_link,
    "core.publish": parse_publish,
    "core.fsync": parse_bool,
    "core.workers": parse_count,
    "core.entity": parse_name_part,
    "core.project": parse_name_part,
    "ttl.default": parse_ttl,
    "ttl.project.<PROJECT>": parse_ttl,
    "gc.grace_period": parse_grace,
    "gc.remote_grace": parse_grace,
    "remote.<NAME>.jobs": parse_count,
    "references.allow_local": parse_bool,
    "cache.dir": parse_cache_dir,
}


def format_value(value: Any) -> str:
    """A value as it is written in TOML and on the command line (``true``, not ``True``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_value(text: str) -> Any:
    """Config values from the command line: ints and booleans as such, the rest as strings."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        return text
