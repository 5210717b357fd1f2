"""Configuration, layered like git: repository file, user file, environment, then flags.

* repository: ``.artifacts/config.toml``
* user: ``$XDG_CONFIG_HOME/artctl/config.toml`` (``~/.config/artctl/config.toml``)
* environment: ``ARTCTL_<KEY>`` with dots as underscores, e.g. ``ARTCTL_CORE_LINK``

A later layer wins over an earlier one; command-line flags win over all. Keys are dotted paths
into the TOML tables (``core.link``, ``remote.origin.url``). Known keys are listed in
:data:`KNOWN_KEYS` with what they do.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from .errors import InvalidInput, RepositoryFormatError
from .fsutil import atomic_write_bytes

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KNOWN_KEYS: dict[str, str] = {
    "core.link": "how `get` places files: auto (reflink, else copy), copy, reflink, hardlink, symlink",
    "core.default_remote": "remote used by push/pull when none is named",
    "core.workers": "worker threads for hashing and copying (default: number of CPUs); with 2 or "
                    "more, a put of many small files shares them with a helper process",
    "core.fsync": "flush every object and record to disk before it counts (default true); false "
                  "trades safety against power loss for speed on scratch machines",
    "ttl.default": "TTL given to new versions of every project unless --ttl is passed (e.g. 30d, 6mo)",
    "ttl.project.<PROJECT>": "TTL given to new versions in one project (wins over ttl.default); "
                             "`artctl ttl apply --project PROJECT` gives it to existing versions",
    "gc.grace_period": "unreferenced objects younger than this are kept by gc (default 1h)",
    "remote.<NAME>.url": "fsspec URL of a remote (set by `artctl remote add`)",
    "remote.<NAME>.options.<KEY>": "storage option passed to the remote's fsspec filesystem",
    "remote.<NAME>.jobs": "parallel transfers to and from that remote (default 8)",
    "references.allow_local": "let `get` follow file:// and loopback/link-local http references of "
                              "versions pulled from a remote (default false: refused)",
}


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "artctl" / "config.toml"


def load_toml(path: Path) -> dict[str, Any]:
    """Read one TOML file; missing is empty, malformed is a clear error."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise RepositoryFormatError(f"{path} is not valid TOML: {exc}") from None


def _split(key: str) -> list[str]:
    parts = key.split(".")
    if not key or any(not p for p in parts):
        raise InvalidInput(f"invalid config key {key!r}: use dotted names like core.link")
    return parts


def get_path(table: dict[str, Any], key: str) -> Any:
    node: Any = table
    for part in _split(key):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}``."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, full + "."))
        else:
            out[full] = value
    return out


class Config:
    """The merged view of every layer, with writes going to one file."""

    def __init__(self, repo_file: Path | None) -> None:
        self.repo_file = repo_file

    def layers(self) -> list[tuple[str, dict[str, Any]]]:
        layers = [("user", load_toml(user_config_path()))]
        if self.repo_file is not None:
            layers.append(("repository", load_toml(self.repo_file)))
        return layers

    def get(self, key: str, default: Any = None) -> Any:
        env = os.environ.get("ARTCTL_" + key.replace(".", "_").replace("-", "_").upper())
        if env is not None:
            return env
        for _name, table in reversed(self.layers()):
            value = get_path(table, key)
            if value is not None:
                return value
        return default

    def items(self) -> dict[str, tuple[Any, str]]:
        """Every set key with its value and the layer it came from."""
        merged: dict[str, tuple[Any, str]] = {}
        for name, table in self.layers():
            for key, value in flatten(table).items():
                merged[key] = (value, name)
        return dict(sorted(merged.items()))

    def table(self, key: str) -> dict[str, Any]:
        """A merged sub-table (e.g. all ``remote.*``)."""
        merged: dict[str, Any] = {}
        for _name, table in self.layers():
            value = get_path(table, key)
            if isinstance(value, dict):
                _deep_merge(merged, value)
        return merged

    def set(self, key: str, value: Any, *, scope: str = "repository") -> None:
        path = self._file(scope)
        data = load_toml(path)
        node = data
        parts = _split(key)
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise InvalidInput(f"config key {key!r} conflicts with a value at {part!r}")
            node = child
        node[parts[-1]] = value
        self._write(path, data)

    def unset(self, key: str, *, scope: str = "repository") -> bool:
        path = self._file(scope)
        data = load_toml(path)
        parts = _split(key)
        node: Any = data
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                return False
        if not isinstance(node, dict) or parts[-1] not in node:
            return False
        del node[parts[-1]]
        _prune_empty(data)
        self._write(path, data)
        return True

    def _file(self, scope: str) -> Path:
        if scope == "user":
            return user_config_path()
        if self.repo_file is None:
            raise InvalidInput("not inside a repository; use --user to edit the user config")
        return self.repo_file

    @staticmethod
    def _write(path: Path, data: dict[str, Any]) -> None:
        import tomli_w

        atomic_write_bytes(path, tomli_w.dumps(data).encode())


def _deep_merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value


def _prune_empty(table: dict[str, Any]) -> None:
    for key in list(table):
        if isinstance(table[key], dict):
            _prune_empty(table[key])
            if not table[key]:
                del table[key]


def known_key(key: str) -> str | None:
    """The :data:`KNOWN_KEYS` pattern ``key`` matches (``ttl.project.<PROJECT>``), or None."""
    parts = _split(key)
    for pattern in KNOWN_KEYS:
        want = pattern.split(".")
        if len(want) == len(parts) and all(w.startswith("<") or w == p for w, p in zip(want, parts)):
            return pattern
    return None


def check_setting(key: str, value: Any) -> None:
    """Refuse, when it is written, a setting that every later command would trip over.

    ``artctl config`` used to accept a typo'd key or a value like ``core.link=bogus`` and the
    failure came later, from an unrelated ``get``. Unknown keys are refused (with the known
    ones as a hint); values of known keys are checked the way their readers parse them.
    """
    import difflib

    from .fsutil import LINK_MODES
    from .units import MAX_DURATION_SECONDS, parse_duration

    pattern = known_key(key)
    if pattern is None:
        close = difflib.get_close_matches(key, list(KNOWN_KEYS), n=1)
        raise InvalidInput(f"unknown config key {key!r}",
                           hint=(f"did you mean {close[0]}? " if close else "")
                           + "known keys: " + ", ".join(KNOWN_KEYS))

    def bad(expected: str) -> InvalidInput:
        return InvalidInput(f"invalid value {value!r} for {key}: {expected}")

    if pattern == "core.link" and value not in LINK_MODES:
        raise bad("one of " + ", ".join(LINK_MODES))
    if pattern in ("core.fsync", "references.allow_local") and not isinstance(value, bool):
        raise bad("true or false")
    if pattern in ("core.workers", "remote.<NAME>.jobs") and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise bad("a whole number of at least 1")
    if pattern in ("ttl.default", "ttl.project.<PROJECT>") or (
            pattern == "gc.grace_period" and str(value).strip() not in ("0", "0s", "none")):
        hint = None
        try:
            too_long = parse_duration(str(value)).total_seconds() > MAX_DURATION_SECONDS
        except InvalidInput as exc:
            too_long, hint = True, exc.hint  # `30m`: the hint says min or mo
        if too_long:
            error = bad("a duration such as 90min, 12h, 30d, 2w, 6mo, 1y (at most 1000y)")
            error.hint = hint
            raise error


def flag(value: Any, key: str) -> bool:
    """A boolean setting from TOML (true/false) or the environment (true/false/1/0/yes/no)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise InvalidInput(f"invalid value {value!r} for {key}: true or false")


def format_value(value: Any) -> str:
    """A value as it is written in TOML and on the command line (``true``, not ``True``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_value(text: str) -> Any:
    """Config values from the command line: ints and booleans as such, the rest as strings."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        return text
