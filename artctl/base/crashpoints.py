"""Named crash points: the places where crash tests kill a process on purpose.

A write path calls ``crash_point("put.after-manifest")`` between two steps of its documented
write order. Normally that is one comparison against ``None``. With
``ARTCTL_CRASH_AT=NAME`` (or ``NAME@N`` for the N-th time the point is reached) in the
environment, the process SIGKILLs itself there, so a test knows the kill landed exactly between
those two steps instead of hoping a wall-clock delay did. With ``ARTCTL_CRASH_TRACE=FILE`` every
point reached is appended to FILE (one name a line), so a test can check that the points it
kills at are the ones an operation really passes. ``ARTCTL_CRASH_SIGNAL=TERM`` (or ``INT``)
sends that signal instead of SIGKILL: the process then unwinds as after a CI timeout or a
Ctrl-C, which shows what its cleanup leaves at exactly that point.

Every point is listed in :data:`POINTS` with what a kill there must leave behind;
``docs/robustness.md`` repeats that table and a test keeps the two in step. Points are declared
at import of the module that uses them: :func:`load_all` imports every such module, so a
complete list needs no registry to maintain by hand.
"""

from __future__ import annotations

import os
import signal

POINTS: dict[str, str] = {}
"""name -> the guarantee a kill at that point must keep (filled by :func:`declare`)."""


def declare(name: str, guarantee: str) -> str:
    """Register a crash point (at import of the module that uses it); return its name."""
    POINTS[name] = guarantee
    return name


def load_all() -> dict[str, str]:
    """Import every artctl module that declares crash points; return :data:`POINTS`.

    A module is found by its source mentioning this module and ``declare(``, so a point added
    anywhere in the package is listed without editing a list here.
    """
    import importlib
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent  # artctl/, from artctl/base/
    for path in sorted(package.rglob("*.py")):
        if path.name == "__main__.py" or path == Path(__file__).resolve():
            continue
        source = path.read_text(encoding="utf-8")
        if "crashpoints" not in source or "declare(" not in source:
            continue
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        importlib.import_module(".".join(parts))
    return POINTS


def _parse(spec: str | None) -> tuple[str, int] | None:
    if not spec:
        return None
    name, _, nth = spec.partition("@")
    return name, int(nth) if nth.isdigit() and int(nth) > 0 else 1


_TARGET = _parse(os.environ.get("ARTCTL_CRASH_AT"))
_TRACE = os.environ.get("ARTCTL_CRASH_TRACE") or None
_SIGNAL = getattr(signal, "SIG" + os.environ.get("ARTCTL_CRASH_SIGNAL", "KILL").upper(), signal.SIGKILL)
_hits: dict[str, int] = {}


def crash_point(name: str) -> None:
    """Die here (SIGKILL, no cleanup; or the signal asked for) if a crash test asked for this point."""
    if _TARGET is None and _TRACE is None:
        return
    if _TRACE is not None:
        with open(_TRACE, "a", encoding="utf-8") as trace:
            trace.write(name + "\n")
    if _TARGET is not None and _TARGET[0] == name:
        _hits[name] = _hits.get(name, 0) + 1
        if _hits[name] == _TARGET[1]:
            os.kill(os.getpid(), _SIGNAL)
