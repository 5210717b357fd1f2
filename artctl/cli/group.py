"""The click group class every artctl group uses: typo suggestions at every level.

``artctl artfact ls`` and ``artctl artifact lst`` both end with ``Did you mean: …?``. Command
modules may write ``@click.group("x", cls=ArtctlGroup)``; groups created as plain
``click.Group`` are adopted by :func:`adopt_groups` when the root registers its modules, so a
module that forgets still behaves the same.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

import click

from artctl.cli.global_opts import GlobalArgsMixin


def suggestions(name: str, choices: list[str]) -> list[str]:
    """Close matches for a mistyped name, best first (prefix matches count as close)."""
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.6)
    prefixed = [c for c in choices if name and c.startswith(name) and c not in close]
    return (close + prefixed)[:3]


def unknown_command(group: click.Group, ctx: click.Context, name: str) -> click.UsageError:
    """The usage error for ``name`` not being a subcommand of ``group``, with suggestions."""
    message = f"No such command {name!r}."
    close = suggestions(name, group.list_commands(ctx))
    if close:
        message += f"\nDid you mean: {', '.join(close)}?"
    return click.UsageError(message, ctx)


class CommandInterrupted(Exception):
    """Ctrl-C inside a command, carried past click's own handler (which would print an empty
    line first) to the error boundary in ``cli.main``: one line, exit 130."""


class ArtctlGroup(GlobalArgsMixin, click.Group):
    """A group that suggests close matches for a mistyped subcommand (and reads a bare
    ``--progress`` as ``--progress=bar``)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise CommandInterrupted() from None

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            name = args[0] if args else ""
            if name and "No such command" in exc.message:
                raise unknown_command(self, ctx, name) from None
            raise


def walk(
    command: click.Command,
    path: tuple[str, ...] = (),
    *,
    hidden: bool = False,
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command under ``command`` (itself first) with its path of names, sorted."""
    yield path, command
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            sub = command.commands[name]
            if sub.hidden and not hidden:
                continue
            yield from walk(sub, (*path, name), hidden=hidden)


def adopt_groups(root: click.Group) -> None:
    """Give every plain ``click.Group`` in the tree the suggesting behaviour."""
    for _path, command in walk(root, hidden=True):
        if type(command) is click.Group:
            command.__class__ = ArtctlGroup
