"""The two progress views on stderr: a rich bar, and plain lines for CI logs (``--progress plain``).

Both read one :class:`~artctl.base.progress.ProgressState`, so a total, a percentage and a rate are
worded the same way in both, sizes and rates in the same (binary) units as every other size
artctl prints.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import Any

from artctl.base.progress import ProgressState

#: ``--progress plain`` prints a line per step, but not more often than this (seconds): a put
#: of 20,000 small files must not write 20,000 lines into a CI log.
PLAIN_INTERVAL = 1.0


class PlainLines:
    """The ``(files, bytes)`` callback of ``--progress plain``: ``put p/d: 3/10 files, …`` lines."""

    def __init__(self, description: str, state: ProgressState) -> None:
        self.description = description
        self.state = state
        self.last: float | None = None
        self.pending = False

    def __call__(self, files: int, size: int) -> None:
        self.state.advance(files, size)
        self.pending = True
        now = time.monotonic()
        if self.last is None or now - self.last >= PLAIN_INTERVAL:
            self._line(now)

    def set_total(self, files: int, size: int) -> None:
        self.state.set_total(files, size)
        self._line(time.monotonic())

    def finish(self) -> None:
        """The last line (the totals reached), unless it was just printed."""
        if self.pending:
            self._line(time.monotonic())

    def _line(self, now: float) -> None:
        self.last, self.pending = now, False
        sys.stderr.write(f"{self.description}: {self.state.describe()}\n")
        sys.stderr.flush()


@contextlib.contextmanager
def rich_bar(description: str, state: ProgressState, *, force: bool) -> Iterator[Any]:
    """A transient rich bar: done/total and rate in the same units, and the time left."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
    from rich.text import Text

    class Amount(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(state.describe().rsplit(", ", 1)[0])

    class Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(state.describe().rsplit(", ", 1)[1])

    def total() -> int | None:
        return (state.total_bytes if state.by_bytes else state.total_files) or None

    def done() -> int:
        return state.bytes if state.by_bytes else state.files

    console = Console(stderr=True, force_terminal=True if force else None)
    columns = [TextColumn("{task.description}"), BarColumn(), Amount(), Rate(), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=total())

        class Advance:
            """The ``(files, bytes)`` callback; ``set_total`` makes the bar determinate."""

            def __call__(self, files: int, size: int) -> None:
                state.advance(files, size)
                bar.update(task, completed=done())

            def set_total(self, files: int, size: int) -> None:
                state.set_total(files, size)
                bar.update(task, total=total(), completed=done())

        yield Advance()
