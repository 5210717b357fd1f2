"""Where the ``artctl://`` filesystem reads versions from: the ``repo=`` storage option (issue 18).

``repo`` is a repository path (the directory holding ``.artifacts/``, or that directory), the
name of a remote configured in the repository of the working directory, or a remote URL read
without a clone. :func:`open_target` turns it into a :class:`ReadTarget`: the local store that
reads and caches blobs, the remotes a blob may be fetched from (the default one first, as
``get`` tries them), and — for a remote — the backend its versions are resolved on. Nothing is
contacted until a version is resolved, except a bare URL, whose ``FORMAT`` is read from the start
(:class:`FormatCheck`): a repository path is checked at once, an object store's ``FORMAT`` while
the first version is resolved — one round trip fewer — and always before anything read is used.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from artctl.backend import Backend
from artctl.errors import RemoteError, RepositoryNotFound
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
    format_check: FormatCheck | None = None  # a bare URL's FORMAT, read in the background

    def resolve(self, ref: ArtifactRef) -> tuple[VersionRecord, Manifest, str | None]:
        """A version's record, verified manifest and origin (the remote it came from, if any)."""
        if self.remote is not None:
            from artctl.ops.remote.reader import read_remote_manifest, resolve_remote

            try:
                record = resolve_remote(self.remote, ref)
                manifest = read_remote_manifest(self.remote, record.manifest)
            except Exception:
                self.check_format()  # a location that is no artctl remote says so first
                raise
            self.check_format()
            return record, manifest, self.name
        assert self.local is not None
        record = self.local.registry.resolve(ref)
        manifest = self.local.read_manifest(record.manifest)
        return record, manifest, self.local.manifest_origin(record.manifest)

    def check_format(self) -> None:
        """Wait for the remote's FORMAT verdict (raises when it is not an artctl remote)."""
        if self.format_check is not None:
            self.format_check.wait()


class FormatCheck:
    """A remote's ``FORMAT`` file, read and checked in a background thread from construction on.

    The reader resolves its first version meanwhile (the registry listing and records cross the
    network while FORMAT does) and calls :meth:`wait` before it uses anything it read, so a
    location that is not an artctl remote is refused as before, one round trip sooner. A
    verdict is kept; a failed request (a RemoteError) is retried by the next :meth:`wait`.
    """

    def __init__(self, backend: Backend, url: str) -> None:
        self.backend = backend
        self.url = url
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._start()

    def _start(self) -> None:
        self._done.clear()
        self._error = None
        threading.Thread(target=self._run, name="artctl-format", daemon=True).start()

    def _run(self) -> None:
        try:
            self._check()
        except BaseException as exc:  # handed to the caller of wait()
            self._error = exc
        finally:
            self._done.set()

    def _check(self) -> None:
        found = self.backend.read_or_none(FORMAT_FILE)
        if found is None:
            raise RepositoryNotFound(
                f"repo={self.url!r} is neither a repository nor an artctl remote (it has no {FORMAT_FILE})",
                hint="check the path or URL; a remote is made by `artctl push URL`",
            )
        from artctl.ops.remote.protocol import remote_format

        remote_format(found, f"remote {self.url}")  # an artctl remote, of a format this version reads

    def wait(self) -> None:
        """Return once FORMAT was read and is artctl's; raise its error otherwise."""
        with self._lock:
            self._done.wait()
            error = self._error
            if isinstance(error, RemoteError):  # the request failed, not the check: ask again next time
                self._start()
        if error is not None:
            raise error


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
    given_as_url = "://" in url
    if not given_as_url:
        url = Path(url).expanduser().resolve().as_uri()
    if cwd_repo is not None and remote_options is None:
        for spec in list_remotes(cwd_repo):
            if spec.url.rstrip("/") == url.rstrip("/"):
                holder = _configured(cwd_repo, spec)
                return ReadTarget(cwd_repo, [holder], holder.backend, spec.name)
    backend = open_storage(url, remote_options or {})
    inventory = MemoryInventory(backend)
    inventory.prefetch()  # pack indexes load while FORMAT and the version are read
    checked = FormatCheck(backend, url)
    if not given_as_url:  # a repository path: no round trip to save, say at once if it is none
        checked.wait()
    blobs = RemoteBlobs(url, backend, inventory, configured=False)
    return ReadTarget(cwd_repo, [blobs], backend, url, format_check=checked)


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
