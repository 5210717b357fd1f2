"""Human units: durations (``30d``) and sizes (``1GB``, ``500MiB``), parsed strictly."""

from __future__ import annotations

import re
from datetime import timedelta

from artctl.errors import InvalidInput

_DURATION = re.compile(r"(\d+)([a-z]+)\Z")
#: Duration units. ``m`` is refused: minutes to some, months to others (W&B's TTLs are in days).
_DURATION_SECONDS = {
    "s": 1,
    "min": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
    "mo": 30 * 86400,
    "y": 365 * 86400,
}
_DURATION_EXAMPLES = "e.g. 90min, 12h, 30d, 2w, 6mo, 1y"
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGTP]?i?B?)\Z", re.IGNORECASE)
_SIZE_FACTORS = {"": 1, "b": 1}
for _i, _p in enumerate("kmgtp", start=1):
    _SIZE_FACTORS[f"{_p}b"] = 1000**_i
    _SIZE_FACTORS[f"{_p}"] = 1000**_i
    _SIZE_FACTORS[f"{_p}ib"] = 1024**_i
    _SIZE_FACTORS[f"{_p}i"] = 1024**_i


def parse_duration(text: str) -> timedelta:
    """``"30d"`` → 30 days. Units: s, min, h, d, w, mo (30 days), y (365 days); one number, one
    unit, no spaces. ``m`` is ambiguous (minutes or months) and refused with a hint."""
    match = _DURATION.match(text.strip().lower()) if isinstance(text, str) else None
    if match and match.group(2) == "m":
        raise InvalidInput(
            f"ambiguous duration {text!r}: 'm' could mean minutes or months",
            hint=f"write {match.group(1)}min for minutes or {match.group(1)}mo for months",
        )
    if not match or match.group(2) not in _DURATION_SECONDS or int(match.group(1)) == 0:
        raise InvalidInput(
            f"invalid duration {text!r}: use a positive number and one unit "
            f"(s, min, h, d, w, mo, y), {_DURATION_EXAMPLES}"
        )
    try:
        return timedelta(seconds=int(match.group(1)) * _DURATION_SECONDS[match.group(2)])
    except OverflowError:
        raise InvalidInput(f"duration {text!r} is too long") from None


#: The longest TTL accepted (1000 years): a TTL is added to a timestamp, and beyond a few
#: thousand years ``datetime`` overflows.
MAX_DURATION_SECONDS = 1000 * _DURATION_SECONDS["y"]


def format_duration(delta: timedelta | None) -> str | None:
    """The shortest exact ``parse_duration`` form of ``delta``."""
    if delta is None:
        return None
    seconds = int(delta.total_seconds())
    for unit in ("y", "w", "d", "h", "min"):  # never "mo": 60d reads better than 2mo
        if seconds and seconds % _DURATION_SECONDS[unit] == 0:
            return f"{seconds // _DURATION_SECONDS[unit]}{unit}"
    return f"{seconds}s"


def parse_size(text: str) -> int:
    """``"1GB"`` → 10**9, ``"500MiB"`` → 500·2**20, ``"0"`` → 0; bytes, never negative."""
    match = _SIZE.match(text.strip()) if isinstance(text, str) else None
    unit = match.group(2).lower() if match else None
    if not match or unit not in _SIZE_FACTORS:
        raise InvalidInput(f"invalid size {text!r}: use e.g. 0, 500MB, 1GB, 2GiB")
    return int(float(match.group(1)) * _SIZE_FACTORS[unit])


def ttl_seconds(ttl: str | timedelta | None) -> int | None:
    """A TTL (``"30d"``, a timedelta) in whole seconds; None stays None (no TTL given)."""
    if ttl is None:
        return None
    delta = parse_duration(ttl) if isinstance(ttl, str) else ttl
    if not isinstance(delta, timedelta) or delta.total_seconds() <= 0:
        raise InvalidInput("TTL must be a positive duration")
    if delta.total_seconds() > MAX_DURATION_SECONDS:
        raise InvalidInput("TTL is too long: at most 1000 years")
    return int(delta.total_seconds())


def human_size(n: int | float) -> str:
    """``1536`` → ``1.5 KiB``: sizes as people read them."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 file``, ``2 files``, ``0 files``: a number and its noun, as people write them
    (``plural`` for nouns that do not take an ``s``: ``count(n, "repository", "repositories")``)."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
