"""Where the ``artctl://`` filesystem reads versions from: the ``repo=`` storage option (issue 18).

``repo`` is a repository path (the directory holding ``.artifacts/``, or that directory), the
name of a remote configured in the repository of the working directory, or a remote URL read
without a clone. :func:`open_target` turns it into a :class:`ReadTarget`: the local store that
reads and caches blobs, the remotes a blob may be fetched from (the default one first, as
``get`` tries them), and — for a remote — the backend its versions are resolved on. Nothing is
contacted until a version is resolved, except a bare URL, whose ``FORMAT`` is checked at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from artctl.errors import RepositoryNotFound
from artctl.format.layout import FORMAT_FILE
from artctl.format.manifest import Manifest
from artctl.format.names import ArtifactRef
from artctl.format.records import VersionRecord
from artctl.ops.lazy_read import RemoteBlobs
from artctl.repository.repo import Repository


@dataclass
class ReadTarget:
    """The repository or remote a filesystem reads, and the local store that caches for it."""

    local: Repository | None
    remotes: list[RemoteBlobs]
    remote: Any = None  # the remote's backend when versions are read from a remote
    name: str = ""

    def resolve(self, ref: ArtifactRef) -> tuple[VersionRecord, Manifest, str | None]:
        """A version's record, verified manifest and origin (the remote it came from, if any)."""
        if self.remote is not None:
            from artctl.ops.remote.reader import read_remote_manifest, resolve_remote

            record = resolve_remote(self.remote, ref)
            return record, read_remote_manifest(self.remote, record.manifest), self.name
        assert self.local is not None
        record = self.local.registry.resolve(ref)
        manifest = self.local.read_manifest(record.manifest)
        return record, manifest, self.local.manifest_origin(record.manifest)


def open_target(repo: str, remote_options: dict[str, Any] | None) -> ReadTarget:
    """Turn the ``repo`` storage option into a :class:`ReadTarget` (nothing is contacted yet)."""
    from artctl.ops.remote.config import is_url, list_remotes

    local = _local_repository(repo)
    if local is not None:
        return ReadTarget(
            local, [_configured(local, spec) for spec in _by_default(local, list_remotes(local))]
        )
    cwd_repo = cwd_repository()
    if not is_url(repo):  # a remote's name: it needs the repository that configures it
        from artctl.ops.remote.config import get_remote

        if cwd_repo is None:
            raise RepositoryNotFound(
                f"repo={repo!r} is neither a repository nor a remote URL, and no repository here "
                "configures a remote of that name",
                hint="pass a path, a remote URL (s3://…), or run inside the repository that has the remote",
            )
        spec = get_remote(cwd_repo, repo)
        holder = _configured(cwd_repo, spec)
        return ReadTarget(cwd_repo, [holder], holder.backend, spec.name)
    return _url_target(repo, remote_options, cwd_repo)


def _url_target(url: str, remote_options: dict[str, Any] | None, cwd_repo: Repository | None) -> ReadTarget:
    """A remote by URL: a configured remote with that URL keeps its name and options."""
    from artctl.ops.remote.config import check_backend, list_remotes, open_storage
    from artctl.ops.remote.inventory import MemoryInventory

    check_backend(url)
    if "://" not in url:
        url = Path(url).expanduser().resolve().as_uri()
    if cwd_repo is not None and remote_options is None:
        for spec in list_remotes(cwd_repo):
            if spec.url.rstrip("/") == url.rstrip("/"):
                holder = _configured(cwd_repo, spec)
                return ReadTarget(cwd_repo, [holder], holder.backend, spec.name)
    backend = open_storage(url, remote_options or {})
    inventory = MemoryInventory(backend)
    inventory.prefetch()  # pack indexes load while FORMAT and the version are read
    found = backend.read_or_none(FORMAT_FILE)
    if found is None:
        raise RepositoryNotFound(
            f"repo={url!r} is neither a repository nor an artctl remote (it has no {FORMAT_FILE})",
            hint="check the path or URL; a remote is made by `artctl push URL`",
        )
    from artctl.ops.remote.protocol import remote_format

    remote_format(found, f"remote {url}")  # an artctl remote, of a format this version reads (1 or 2)
    return ReadTarget(cwd_repo, [RemoteBlobs(url, backend, inventory, configured=False)], backend, url)


def _configured(repository: Repository, spec: Any) -> RemoteBlobs:
    """A configured remote as a blob source: its inventory is the clone's record of its packs."""
    from artctl.ops.remote.config import backend_for
    from artctl.ops.remote.inventory import LazyInventory

    backend = backend_for(repository, spec)
    return RemoteBlobs(spec.name, backend, LazyInventory(repository, spec.name, backend))


def _by_default(repository: Repository, specs: list[Any]) -> list[Any]:
    """Remotes in the order ``get`` tries them: the default one first."""
    from artctl.ops.remote.config import default_remote_name

    default = default_remote_name(repository)
    return sorted(specs, key=lambda s: s.name != default)


def _local_repository(repo: str) -> Repository | None:
    """The repository at ``repo`` (the ``.artifacts`` directory or its parent), else None."""
    if "://" in repo:
        return None
    path = Path(repo).expanduser()
    for candidate in (path / ".artifacts", path):
        if (candidate / "FORMAT").is_file() and (candidate / "config.toml").exists():
            return Repository(candidate.resolve())
    return None


def cwd_repository() -> Repository | None:
    """The repository of the working directory (or ``ARTCTL_DIR``), if there is one: it caches."""
    try:
        return Repository.find()
    except RepositoryNotFound:
        return None
