"""The typed settings of one repository, read once from its config layers.

``config.toml``, the user's config and ``ARTCTL_*`` variables are text and TOML; the code that
acts on them wants a bool, a count, a duration. :class:`Settings` is that typed view, built once
per opened repository (every value through the parser of
:data:`~artctl.repository.config_values.PARSERS`, so a bad value is one clear error naming
where it was set) and passed to the objects that act on it: the store and its pack writer, the
record writers, the transfers. Nothing here is global: two repositories in one process each keep
their own, and a remote has its own durability (``LocalBackend``), never the local repository's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from artctl.format.names import NameScope
from artctl.repository.config import Config
from artctl.repository.config_values import (
    default_cache_dir,
    parse_bool,
    parse_cache_dir,
    parse_count,
    parse_grace,
    parse_link,
    parse_name_part,
    parse_publish,
)

#: Unreferenced objects younger than this are kept by gc (``gc.grace_period``).
DEFAULT_GRACE_SECONDS = 3600
#: Files on a remote younger than this are kept by remote gc, and a push re-sends what it
#: would rely on that is older than half of it (``gc.remote_grace``; docs/remotes.md).
DEFAULT_REMOTE_GRACE_SECONDS = 86400


@dataclass(frozen=True)
class Settings:
    """What a repository's config decides, typed and validated (see ``docs/config.md``)."""

    #: ``core.fsync``: flush every object and record to disk before it counts. Off, a crash of
    #: the *machine* may lose recent writes; a killed *process* still leaves the repository
    #: consistent (the kernel keeps what was written).
    fsync: bool = True
    #: ``core.workers``: threads for hashing and copying; None means "from the CPU count".
    workers: int | None = None
    #: ``core.link``: how ``get`` places files by default.
    link: str = "auto"
    #: ``core.publish``: where ``put`` commits a new version, ``local`` or ``remote`` (first).
    publish: str = "local"
    #: ``gc.grace_period`` in seconds.
    grace_seconds: int = DEFAULT_GRACE_SECONDS
    #: ``gc.remote_grace`` in seconds.
    remote_grace_seconds: int = DEFAULT_REMOTE_GRACE_SECONDS
    #: ``references.allow_local``: follow file:// / loopback references of pulled versions.
    allow_local_references: bool = False
    #: ``remote.<NAME>.jobs`` of every configured remote that sets it.
    remote_jobs: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    #: ``core.entity`` and the default project (``ARTCTL_PROJECT``, else ``core.project``): what
    #: short names mean here (``artctl.format.names.NameScope``).
    names: NameScope = NameScope()
    #: ``cache.dir``: the user cache shared by every repository (None: turned off).
    cache_dir: Path | None = None

    @classmethod
    def load(cls, config: Config) -> Settings:
        """Read and check every typed key of ``config`` (environment, repository, user)."""

        def typed(key: str, parse: Any, default: Any) -> Any:
            value, source = config.lookup(key)
            return default if source is None else parse(value, key, source)

        jobs: dict[str, int] = {}
        for name in sorted(config.table("remote")):
            count = typed(f"remote.{name}.jobs", parse_count, None)
            if count is not None:
                jobs[name] = count
        return cls(
            fsync=typed("core.fsync", parse_bool, True),
            workers=typed("core.workers", parse_count, None),
            link=typed("core.link", parse_link, "auto"),
            publish=typed("core.publish", parse_publish, "local"),
            grace_seconds=typed("gc.grace_period", parse_grace, DEFAULT_GRACE_SECONDS),
            remote_grace_seconds=typed("gc.remote_grace", parse_grace, DEFAULT_REMOTE_GRACE_SECONDS),
            allow_local_references=typed("references.allow_local", parse_bool, False),
            remote_jobs=MappingProxyType(jobs),
            names=NameScope(
                typed("core.entity", parse_name_part, None),
                _env_project() or typed("core.project", parse_name_part, None),
            ),
            cache_dir=user_cache_dir(config),
        )

    def jobs_for(self, remote: str) -> int | None:
        """Parallel transfers configured for ``remote`` (None: the backend's default)."""
        return self.remote_jobs.get(remote)


def default_workers() -> int:
    """Parallel workers when ``core.workers`` is unset: twice the CPUs, between 2 and 16."""
    return max(2, min(16, (os.cpu_count() or 2) * 2))


def _env_project() -> str | None:
    """``ARTCTL_PROJECT`` (W&B's ``WANDB_PROJECT``): the default project, over ``core.project``."""
    value = os.environ.get("ARTCTL_PROJECT") or None
    return None if value is None else parse_name_part(value, "core.project", "ARTCTL_PROJECT")


def user_cache_dir(config: Config) -> Path | None:
    """``cache.dir`` of ``config`` (its default when unset; None when turned off). Also what a
    command run outside any repository uses, with the user config and environment only."""
    value, source = config.lookup("cache.dir")
    return default_cache_dir() if source is None else parse_cache_dir(value, "cache.dir", source)
