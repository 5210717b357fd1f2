"""The global options (``--debug``, ``-v``, ``-q``, ``--json``, ``--progress``, ``--repo``),
accepted before the subcommand (``artctl -q artifact ls``) and after it (``artctl artifact ls
-q``), as W&B's and git's users type them.

The root command declares them; :func:`install` gives every other command hidden copies that
set the same :class:`~artctl.cli.output.Output` fields, so one declaration serves both places
and a new command needs no edit. ``--progress`` takes an optional MODE (``bar``, ``plain``,
``none``, ``auto``): a bare ``--progress`` still forces the bar, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from artctl.cli.output import Output

#: ``--progress MODE``: ``auto`` (a bar when stderr is a terminal), ``bar`` (always), ``plain``
#: (one line per step, for CI logs), ``none``.
PROGRESS_MODES = ("auto", "bar", "plain", "none")


def _output() -> Output:
    from artctl.cli.common import get_output

    return get_output()


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        _output().debug = True


def _add_verbose(ctx: click.Context, param: click.Parameter, value: int) -> None:
    if value:
        _output().verbose += value


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        _output().quiet = True


def _set_json(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        _output().json = True


def _set_progress(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        _output().progress_mode = value


def _no_progress(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        _output().progress_mode = "none"


def _set_repo(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value:
        _output().repo = value


def global_options(*, hidden: bool, with_json: bool) -> list[click.Option]:
    """Fresh option objects (click params cannot be shared between commands)."""
    common: dict[str, Any] = {"expose_value": False, "hidden": hidden}
    options = [
        click.Option(
            ["--debug"],
            is_flag=True,
            envvar="ARTCTL_DEBUG",
            callback=_set_debug,
            help="Show tracebacks and timings on errors.",
            **common,
        ),
        click.Option(
            ["-v", "--verbose"], count=True, callback=_add_verbose, help="Say what each step did.", **common
        ),
        click.Option(
            ["-q", "--quiet"],
            is_flag=True,
            callback=_set_quiet,
            help="Print only results; no progress or messages.",
            **common,
        ),
        click.Option(
            ["--progress"],
            type=click.Choice(PROGRESS_MODES),
            is_flag=False,
            flag_value="bar",
            default=None,
            callback=_set_progress,
            metavar="[MODE]",
            help="Progress on stderr: bar (the default --progress), plain (one line per step, "
            "for CI logs), none, or auto (a bar only when stderr is a terminal; default).",
            **common,
        ),
        click.Option(
            ["--repo"],
            envvar="ARTCTL_REPO",
            metavar="URL|REMOTE",
            callback=_set_repo,
            help="Work on this repository instead of the one around the working directory: a "
            "path, or a remote itself (s3://…, gs://…, az://…, file://…, or a configured remote's "
            "name such as origin). Also $ARTCTL_REPO.",
            **common,
        ),
        click.Option(
            ["--no-progress"], is_flag=True, callback=_no_progress, help="Never show progress.", **common
        ),
    ]
    if with_json:
        options.append(
            click.Option(
                ["--json"],
                is_flag=True,
                callback=_set_json,
                help="Print one JSON document on stdout (errors too).",
                **common,
            )
        )
    return options


def normalize_args(args: list[str]) -> list[str]:
    """``--progress`` followed by something that is not a MODE means ``--progress=bar`` (the
    old flag), so ``artctl --progress artifact get …`` still works; ``--`` ends the options."""
    out = list(args)
    for i, token in enumerate(out):
        if token == "--":
            break
        if token == "--progress" and (i + 1 == len(out) or out[i + 1] not in PROGRESS_MODES):
            out[i] = "--progress=bar"
    return out


class GlobalArgsMixin(click.Command):
    """``parse_args`` that understands the bare ``--progress`` (see :func:`normalize_args`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, normalize_args(args))


class ArtctlCommand(GlobalArgsMixin, click.Command):
    """A leaf command that accepts the global options after its name."""


def install(root: click.Group, walk: Callable[..., Any]) -> None:
    """Give every command below ``root`` hidden copies of the global options it lacks, and
    every leaf command the ``--repo`` scope (:mod:`artctl.cli.repo_scope`)."""
    from artctl.cli.repo_scope import scoped

    for path, command in walk(root, hidden=True):
        if not path:
            continue
        if not isinstance(command, click.Group) and command.callback is not None:
            command.callback = scoped(command.callback, path)
        taken = {opt for p in command.params for opt in getattr(p, "opts", ())}
        for option in global_options(hidden=True, with_json=False):
            if not set(option.opts) & taken:
                command.params.append(option)
        if type(command) is click.Command:
            command.__class__ = ArtctlCommand
