"""``artctl help COMMAND…`` and ``artctl completion SHELL``: help about artctl itself."""

from __future__ import annotations

import click

from artctl.cli.group import unknown_command


@click.command("help")
@click.argument("command", nargs=-1)
@click.pass_context
def help_cmd(ctx: click.Context, command: tuple[str, ...]) -> None:
    """Show the help of a command (the same as COMMAND --help).

    \b
    Examples:
      artctl help artifact put
      artctl help
    """
    root = ctx.find_root()
    current: click.Command = root.command
    cctx = click.Context(current, info_name=root.info_name, **current.context_settings)
    for name in command:
        if not isinstance(current, click.Group):
            raise click.UsageError(f"{' '.join(cctx.command_path.split()[1:])} has no subcommands", ctx)
        sub = current.get_command(cctx, name)
        if sub is None:
            raise unknown_command(current, cctx, name)
        current = sub
        cctx = click.Context(current, info_name=name, parent=cctx, **current.context_settings)
    click.echo(current.get_help(cctx))


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion_cmd(shell: str) -> None:
    """Print the shell completion script for bash, zsh or fish.

    The same scripts are in the source tree's completions/ directory.

    \b
    Examples:
      eval "$(artctl completion bash)"          # in ~/.bashrc
      artctl completion fish > ~/.config/fish/completions/artctl.fish
    """
    from artctl.cli.shells import script

    click.echo(script(shell, click.get_current_context().find_root().command), nl=False)


def register(group: click.Group) -> None:
    group.add_command(help_cmd)
    group.add_command(completion_cmd)
