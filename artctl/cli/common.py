"""Shared option decorators and helpers, so every command spells the same thing one way."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from artctl.base.units import count, human_size
from artctl.cli.output import Output

if TYPE_CHECKING:
    from artctl.api.repo import Repo
    from artctl.repository.repo import Repository

F = TypeVar("F", bound=Callable[..., Any])


def get_output() -> Output:
    ctx = click.get_current_context()
    root = ctx.find_root()
    if root.obj is None:
        root.obj = Output()
    return root.obj


def json_option(func: F) -> F:
    """``--json``: print one JSON document on stdout instead of human output."""

    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
    @functools.wraps(func)
    def wrapper(*args: Any, as_json: bool = False, **kwargs: Any) -> Any:
        out = get_output()
        out.json = out.json or as_json
        return func(*args, **kwargs)

    return cast(F, wrapper)


R = TypeVar("R", bound="Repository")


def open_repo() -> Repo:
    """The repository around the working directory (or ``ARTCTL_DIR``), closed when the command
    ends (a process that runs commands in-process must not collect open databases)."""
    from artctl.api.repo import Repo

    return closed_at_end(Repo())


def closed_at_end(repo: R) -> R:
    """Close ``repo`` (a :class:`~artctl.repository.repo.Repository`) when the running command's
    context ends."""
    click.get_current_context().call_on_close(repo.close)
    return repo


def run_option(func: F) -> F:
    """``--run RUN_ID`` (default ``$ARTCTL_RUN``): link what the command uses or logs to a run."""
    from artctl.cli.complete import RunType

    return click.option(
        "--run",
        "run_id",
        envvar="ARTCTL_RUN",
        metavar="RUN_ID",
        type=RunType(),
        help="Link to this run (default: $ARTCTL_RUN).",
    )(func)


def link_option(func: F) -> F:
    from artctl.base.filecopy import LINK_MODES

    return click.option(
        "--link",
        type=click.Choice(LINK_MODES),
        default=None,
        help="How files are placed: auto (reflink, else copy; default), copy, reflink, "
        "hardlink (read-only objects), symlink.",
    )(func)


def emit_put_result(result: Any) -> None:
    """Report a new (or identical existing) version the same way for put, draft commit and finish.

    ``result`` is a ``repository_ops.PutResult``; one renderer keeps the three commands' output
    (human line and ``--json`` shape) from drifting apart.
    """
    out = get_output()
    if out.json:
        out.emit_json(result.to_json())
        return
    record = result.record
    state = "created" if result.created else "unchanged, existing"
    out.result(
        f"{record.name}:{record.version} ({state}; {count(record.files, 'file')}, "
        f"{human_size(record.size)}) aliases: {', '.join(result.aliases)}"
    )


def short_time(text: str | None) -> str:
    """``2026-11-25T14:03:01.123456+00:00`` → ``2026-11-25 14:03``."""
    if not text:
        return "-"
    return text[:16].replace("T", " ")


def escape_cell(text: str) -> str:
    """Stored text for a rich table: markup escaped, control characters made visible."""
    from rich.markup import escape

    from artctl.base.display import printable

    return escape(printable(text))
