"""One output sink: results to stdout (rich tables or one JSON document), the rest to stderr.

Progress bars go to stderr only when it is a terminal (or ``--progress``; ``--progress plain``
prints one line per step instead), never with ``--quiet``; ``NO_COLOR`` and ``TERM=dumb`` are
honoured by rich itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


@dataclass
class Output:
    """Settings every command shares (set by the root group's options)."""

    json: bool = False
    quiet: bool = False
    verbose: int = 0
    progress_mode: str = "auto"  # --progress MODE: auto (a bar on a terminal), bar, plain, none
    debug: bool = False
    #: ``--repo X`` (``ARTCTL_REPO``): the repository or remote the command works on.
    repo: str | None = None
    #: A JSON document went to stdout: an error after it must not print a second one.
    emitted_json: bool = False
    _stdout: Console | None = field(default=None, repr=False)
    _stderr: Console | None = field(default=None, repr=False)

    @property
    def stdout(self) -> Console:
        if self._stdout is None:
            from rich.console import Console

            self._stdout = Console(soft_wrap=True, highlight=False)
        return self._stdout

    @property
    def stderr(self) -> Console:
        if self._stderr is None:
            from rich.console import Console

            self._stderr = Console(stderr=True, soft_wrap=True, highlight=False)
        return self._stderr

    def emit_json(self, document: Any) -> None:
        """The one JSON document a ``--json`` command prints."""
        self.emitted_json = True
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()

    def emit_json_listing(self, document: dict[str, Any], key: str, items: Iterable[Any]) -> None:
        """``emit_json({**document, key: list(items)})``, written as the items come: a listing of
        a million entries is never one list or one string in memory (one item per line)."""
        self.emitted_json = True
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
        """``warning: …`` on stderr, one line whatever the terminal's width (as errors)."""
        self.stderr.print(f"warning: {text}", markup=False, style="yellow", soft_wrap=True)

    def progress_style(self) -> str:
        """``bar``, ``plain`` or ``none``: what ``progress_bar`` draws (``--progress MODE``)."""
        mode = self.progress_mode
        if self.quiet or mode == "none" or self.json and mode == "auto":
            return "none"
        if mode == "auto":
            return "bar" if sys.stderr.isatty() and os.environ.get("TERM") != "dumb" else "none"
        return mode

    def show_progress(self) -> bool:
        return self.progress_style() != "none"

    @contextlib.contextmanager
    def progress_bar(
        self, description: str, total_files: int | None = None, total_bytes: int | None = None
    ) -> Iterator[Callable[[int, int], None]]:
        """A ``(files, bytes)`` callback that advances a bar (or prints plain lines) on stderr.

        The callback's ``set_total(files, bytes)`` (see ``progress.announce_total``) gives the
        bar its total: a determinate bar in bytes when bytes are known, else in files.
        """
        style = self.progress_style()
        if style == "none":
            yield lambda files, size: None
            return
        from artctl.base.progress import ProgressState

        state = ProgressState(total_files, total_bytes)
        if style == "plain":
            from artctl.cli.progress_view import PlainLines

            lines = PlainLines(description, state)
            yield lines
            lines.finish()
            return
        from artctl.cli.progress_view import rich_bar

        with rich_bar(description, state, force=self.progress_mode == "bar") as advance:
            yield advance


@contextlib.contextmanager
def warnings_as_lines(out: Output) -> Iterator[None]:
    """While a command runs, the library's :class:`~artctl.errors.ArtctlWarning` s are
    ``warning: …`` lines (each text once per command); other warnings go where they went."""
    import warnings

    from artctl.errors import ArtctlWarning

    with warnings.catch_warnings():
        previous = warnings.showwarning

        def show(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
            if issubclass(category, ArtctlWarning):
                out.warn(str(message))
            else:
                previous(message, category, *args, **kwargs)

        warnings.showwarning = show
        warnings.simplefilter("default", ArtctlWarning)
        yield


def render_error(
    code: str,
    message: str,
    hint: str | None,
    *,
    as_json: bool,
    debug: bool,
    details: dict[str, Any] | None = None,
) -> None:
    """The one rendering of a failure: ``error: …`` (+ ``hint: …``) on stderr, and under
    ``--json`` also ``{"error": {"code", "message", "hint"}}`` on stdout (CLI.md), beside the
    ``details`` of an error that did part of its work (a push refused for one artifact)."""
    if debug:
        import traceback

        traceback.print_exc()
    if as_json:
        print_json_error(code, message, hint, details)
    sys.stderr.write(f"error: {message}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")


def print_json_error(
    code: str, message: str, hint: str | None, details: dict[str, Any] | None = None
) -> None:
    """``{"error": {"code", "message", "hint"}}`` on stdout: a failure under ``--json``."""
    doc = {**(details or {}), "error": {"code": code, "message": message, "hint": hint}}
    sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()
