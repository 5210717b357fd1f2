"""``artctl init`` and ``artctl config``."""

from __future__ import annotations

from pathlib import Path

import click

from artctl.cli.common import closed_at_end, get_output, json_option


@click.command("init")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@json_option
def init_cmd(directory: Path | None) -> None:
    """Create a repository (DIRECTORY/.artifacts); safe to run twice.

    \b
    Example:
      artctl init            # in the project's top directory
    """
    from artctl.api.repo import Repo

    repo, created = Repo.init(directory)
    closed_at_end(repo)
    out = get_output()
    if out.json:
        out.emit_json({"root": str(repo.root), "created": created})
    elif out.quiet:
        return  # as `git init -q`: the exit status says it worked
    elif created and any(repo.layout.registry.iterdir()):
        # FORMAT was missing (e.g. deleted after it was damaged): the data was kept.
        out.result(f"Restored the format file of the existing artctl repository in {repo.root}")
    elif created:
        out.result(f"Initialized empty artctl repository in {repo.root}")
    else:
        out.result(f"Reinitialized existing artctl repository in {repo.root}")


@click.command("config")
@click.argument("key", required=False)
@click.argument("value", required=False)
@click.option("--unset", is_flag=True, help="Remove KEY.")
@click.option("--list", "list_all", is_flag=True, help="Show every key set, with its layer.")
@click.option("--user", "user_scope", is_flag=True, help="Write the user file instead of the repository's.")
@json_option
def config_cmd(key: str | None, value: str | None, unset: bool, list_all: bool, user_scope: bool) -> None:
    """Read or write configuration (repository, then user, then ARTCTL_* variables).

    \b
    Examples:
      artctl config core.link copy
      artctl config core.link
      artctl config --list
    """
    from artctl.errors import ArtctlError, NotFound
    from artctl.format.layout import CONFIG_FILE
    from artctl.repository.config import KNOWN_KEYS, Config, check_setting
    from artctl.repository.config_values import format_value, parse_value
    from artctl.repository.repo import find_root

    try:
        config = Config(find_root() / CONFIG_FILE)
    except ArtctlError:
        if not user_scope and (value is not None or unset):
            raise
        config = Config(None)
    out = get_output()
    scope = "user" if user_scope else "repository"
    if list_all or key is None:
        items = {k: (_masked(k, v), s) for k, (v, s) in config.items().items()}
        if out.json:
            out.emit_json({k: {"value": v, "scope": s} for k, (v, s) in items.items()})
            return
        for k, (v, s) in items.items():
            out.result(f"{k}={format_value(v)}\t({s})")
        if not items:
            out.info(
                "no configuration set; known keys:\n"
                + "\n".join(f"  {k}: {d}" for k, d in KNOWN_KEYS.items())
            )
        return
    if unset:
        if not config.unset(key, scope=scope):
            raise NotFound(f"config key {key!r} is not set in the {scope} file")
        if out.json:
            out.emit_json({"key": key, "value": None, "scope": scope})
        return
    if value is not None:
        typed = check_setting(key, parse_value(value))
        config.set(key, typed, scope=scope)
        if out.json:
            out.emit_json({"key": key, "value": typed, "scope": scope})
        return
    current = config.get(key)
    if current is None:
        raise NotFound(f"config key {key!r} is not set")
    if out.json:
        out.emit_json({"key": key, "value": current})
    else:
        out.result(format_value(current))


def _masked(key: str, value: object) -> object:
    """``***`` for a remote's plain-text credential (an older artctl wrote it), as `remote ls`."""
    from artctl.repository.credentials import is_plain_secret

    parts = key.split(".")
    if len(parts) > 3 and parts[0] == "remote" and parts[2] == "options":
        return "***" if is_plain_secret(".".join(parts[3:]), value) else value
    return value


def register(group: click.Group) -> None:
    group.add_command(init_cmd)
    group.add_command(config_cmd)
