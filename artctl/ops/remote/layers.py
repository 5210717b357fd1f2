"""Where a remote's URL and options come from: the config files, then the environment.

The files (user, then repository) are merged value by value, each value keeping its layer, so
``remote ls`` can say where it came from and a plain-text credential can be traced to its file.
Then ``ARTCTL_REMOTE_<NAME>_URL`` and ``ARTCTL_REMOTE_<NAME>_OPTIONS_<KEY>`` apply.

CI and containers configure through the environment, where secrets already live, not through
a file. ``<NAME>`` is the remote's name upper-cased with ``-`` and ``.`` as ``_``
(``my-store`` → ``MY_STORE``); ``<KEY>`` is the option upper-cased with ``-`` as ``_`` and
``__`` for the ``.`` of a nested key (``client_kwargs.region_name`` →
``CLIENT_KWARGS__REGION_NAME``). A ``_URL`` variable replaces the URL of the configured remote
of that name, or defines the remote (its name lower-cased) when no config file has it; an
``_OPTIONS_`` variable sets or replaces one option of a remote that has a URL (from a file or
the environment) and is ignored otherwise. Option values are typed like ``-o`` (``true``,
``8``), except secret-looking keys, which stay text.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from artctl.errors import InvalidInput
from artctl.repository.config_values import parse_value
from artctl.repository.credentials import is_plain_secret, leaves, looks_secret

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

PREFIX = "ARTCTL_REMOTE_"
_OPTIONS = "OPTIONS_"


@dataclass
class EnvRemote:
    """What the environment says about one remote: each value with the variable it came from."""

    url: tuple[str, str] | None = None
    options: dict[str, tuple[Any, str]] = field(default_factory=dict)


@dataclass
class Entry:
    """One remote as the config files and the environment define it, before it is a spec."""

    url: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    plain: list[tuple[str, str]] = field(default_factory=list)


def file_entries(repo: Repository) -> dict[str, Entry]:
    """The remotes the config files define (those with a URL there)."""
    return {name: entry for name, entry in _read_files(repo).items() if entry.url is not None}


def _read_files(repo: Repository) -> dict[str, Entry]:
    """Remotes of the config files, merged by layer (user, then repository: a later one wins per
    value), with the layer of each value; some may lack a URL the environment then gives."""
    entries: dict[str, Entry] = {}
    for layer, table in repo.config.layers():
        remotes = table.get("remote")
        for name, raw in (remotes if isinstance(remotes, dict) else {}).items():
            if not isinstance(raw, dict):
                continue
            entry = entries.setdefault(name, Entry())
            if isinstance(raw.get("url"), str):
                entry.url, entry.sources["url"] = raw["url"], layer
            options = raw.get("options")
            for key, value in leaves(options if isinstance(options, dict) else {}):
                set_option(entry, key, value, layer)
                if is_plain_secret(key, value):
                    entry.plain.append((key, layer))
    return entries


def set_option(entry: Entry, key: str, value: Any, source: str) -> None:
    """Set the dotted option ``key`` (``client_kwargs.region_name``) in ``entry``."""
    node = entry.options
    parts = key.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value
    entry.sources[f"options.{key}"] = source


def remote_entries(repo: Repository) -> dict[str, Entry]:
    """Every remote with a URL: :func:`file_entries`, then the environment's overrides and
    remotes (:func:`env_remotes`)."""
    entries = _read_files(repo)
    found = env_remotes({name: [k for k, _v in leaves(e.options)] for name, e in entries.items()})
    for name, env in found.items():
        entry = entries.setdefault(name, Entry())
        if env.url is not None:
            entry.url, entry.sources["url"] = env.url
        for key, (value, var) in env.options.items():
            set_option(entry, key, value, var)
    return {name: entry for name, entry in entries.items() if entry.url is not None}


def name_token(name: str) -> str:
    """The ``<NAME>`` part of a remote's variables: ``my-store`` → ``MY_STORE``."""
    return name.upper().replace("-", "_").replace(".", "_")


def option_token(key: str) -> str:
    """The ``<KEY>`` part of an option's variable: ``client_kwargs.region_name`` →
    ``CLIENT_KWARGS__REGION_NAME``."""
    return key.upper().replace("-", "_").replace(".", "__")


def url_variable(name: str) -> str:
    return f"{PREFIX}{name_token(name)}_URL"


def option_variable(name: str, key: str) -> str:
    return f"{PREFIX}{name_token(name)}_{_OPTIONS}{option_token(key)}"


def env_remotes(
    configured: Mapping[str, Iterable[str]], environ: Mapping[str, str] | None = None
) -> dict[str, EnvRemote]:
    """The environment's remotes and overrides, by remote name.

    ``configured`` maps each remote a config file has to its dotted option keys: a variable
    matches those names and keys whatever their case, and names the rest lower-cased.
    """
    environ = os.environ if environ is None else environ
    by_token: dict[str, list[str]] = {}
    for name in configured:
        by_token.setdefault(name_token(name), []).append(name)
    out: dict[str, EnvRemote] = {}
    for var in sorted(v for v in environ if v.startswith(PREFIX)):
        parsed = _parse(var[len(PREFIX) :], by_token)
        if parsed is None:
            continue
        token, option = parsed
        names = by_token.get(token, [token.lower()])
        if len(names) > 1:
            raise InvalidInput(
                f"{var} matches the remotes {' and '.join(sorted(names))}",
                hint="rename one of them with `artctl remote rm` and `artctl remote add`",
            )
        name = names[0]
        if not name[:1].isalnum():
            continue
        entry = out.setdefault(name, EnvRemote())
        if option is None:
            if environ[var]:  # an empty variable is unset, as the shells' ${VAR:-…} read it
                entry.url = (environ[var], var)
        else:
            key = _option_key(option, configured.get(name, ()))
            value = environ[var]
            entry.options[key] = (value if looks_secret(key) else parse_value(value), var)
    return out


def _parse(rest: str, by_token: Mapping[str, list[str]]) -> tuple[str, str | None] | None:
    """``ORIGIN_URL`` → ``("ORIGIN", None)``, ``ORIGIN_OPTIONS_ANON`` → ``("ORIGIN", "ANON")``;
    None for other variables (``ORIGIN_JOBS`` is a setting). Configured names are tried first
    (longest first), so a name holding ``_`` splits where that remote's name ends."""
    for token in sorted(by_token, key=len, reverse=True):
        if rest.startswith(token + "_"):
            field_ = _field(rest[len(token) + 1 :])
            if field_ is not None:
                return token, field_ or None
    token, sep, option = rest.partition("_" + _OPTIONS)
    if sep and token and option:
        return token, option
    token, sep, tail = rest.rpartition("_")
    if sep and token and tail == "URL":
        return token, None
    return None


def _field(tail: str) -> str | None:
    """``URL`` → ``""``, ``OPTIONS_KEY`` → ``"KEY"``, anything else None."""
    if tail == "URL":
        return ""
    if tail.startswith(_OPTIONS) and len(tail) > len(_OPTIONS):
        return tail[len(_OPTIONS) :]
    return None


def _option_key(token: str, known: Iterable[str]) -> str:
    """The option a ``<KEY>`` names: a configured key it matches, else lower-cased with ``__``
    as ``.``."""
    for key in known:
        if option_token(key) == token:
            return key
    return token.lower().replace("__", ".")
