"""One output sink: results to stdout (rich tables or one JSON document), the rest to stderr.

Progress bars go to stderr only when it is a terminal (or ``--progress``), never with
``--quiet``; ``NO_COLOR`` and ``TERM=dumb`` are honoured by rich itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Output:
    """Settings every command shares (set by the root group's options)."""

    json: bool = False
    quiet: bool = False
    verbose: int = 0
    progress: bool | None = None  # None: only when stderr is a terminal
    debug: bool = False
    _stdout: Any = field(default=None, repr=False)
    _stderr: Any = field(default=None, repr=False)

    @property
    def stdout(self):  # type: ignore[no-untyped-def]
        if self._stdout is None:
            from rich.console import Console

            self._stdout = Console(soft_wrap=True, highlight=False)
        return self._stdout

    @property
    def stderr(self):  # type: ignore[no-untyped-def]
        if self._stderr is None:
            from rich.console import Console

            self._stderr = Console(stderr=True, soft_wrap=True, highlight=False)
        return self._stderr

    def emit_json(self, document: Any) -> None:
        """The one JSON document a ``--json`` command prints."""
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()

    def emit_json_listing(self, document: dict[str, Any], key: str, items: Iterable[Any]) -> None:
        """``emit_json({**document, key: list(items)})``, written as the items come: a listing of
        a million entries is never one list or one string in memory (one item per line)."""
        head = json.dumps(document, indent=2, ensure_ascii=False, default=str)
        write = sys.stdout.write
        write((head[:-2] + ",\n" if document else "{\n") + f"  {json.dumps(key)}: [")
        dumps = json.JSONEncoder(ensure_ascii=False, default=str).encode
        separator = "\n    "
        for item in items:
            write(separator + dumps(item))
            separator = ",\n    "
        write("\n  ]\n}\n" if separator == ",\n    " else "]\n}\n")
        sys.stdout.flush()

    def result(self, text: str) -> None:
        """A plain result line on stdout (ids, paths): never styled, safe for ``$(…)``."""
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def table(self, table: Any) -> None:
        self.stdout.print(table)

    def info(self, text: str) -> None:
        """A human message on stderr (suppressed by --quiet)."""
        if not self.quiet:
            self.stderr.print(text, markup=False)

    def verbose_info(self, text: str) -> None:
        if self.verbose and not self.quiet:
            self.stderr.print(text, markup=False)

    def warn(self, text: str) -> None:
        self.stderr.print(f"warning: {text}", markup=False, style="yellow")

    def show_progress(self) -> bool:
        if self.quiet or self.json and self.progress is None:
            return False
        if self.progress is not None:
            return self.progress
        return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"

    @contextlib.contextmanager
    def progress_bar(self, description: str, total_files: int | None = None,
                     total_bytes: int | None = None) -> Iterator[Callable[[int, int], None]]:
        """A ``(files, bytes)`` callback that advances a bar on stderr, or does nothing."""
        if not self.show_progress():
            yield lambda files, size: None
            return
        from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, Progress,
                                   TextColumn, TimeRemainingColumn, TransferSpeedColumn)

        head = [TextColumn("{task.description}"), BarColumn()]
        by_bytes = [*head, DownloadColumn(binary_units=True), TransferSpeedColumn(), TimeRemainingColumn()]
        by_files = [*head, MofNCompleteColumn(), TimeRemainingColumn()]
        from rich.console import Console

        console = Console(stderr=True, force_terminal=True if self.progress else None)
        with Progress(*(by_bytes if total_bytes else by_files), console=console, transient=True) as bar:
            task = bar.add_task(description, total=total_bytes or total_files)
            done = {"files": 0, "bytes": 0, "unit": "bytes" if total_bytes else "files"}

            class Advance:
                """The ``(files, bytes)`` callback; ``set_total`` makes the bar determinate."""

                def __call__(self, files: int, size: int) -> None:
                    done["files"] += files
                    done["bytes"] += size
                    bar.update(task, completed=done[done["unit"]])

                def set_total(self, files: int, size: int) -> None:
                    if size:
                        done["unit"] = "bytes"
                        bar.columns = tuple(by_bytes)
                    bar.update(task, total=size or files, completed=done[done["unit"]])

            yield Advance()
