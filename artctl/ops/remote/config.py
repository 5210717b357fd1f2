"""Named remotes in the repository config: ``remote.<name>.url`` and ``remote.<name>.options.*``.

``core.default_remote`` names the remote used when a command names none; with exactly one
remote configured, that one is the default. Options are fsspec storage options and are passed
through untouched (``-o endpoint_url=http://…``); credentials are only stored here when the
user passes them explicitly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from artctl.backend.url import split_url
from artctl.errors import ArtctlError, Conflict, InvalidInput

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

    @property
    def key(self) -> str:
        """A file-name-safe name for local state about this remote (its cached indexes)."""
        if self.configured:
            return self.name
        from artctl.base.hashing import hash_bytes

        return "url-" + hash_bytes(self.url.encode())[:16]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "url": self.url, "options": _redact(self.options), "default": self.default}


def _redact(options: dict[str, Any]) -> dict[str, Any]:
    """Hide secrets in listings: values of keys that look like credentials."""
    secret = re.compile(r"secret|password|token|key|credential|connection_string|sas", re.I)
    return {k: ("***" if secret.search(k) and k != "endpoint_url" else v) for k, v in options.items()}


def validate_remote_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise InvalidInput(f"invalid remote name {name!r}: use letters, digits, '.', '_' or '-'")
    return name


def parse_options(pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["endpoint_url=http://x", "anon=true"]`` → options (ints and booleans typed).

    Dotted keys make nested options: ``client_kwargs.region_name=eu-west-1``.
    """
    from artctl.repository.config import parse_value

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
    table = repo.config.table("remote")
    default = default_remote_name(repo, table)
    out = []
    for name in sorted(table):
        entry = table[name]
        if isinstance(entry, dict) and isinstance(entry.get("url"), str):
            out.append(RemoteSpec(name, entry["url"], dict(entry.get("options") or {}), name == default))
    return out


def default_remote_name(repo: Repository, table: dict[str, Any] | None = None) -> str | None:
    if table is None:
        table = repo.config.table("remote")
    named = repo.config.get("core.default_remote")
    if isinstance(named, str) and named:
        return named
    names = [n for n, e in table.items() if isinstance(e, dict) and "url" in e]
    return names[0] if len(names) == 1 else None


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
    """Configure a remote; a storage backend artctl does not test is refused unless ``force``."""
    validate_remote_name(name)
    protocol, _root = split_url(url)
    check_backend(url, force=force)
    open_storage(url, options)  # refuses options artctl itself reads (fsync=maybe); contacts nothing
    if name in {r.name for r in list_remotes(repo)}:
        raise Conflict(
            f"remote {name!r} already exists", hint=f"remove it first with `artctl remote rm {name}`"
        )
    if protocol == "file" and "://" not in url:
        from pathlib import Path

        url = Path(_root).as_uri()
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


def remove_remote(repo: Repository, name: str) -> RemoteSpec:
    spec = get_remote(repo, name)
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
    from artctl.repository.config import parse_bool

    value = options.get("fsync")
    return True if value is None else parse_bool(value, "the fsync option of a file:// remote")


def open_storage(url: str, options: dict[str, Any] | None = None, *, jobs: int | None = None) -> Backend:
    """The backend of the remote at ``url`` with its storage ``options`` (nothing is contacted).

    The options artctl itself reads are checked here and passed to the backend as typed values.
    """
    from artctl.backend import open_backend

    return open_backend(url, options, jobs=jobs, fsync=fsync_option(options or {}))


def backend_for(repository: Repository, spec: RemoteSpec) -> Backend:
    """The backend of a remote, with its ``remote.<NAME>.jobs`` from the settings."""
    return open_storage(spec.url, spec.options, jobs=repository.settings.jobs_for(spec.name))
