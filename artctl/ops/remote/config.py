"""Named remotes in the repository config: ``remote.<name>.url`` and ``remote.<name>.options.*``.

``core.default_remote`` names the remote used when a command names none; with exactly one
remote configured, that one is the default. Options are fsspec storage options and are passed
through untouched (``-o endpoint_url=http://…``), except that a credential is never written to
a config file: it comes from the cloud's chain, or from an ``env:VAR`` value resolved each time
the remote is opened (:mod:`artctl.repository.credentials`; one an older artctl stored is
warned about: :mod:`artctl.ops.remote.plain_secrets`). ``ARTCTL_REMOTE_<NAME>_URL`` and
``ARTCTL_REMOTE_<NAME>_OPTIONS_<KEY>`` override the files and can define a remote on their own
(:mod:`artctl.ops.remote.layers`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from artctl.backend.url import split_url
from artctl.errors import ArtctlError, Conflict, InvalidInput
from artctl.ops.remote.layers import file_entries, remote_entries
from artctl.ops.remote.plain_secrets import warn_plain_secrets
from artctl.repository.credentials import (
    ENV_PREFIX,
    is_plain_secret,
    refuse_plain_secrets,
    resolve,
)

if TYPE_CHECKING:
    from artctl.backend.base import Backend
    from artctl.repository.repo import Repository

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class RemoteNotFound(ArtctlError, LookupError):
    """A remote name that is not configured."""


@dataclass(frozen=True)
class RemoteSpec:
    """One configured remote."""

    name: str
    url: str
    options: dict[str, Any] = field(default_factory=dict)
    default: bool = False
    #: False for a URL given on the command line (``artctl push s3://b/x``) that no configured
    #: remote has: its copies are not counted as backups (``get`` cannot fetch from it later).
    configured: bool = True
    #: Where each value comes from: ``url`` and ``options.<KEY>`` → ``repository``, ``user`` or
    #: the ``ARTCTL_REMOTE_*`` variable that set it.
    sources: dict[str, str] = field(default_factory=dict)
    #: Options a config file holds as plain-text credentials (written by an older artctl),
    #: each with its file's layer: they still work, with a warning (:func:`backend_for`).
    plain_secrets: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """A file-name-safe name for local state about this remote (its cached indexes)."""
        if self.configured:
            return self.name
        from artctl.base.hashing import hash_bytes

        return "url-" + hash_bytes(self.url.encode())[:16]

    @property
    def from_env(self) -> bool:
        """True when the environment alone defines this remote (no config file has it)."""
        return self.sources.get("url", "").startswith("ARTCTL_")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "options": redact(self.options),
            "default": self.default,
            "sources": dict(self.sources),
        }


def redact(options: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``options`` for listings: a credential's value is ``***``; ``env:VAR`` is shown (it names
    a variable, not a secret)."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if isinstance(value, dict):
            out[key] = redact(value, f"{prefix}{key}.")
        else:
            out[key] = "***" if is_plain_secret(prefix + key, value) else value
    return out


def validate_remote_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise InvalidInput(f"invalid remote name {name!r}: use letters, digits, '.', '_' or '-'")
    return name


def parse_options(pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["endpoint_url=http://x", "anon=true"]`` → options (ints and booleans typed).

    Dotted keys make nested options: ``client_kwargs.region_name=eu-west-1``.
    """
    from artctl.repository.config_values import parse_value

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"option {pair!r} is not KEY=VALUE")
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise InvalidInput(f"option {key!r} conflicts with another option")
        node[parts[-1]] = parse_value(value)
    return out


def list_remotes(repo: Repository) -> list[RemoteSpec]:
    """Every remote: the config files' (user, then repository), then the environment's
    ``ARTCTL_REMOTE_*`` overrides and remotes (:mod:`artctl.ops.remote.layers`)."""
    entries = remote_entries(repo)
    default = default_remote_name(repo, entries)
    return [
        RemoteSpec(name, e.url, e.options, name == default, sources=e.sources, plain_secrets=tuple(e.plain))
        for name, e in sorted(entries.items())
        if e.url is not None
    ]


def default_remote_name(repo: Repository, names: Iterable[str] | None = None) -> str | None:
    """``core.default_remote``, else the only remote (of ``names``: every remote by default)."""
    named = repo.config.get("core.default_remote")
    if isinstance(named, str) and named:
        return named
    every = list(names) if names is not None else [s.name for s in list_remotes(repo)]
    return every[0] if len(every) == 1 else None


def is_url(text: str) -> bool:
    """A remote given by URL or path (``s3://b/x``, ``file:///m/r``, ``/mnt/r``, ``./r``), not
    by a configured name (names have neither ``/`` nor ``:``)."""
    return "://" in text or text.startswith(("/", "./", "../", "~"))


def url_remote(repo: Repository, url: str) -> RemoteSpec:
    """The configured remote with this URL, else an unnamed one for this command only (as
    ``git push URL``); storage options then come from the environment (AWS_*, …)."""
    from pathlib import Path

    protocol, root = split_url(url)
    check_backend(url)
    if protocol == "file" and "://" not in url:
        url = Path(root).as_uri()
    for spec in list_remotes(repo):
        if spec.url.rstrip("/") == url.rstrip("/"):
            return spec
    return RemoteSpec(url, url, {}, configured=False)


def get_remote(repo: Repository, name: str | None = None) -> RemoteSpec:
    """The remote called ``name`` (default: ``core.default_remote`` or the only one), or the
    remote at ``name`` when it is a URL (:func:`url_remote`)."""
    if name is not None and is_url(name):
        return url_remote(repo, name)
    remotes = {r.name: r for r in list_remotes(repo)}
    if name is None:
        name = default_remote_name(repo)
        if name is None:
            if not remotes:
                raise RemoteNotFound(
                    "no remote is configured", hint="add one with `artctl remote add origin URL --default`"
                )
            raise RemoteNotFound(
                "several remotes are configured and none is the default",
                hint="name one, or set it with `artctl config core.default_remote NAME`",
            )
    spec = remotes.get(name)
    if spec is None:
        raise RemoteNotFound(f"no remote {name!r}", hint=f"add it with `artctl remote add {name} URL`")
    return spec


def add_remote(
    repo: Repository,
    name: str,
    url: str,
    options: dict[str, Any] | None = None,
    *,
    default: bool = False,
    force: bool = False,
) -> RemoteSpec:
    """Configure a remote in the repository's config file.

    ``force`` accepts a storage backend artctl is not tested with, and replaces the URL and
    options of a remote of that name (its ``jobs`` and default status stay). A credential in
    ``options`` is refused (:func:`~artctl.repository.credentials.refuse_plain_secrets`):
    the config file is no place for it, ``env:VAR`` is.
    """
    validate_remote_name(name)
    protocol, _root = split_url(url)
    check_options(url, options, name)
    check_backend(url, force=force)
    old = file_entries(repo).get(name)
    if old is not None and not force:
        raise Conflict(
            f"remote {name!r} already exists",
            hint=f"remove it first with `artctl remote rm {name}`, or replace it with --force",
        )
    if protocol == "file" and "://" not in url:
        from pathlib import Path

        url = Path(_root).as_uri()
    if old is not None:
        repo.config.unset(f"remote.{name}.options")
        if old.url != url:  # what this repository knew of the old location is no longer true
            repo.state.forget_remote(name)
    repo.config.set(f"remote.{name}.url", url)
    if options:
        repo.config.set(f"remote.{name}.options", options)
    if default:
        repo.config.set("core.default_remote", name)
    return next(r for r in list_remotes(repo) if r.name == name)


#: Storage backends the test suite runs against real servers (file, moto S3, fake-gcs-server,
#: Azurite). Others that fsspec knows (ftp, sftp, http, memory, …) lack the atomic writes and
#: exclusive creates the remote format relies on, or were never tried: refused unless forced.
TESTED_PROTOCOLS = ("file", "s3", "gs", "az", "abfs")


def is_tested(url: str) -> bool:
    """True when ``url``'s storage backend is one artctl is tested against."""
    return split_url(url)[0] in TESTED_PROTOCOLS


def check_backend(url: str, *, force: bool = False) -> str:
    """The protocol of ``url``, once it is known to fsspec and tested (or ``force``d).

    Checked when a remote is added or cloned, not at the first push.
    """
    from fsspec.registry import known_implementations, registry

    from artctl.base import extras

    protocol, _root = split_url(url)
    if protocol not in known_implementations and protocol not in registry:
        raise InvalidInput(
            f"unknown storage protocol in {url!r}", hint="use a local path, file://, s3://, gs:// or az://"
        )
    if protocol not in TESTED_PROTOCOLS and not force:
        raise InvalidInput(
            f"artctl is not tested with {protocol}:// remotes",
            hint="use a local path, file://, s3://, gs://, az:// or abfs://; "
            "--force adds it anyway, at your own risk",
        )
    extras.require(protocol)
    return protocol


def check_options(url: str, options: dict[str, Any] | None, name: str) -> None:
    """Refuse, before anything is contacted or written, options a remote may not store: a
    credential in plain text, or a bad value of an option artctl itself reads (``fsync=maybe``).
    ``env:VAR`` values are checked when the remote is used, where the variable is set."""
    options = options or {}
    refuse_plain_secrets(options, name, split_url(url)[0])
    open_storage(url, _without_env(options))  # contacts nothing


def _without_env(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` minus its ``env:`` values (not resolvable where the remote is added)."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if isinstance(value, dict):
            out[key] = _without_env(value)
        elif not (isinstance(value, str) and value.startswith(ENV_PREFIX)):
            out[key] = value
    return out


def remove_remote(repo: Repository, name: str) -> RemoteSpec:
    spec = get_remote(repo, name)
    if spec.from_env:
        var = spec.sources["url"]
        raise Conflict(
            f"remote {name!r} comes from the environment ({var}), not from a config file",
            hint=f"unset {var} (and its {var[: -len('URL')]}OPTIONS_* variables)",
        )
    repo.config.unset(f"remote.{name}")
    if repo.config.get("core.default_remote") == name:
        repo.config.unset("core.default_remote")
    repo.state.forget_remote(name)
    return spec


def fsync_option(options: dict[str, Any]) -> bool:
    """A ``file://`` remote's durability: its ``fsync`` option (``-o fsync=false``), default true.

    The remote's own, never the pushing repository's ``core.fsync``: a scratch clone must not
    weaken a shared remote.
    """
    from artctl.repository.config_values import parse_bool

    value = options.get("fsync")
    return True if value is None else parse_bool(value, "the fsync option of a file:// remote")


def open_storage(
    url: str, options: dict[str, Any] | None = None, *, jobs: int | None = None, remote: str | None = None
) -> Backend:
    """The backend of the remote at ``url`` with its storage ``options`` (nothing is contacted).

    ``env:VAR`` values are read from the environment now (an unset one is an error naming
    ``remote``, default the URL); the options artctl itself reads are checked here and passed to
    the backend as typed values.
    """
    from artctl.backend import open_backend

    resolved = resolve(options or {}, remote or url)
    return open_backend(url, resolved, jobs=jobs, fsync=fsync_option(resolved))


def backend_for(repository: Repository, spec: RemoteSpec) -> Backend:
    """The backend of a remote, with its ``remote.<NAME>.jobs`` from the settings."""
    warn_plain_secrets(spec)
    jobs = repository.settings.jobs_for(spec.name)
    if jobs is None and spec.from_env:  # the settings know the remotes of the config files only
        from artctl.repository.config_values import parse_count

        value, source = repository.config.lookup(f"remote.{spec.name}.jobs")
        jobs = None if source is None else parse_count(value, f"remote.{spec.name}.jobs", source)
    return open_storage(spec.url, spec.options, jobs=jobs, remote=spec.name)
