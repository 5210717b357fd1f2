"""Configuration, layered like git: repository file, user file, environment, then flags.

* repository: ``.artifacts/config.toml``
* user: ``$XDG_CONFIG_HOME/artctl/config.toml`` (``~/.config/artctl/config.toml``)
* environment: ``ARTCTL_<KEY>`` with dots as underscores, e.g. ``ARTCTL_CORE_LINK``

A later layer wins over an earlier one; command-line flags win over all. Keys are dotted paths
into the TOML tables (``core.link``, ``remote.origin.url``). Known keys are listed in
:data:`KNOWN_KEYS` with what they do; what each typed key accepts is
:mod:`artctl.repository.config_values`'s.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from artctl.base.fsutil import atomic_write_bytes
from artctl.errors import InvalidInput, RepositoryFormatError
from artctl.repository.config_values import PARSERS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KNOWN_KEYS: dict[str, str] = {
    "core.link": "how `get` places files: auto (reflink, else copy), copy, reflink, hardlink, symlink",
    "core.default_remote": "remote used by push/pull when none is named",
    "core.publish": "where `artifact put` commits a new version: local (default; `push` sends it "
    "later, and its number may change then), or remote (on the default remote first, then here: "
    "its number is final at once; `put --remote NAME` does this for one put)",
    "core.entity": "the entity (owner) this repository belongs to: `ENTITY/project/name` is "
    "`project/name`, another entity's path is refused (default: unset, any entity prefix accepted)",
    "core.project": "default project of bare artifact names (`mnist` means `PROJECT/mnist`) in every "
    "command and in Python; the ARTCTL_PROJECT variable wins over it. Unset, a bare name is an "
    "error, except in W&B's Python surfaces (`artctl.init()`, `Artifact.save()`, `Api()` paths), "
    "which use W&B's `uncategorized`",
    "core.workers": "worker threads for hashing and copying (default: number of CPUs); with 2 or "
    "more, a put of many small files shares them with a helper process",
    "core.fsync": "flush every object and record to disk before it counts (default true; true/false, "
    "yes/no, on/off, 1/0); false trades safety against power loss for speed on scratch "
    "machines. Per repository: other repositories and file:// remotes keep their own",
    "ttl.default": "TTL given to new versions of every project unless --ttl is passed (e.g. 30d, 6mo)",
    "ttl.project.<PROJECT>": "TTL given to new versions in one project (wins over ttl.default); "
    "`artctl ttl apply --project PROJECT` gives it to existing versions",
    "gc.grace_period": "unreferenced objects younger than this are kept by gc (default 1h)",
    "gc.remote_grace": "files on a remote younger than this are kept by `gc --remote` (default 1d); "
    "push re-sends what it would rely on that is older than half of it, so set the same on every "
    "machine that pushes there",
    "remote.<NAME>.url": "fsspec URL of a remote (set by `artctl remote add`); the variable replaces "
    "it, and defines the remote when no file does (NAME upper-cased, `-` and `.` as `_`)",
    "remote.<NAME>.options.<KEY>": "storage option passed to the remote's fsspec filesystem; a "
    "credential is refused unless written `env:VAR` (read from the environment at use); the variable "
    "sets or replaces one option, secrets included (KEY upper-cased, `__` for the `.` of a nested key)",
    "remote.<NAME>.jobs": "parallel transfers to and from that remote (default 8)",
    "cache.dir": "the user cache shared by every repository of this user: bytes fetched from "
    "remotes and references land there once (default $XDG_CACHE_HOME/artctl, else ~/.cache/artctl; "
    "`none` turns it off); also ARTCTL_CACHE_DIR",
    "references.allow_local": "let `get` follow file:// and loopback/link-local http references of "
    "versions pulled from a remote (default false: refused)",
}


def env_name(key: str) -> str:
    """The environment variable that overrides ``key``: ``core.link`` → ``ARTCTL_CORE_LINK``."""
    return "ARTCTL_" + key.replace(".", "_").replace("-", "_").upper()


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
        value, source = self.lookup(key)
        return default if source is None else value

    def lookup(self, key: str) -> tuple[Any, str | None]:
        """``key``'s value and the layer that set it (its ``ARTCTL_*`` variable, ``repository``
        or ``user``); ``(None, None)`` when unset. The layer goes into error hints."""
        name = env_name(key)
        env = os.environ.get(name)
        if env is not None:
            return env, name
        for layer, table in reversed(self.layers()):
            value = get_path(table, key)
            if value is not None:
                return value, layer
        return None, None

    def stamp(self) -> tuple[object, ...]:
        """What the merged view depends on (each file's identity, the ``ARTCTL_*`` variables):
        equal stamps mean equal settings, so typed settings are parsed again only on change."""
        files: list[object] = []
        for path in (user_config_path(), self.repo_file):
            try:
                st = os.stat(path) if path is not None else None
            except OSError:
                st = None
            files.append(None if st is None else (st.st_ino, st.st_mtime_ns, st.st_size))
        env = sorted((k, v) for k, v in os.environ.items() if k.startswith("ARTCTL_"))
        return (*files, tuple(env))

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

        global _WRITES
        atomic_write_bytes(path, tomli_w.dumps(data).encode())
        _WRITES += 1


#: Config files this process wrote: a repository re-reads its settings at once after one.
_WRITES = 0


def config_writes() -> int:
    """How many times this process wrote a config file (see ``Repository.settings``)."""
    return _WRITES


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
        if len(want) == len(parts) and all(
            w.startswith("<") or w == p for w, p in zip(want, parts, strict=True)
        ):
            return pattern
    return None


def check_setting(key: str, value: Any) -> Any:
    """Refuse, when it is written, a setting that every later command would trip over; return
    the value to store (``yes`` for a boolean is stored as ``true``).

    ``artctl config`` used to accept a typo'd key or a value like ``core.link=bogus`` and the
    failure came later, from an unrelated ``get``. Unknown keys are refused (with the known
    ones as a hint); values of known keys go through the very parser their readers use
    (:data:`~artctl.repository.config_values.PARSERS`), so the command line, the files and
    ``ARTCTL_*`` accept the same.
    """
    import difflib

    from artctl.repository.credentials import refuse_plain_secrets

    parts = _split(key)
    if len(parts) > 3 and parts[0] == "remote" and parts[2] == "options":
        refuse_plain_secrets({".".join(parts[3:]): value}, parts[1], "", config_key=key)
    pattern = known_key(key)
    if pattern is None:
        close = difflib.get_close_matches(key, list(KNOWN_KEYS), n=1)
        raise InvalidInput(
            f"unknown config key {key!r}",
            hint=(f"did you mean {close[0]}? " if close else "") + "known keys: " + ", ".join(KNOWN_KEYS),
        )
    parser = PARSERS.get(pattern)
    if parser is None:
        return value
    typed = parser(value, key, None)  # raises on a bad value
    return typed if isinstance(typed, bool) else value  # a duration is kept as written (12h)
