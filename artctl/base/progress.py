"""The progress protocol shared by every long operation (put, get, push, pull, verify).

Operations call a ``(files, bytes)`` callback with increments; a callback may also have
``set_total(files, bytes)``, which :func:`announce_total` calls once the work ahead is known.
:class:`ProgressState` is the arithmetic every view (bar, plain lines) shares, so that sizes,
totals and rates are counted and expressed one way (binary units, as ``human_size``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from artctl.base.units import human_size

Progress = Callable[[int, int], None]


def announce_total(progress: Progress | None, files: int, size: int) -> None:
    """Tell a progress callback how much work lies ahead, if it asks (a ``set_total`` method).

    Callbacks receive ``(files, bytes)`` increments; the CLI's views also have ``set_total`` so
    that a put (whose size is known after the scan) or a push (after the remote is listed) shows
    a total, a percentage and an ETA.
    """
    set_total = getattr(progress, "set_total", None)
    if callable(set_total):
        set_total(files, size)


@dataclass
class ProgressState:
    """Files and bytes done so far, the totals when known, and the rate."""

    total_files: int | None = None
    total_bytes: int | None = None
    files: int = 0
    bytes: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def by_bytes(self) -> bool:
        """Counted in bytes when a byte total is known (or bytes move without one), else files."""
        return bool(self.total_bytes) or (self.total_files is None and self.bytes > 0)

    def advance(self, files: int, size: int) -> None:
        self.files += files
        self.bytes += size

    def set_total(self, files: int, size: int) -> None:
        self.total_files, self.total_bytes = files, size

    def rate(self) -> float:
        """Bytes (or files, when counted in files) per second since the start."""
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return (self.bytes if self.by_bytes else self.files) / elapsed

    def percent(self) -> int | None:
        total = self.total_bytes if self.by_bytes else self.total_files
        done = self.bytes if self.by_bytes else self.files
        return min(100, done * 100 // total) if total else None

    def describe(self) -> str:
        """``3/10 files, 1.5/4.0 MiB (37%), 1.2 MiB/s``: sizes and rate in the same units."""
        files = (
            f"{self.files}/{self.total_files} files"
            if self.total_files is not None
            else f"{self.files} files"
        )
        if not self.by_bytes:
            percent = self.percent()
            return files + (f" ({percent}%)" if percent is not None else "") + f", {self.rate():.1f} files/s"
        size = _pair(self.bytes, self.total_bytes) if self.total_bytes else human_size(self.bytes)
        percent = self.percent()
        return (
            f"{files}, {size}"
            + (f" ({percent}%)" if percent is not None else "")
            + f", {human_size(self.rate())}/s"
        )


def _pair(done: int, total: int) -> str:
    """``1.5/4.0 MiB``, or ``512.0 KiB/4.0 MiB`` when the two need different units."""
    a, b = human_size(done), human_size(total)
    unit_a, unit_b = a.rsplit(" ", 1)[1], b.rsplit(" ", 1)[1]
    return f"{a.rsplit(' ', 1)[0]}/{b}" if unit_a == unit_b else f"{a}/{b}"
