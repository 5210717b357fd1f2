"""What ``--repo X`` / ``Repo.open(X)`` names: a local repository, or a remote to work on directly.

``X`` is a path (or the ``file://`` URL) of a local repository; a remote URL (``s3://…``,
``gs://…``, ``az://…``, the ``file://`` URL of a remote); or the name of a remote configured in
the repository around the working directory (``origin``). A bare URL uses the cloud's standard
credential chain, unless a configured remote has that URL: then its storage options apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artctl.backend.url import split_url
from artctl.errors import ArtctlError, InvalidInput, RepositoryNotFound
from artctl.format.layout import DIRNAME, FORMAT_FILE
from artctl.ops.remote.config import check_backend, list_remotes
from artctl.repository.repo import Repository, find_root


@dataclass(frozen=True)
class Target:
    """A local repository (``root``) or a remote (``url`` with its storage ``options``)."""

    text: str
    root: Path | None = None
    url: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def remote(self) -> bool:
        return self.url is not None


def resolve_target(text: str) -> Target:
    """Decide what ``text`` names (nothing is contacted; see the module docstring)."""
    if not text:
        raise InvalidInput("--repo needs a path, a URL or the name of a remote")
    around = _repository_around()
    if around is not None and "/" not in text and ":" not in text:
        for spec in list_remotes(around):
            if spec.name == text:
                return Target(text, url=spec.url, options=dict(spec.options))
    protocol, root = split_url(text)
    if protocol != "file":
        check_backend(text)
        return Target(text, url=text.rstrip("/"), options=_configured_options(around, text))
    path = Path(root).expanduser().resolve()
    local = _local_root(path)
    if local is not None:
        return Target(text, root=local)
    if (path / FORMAT_FILE).is_file() or "://" in text:
        url = path.as_uri()
        return Target(text, url=url, options=_configured_options(around, url))
    hint = "give a path of a repository, a remote URL, or the name of a configured remote"
    if around is None and "/" not in text:
        hint = f"there is no repository here to look up a remote named {text!r}; " + hint
    raise RepositoryNotFound(f"--repo {text}: no artctl repository or remote there", hint=hint)


def _repository_around() -> Repository | None:
    """The repository of the working directory (``ARTCTL_DIR``), whose remotes names refer to."""
    try:
        return Repository(find_root())
    except ArtctlError:  # none here, or one that cannot be read: no names to look up
        return None


def _local_root(path: Path) -> Path | None:
    """The ``.artifacts`` directory of a local repository at ``path``, or None."""
    for candidate in [path] if path.name == DIRNAME else [path / DIRNAME]:
        if (candidate / FORMAT_FILE).is_file():
            return candidate
    return None


def _configured_options(around: Repository | None, url: str) -> dict[str, Any]:
    """The storage options of the configured remote with this URL (none: the standard chain)."""
    if around is None:
        return {}
    for spec in list_remotes(around):
        if spec.url.rstrip("/") == url.rstrip("/"):
            return dict(spec.options)
    return {}
