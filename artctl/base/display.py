"""Making stored text safe to print on a terminal.

Descriptions, run names, commands and metadata are free text, and a repository can come from
someone else (``artctl pull``/``clone``). Printed raw, an escape sequence in them could clear the
screen, recolour or rewrite earlier lines, or set the window title. Every human view passes such
text through :func:`printable` first; ``--json`` needs nothing (JSON escapes control characters).
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, and the C1 controls (0x80-0x9f; 0x9b is a one-byte CSI).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: object, *, newlines: bool = True) -> str:
    """``text`` with control characters shown as ``\\xNN`` (and newlines too unless ``newlines``)."""
    out = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))
    return out if newlines else out.replace("\n", "\\n")
