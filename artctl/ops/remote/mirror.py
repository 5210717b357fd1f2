"""Working directly on a remote: a metadata mirror in the user cache (``--repo URL|REMOTE``).

A remote opened as a repository is a local repository under ``<cache.dir>/mirrors/<hash of the
URL>/`` with the remote configured as its default remote ``origin``. It holds the remote's
registry, run records and manifests, refreshed from the remote each time it is opened (a
metadata-only pull: manifests it already has are not fetched again). Objects are fetched lazily
by ``get``'s remote source and stay in the mirror (and the user cache) as cache. So every
command that reads a repository reads a remote unchanged, with no second implementation.

A command that writes runs on the mirror, then :meth:`Mirror.publish` pushes the registry change
of the artifacts it touched (nothing else) before the command returns; push's rules apply (a
conflicting change is refused with push's message). When the publish fails, or the command
fails half-way, :meth:`Mirror.discard` drops the mirror's copy of those artifacts and refreshes
them, so the mirror never shows a change the remote does not have. Two processes sharing one
mirror are safe: refreshes and publishes take the mirror's lock file, and everything else the
repository's own locks.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artctl.base.crashpoints import crash_point, declare
from artctl.base.locks import mirror_exclusive
from artctl.base.processes import process_gone
from artctl.errors import ArtctlError, RemoteError
from artctl.format.layout import CONFIG_FILE, REMOTES, journal_key, sync_base_key
from artctl.format.names import ArtifactName, parse_name
from artctl.ops.remote.config import open_storage
from artctl.ops.remote.protocol import open_remote
from artctl.ops.remote.target import Target, resolve_target
from artctl.repository.config import Config
from artctl.repository.repo import Repository, find_root
from artctl.repository.settings import user_cache_dir

if TYPE_CHECKING:
    from artctl.backend.base import Backend

#: The mirror's name for the remote it mirrors.
MIRROR_REMOTE = "origin"
MIRRORS_DIR = "mirrors"
#: Refreshing a big registry from a slow remote may take a while: wait for another process's.
MIRROR_LOCK_TIMEOUT = 600.0

#: Beside a mirror's ``.artifacts``: a file per process running a command on it.
SESSIONS_DIR = "sessions"
#: Beside a mirror's ``.artifacts``: the URL it mirrors (what makes a repository a mirror).
MIRROR_MARK = "MIRROR"

MIRROR_CHANGED = declare(
    "mirror.changed",
    "a command changed the mirror of a remote and has not published it: the next command on the "
    "mirror finds the dead process's session file and refreshes the whole registry from the remote, "
    "so the change is gone, as it is from the remote; the re-run makes it again",
)

#: What a registry directory looked like: ``{artifact name: fingerprint of its files}``.
Fingerprint = dict[str, tuple[tuple[str, int, int], ...]]


@dataclass
class Mirror:
    """The metadata mirror of one remote: its local ``repository`` and the remote's ``url``."""

    repository: Repository
    url: str

    def locked(self) -> contextlib.AbstractContextManager[None]:
        """The mirror's own lock: one refresh, publish or discard at a time."""
        return mirror_lock(self.repository.root.parent, self.url)

    def refresh(self) -> None:
        """Pull the remote's registry, runs and new manifests (no objects)."""
        from artctl.ops.remote.pull import pull

        with self.locked():
            pull(self.repository, MIRROR_REMOTE)

    def fingerprint(self) -> Fingerprint:
        """Every artifact's registry files (name, size, mtime): what a command changed shows."""
        registry = self.repository.registry
        out: Fingerprint = {}
        for artifact in registry.iter_artifacts():
            directory = self.repository.layout.path(_artifact_key(artifact.name))
            files = []
            for dirpath, _dirs, names in os.walk(directory):
                for file_name in names:
                    path = os.path.join(dirpath, file_name)
                    with contextlib.suppress(FileNotFoundError):
                        st = os.stat(path)
                        files.append((os.path.relpath(path, directory), st.st_size, st.st_mtime_ns))
            out[artifact.name] = tuple(sorted(files))
        return out

    def changed(self, before: Fingerprint) -> list[str]:
        """The artifacts whose registry files differ from ``before`` (new ones included)."""
        after = self.fingerprint()
        return sorted(n for n in after if before.get(n) != after[n])

    def publish(self, names: list[str]) -> Any:
        """Push the registry change of ``names`` to the remote; on failure :meth:`discard` it."""
        from artctl.ops.remote.push import push

        if not names:
            return None
        try:
            with self.locked():
                return push(self.repository, MIRROR_REMOTE, names)
        except BaseException:
            with contextlib.suppress(Exception):
                self.discard(names)
            raise

    @contextlib.contextmanager
    def published(self) -> Iterator[list[str]]:
        """Run a command on the mirror, then publish what it changed (the names, filled in at
        the end); a command that fails leaves the mirror as the remote has it."""
        before = self.fingerprint()
        names: list[str] = []
        with self._session():
            try:
                yield names
            except BaseException:
                changed = self.changed(before)
                if changed:
                    with contextlib.suppress(Exception):
                        self.discard(changed)
                raise
            names.extend(self.changed(before))
            crash_point(MIRROR_CHANGED)
            self.publish(names)

    @contextlib.contextmanager
    def _session(self) -> Iterator[None]:
        """A file naming this process while a command runs on the mirror: one left by a killed
        process means the mirror may hold a change that never reached the remote."""
        import uuid

        sessions = self.repository.root.parent / SESSIONS_DIR
        sessions.mkdir(exist_ok=True)
        marker = sessions / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        marker.touch()
        try:
            yield
        finally:
            marker.unlink(missing_ok=True)

    def recover(self) -> bool:
        """After a command killed on this mirror (a session file of a dead process), forget the
        whole registry (the next refresh brings back what the remote has); True when it did."""
        sessions = self.repository.root.parent / SESSIONS_DIR
        dead = [m for m in sessions.glob("*-*") if process_gone(int(m.name.split("-", 1)[0]))]
        if not dead:
            return False
        layout = self.repository.layout
        for directory in (layout.journal, layout.path(f"{REMOTES}/{MIRROR_REMOTE}/synced")):
            shutil.rmtree(directory, ignore_errors=True)
        for child in layout.registry.iterdir():
            shutil.rmtree(child, ignore_errors=True)
        for marker in dead:
            marker.unlink(missing_ok=True)
        return True

    def discard(self, names: list[str]) -> None:
        """Forget the mirror's copy of ``names`` and refresh: back to what the remote has."""
        layout = self.repository.layout
        with self.locked():
            for text in names:
                name = parse_name(text)
                with self.repository.lock(f"artifact-{name}"):
                    shutil.rmtree(layout.path(_artifact_key(text)), ignore_errors=True)
                    for key in (journal_key(name), sync_base_key(MIRROR_REMOTE, name)):
                        layout.path(key).unlink(missing_ok=True)
        self.refresh()


@contextlib.contextmanager
def mirror_lock(directory: Path, url: str, timeout: float = MIRROR_LOCK_TIMEOUT) -> Iterator[None]:
    """``<mirrors>/<key>.lock`` beside the mirror ``directory``: it also guards its creation."""
    with mirror_exclusive(
        directory.with_suffix(".lock"), f"another process refreshing the mirror of {url}", timeout
    ):
        yield


def live_sessions(directory: Path) -> list[Path]:
    """The session files of processes still running a command on the mirror ``directory``
    (one of a killed process is not live: :meth:`Mirror.recover` handles it)."""
    sessions = directory / SESSIONS_DIR
    return [m for m in sessions.glob("*-*") if not process_gone(int(m.name.split("-", 1)[0]))]


def _artifact_key(name: str | ArtifactName) -> str:
    from artctl.format.layout import artifact_key

    return artifact_key(parse_name(str(name)) if isinstance(name, str) else name)


def mirrors_dir() -> Path:
    """``<cache.dir>/mirrors``: the user cache of the repository around (its ``cache.dir``), else
    of the user config; the default cache directory when the cache is turned off."""
    from artctl.errors import ArtctlError
    from artctl.repository.config_values import default_cache_dir

    try:
        config = Config(find_root() / CONFIG_FILE)
    except ArtctlError:
        config = Config(None)
    return (user_cache_dir(config) or default_cache_dir()) / MIRRORS_DIR


def mirror_key(url: str) -> str:
    """The mirror directory's name: readable tail of the URL + a hash of all of it."""
    url = url.rstrip("/")
    tail = "".join(c if c.isalnum() or c in "-_." else "-" for c in url.rsplit("/", 1)[-1])[:32]
    return f"{tail or 'root'}-{hashlib.sha256(url.encode()).hexdigest()[:16]}"


def open_mirror(url: str, options: dict[str, Any] | None = None, *, refresh: bool = True) -> Mirror:
    """The mirror of the remote at ``url`` (created on first use), refreshed from it.

    A new mirror's remote is checked first, so an unreachable or non-artctl URL is one error and
    leaves no mirror behind.
    """
    options = dict(options or {})
    directory = mirrors_dir() / mirror_key(url)
    if not directory.exists():  # later, the refresh's own check says what is wrong
        open_remote(remote_backend(url, options), create=False)
    with mirror_lock(directory, url):
        repository, _ = Repository.init(directory)
        _configure(repository, url, options)
        mark = directory / MIRROR_MARK
        if not mark.exists():
            mark.write_text(url + "\n")
        os.utime(mark)  # the mirror's last use: `cache cleanup` evicts the least recently used first
        mirror = Mirror(repository, url)
        mirror.recover()
    if refresh:
        mirror.refresh()
    return mirror


def _configure(repository: Repository, url: str, options: dict[str, Any]) -> None:
    """Point the mirror's ``origin`` at ``url`` with ``options`` (rewritten when they changed)."""
    config = repository.config
    if config.get(f"remote.{MIRROR_REMOTE}.url") != url:
        config.set(f"remote.{MIRROR_REMOTE}.url", url)
        config.set("core.default_remote", MIRROR_REMOTE)
    if (config.get(f"remote.{MIRROR_REMOTE}.options") or {}) != options:
        config.set(f"remote.{MIRROR_REMOTE}.options", options)


def mirrored_remote(repository: Repository) -> str | None:
    """The remote name a mirror calls the remote it mirrors; None for an ordinary repository.

    Facts a mirror cannot hold but its remote does (who moved an alias, when) are read there."""
    return MIRROR_REMOTE if (repository.root.parent / MIRROR_MARK).is_file() else None


def remote_backend(url: str, options: dict[str, Any]) -> Backend:
    """The storage of the remote at ``url`` (nothing contacted yet)."""
    return open_storage(url, options)


def open_location(location: str | os.PathLike[str]) -> Repository | Mirror:
    """THE opener of ``Repo.open`` (the CLI's ``--repo`` resolves the same way): a local
    repository as itself, a remote (URL or configured name) as its refreshed :class:`Mirror`."""
    target = resolve_target(os.fspath(location))
    if target.root is not None:
        return Repository(target.root)
    assert target.url is not None
    return open_mirror(target.url, target.options)


def collect_garbage(target: Target, *, grace: int | None, dry_run: bool, force: bool = False) -> Any:
    """``gc`` on a remote itself (not on its mirror): ``artctl.ops.remote.gc.collect``."""
    from artctl.ops.remote import gc as remote_gc  # type: ignore[attr-defined,unused-ignore]

    if target.url is None:
        raise RemoteError(f"{target.text} is not a remote")
    backend = remote_backend(target.url, target.options)
    open_remote(backend, create=False)
    if grace is None:  # the remote grace of the repository around, else of the user config
        from artctl.repository.settings import Settings

        try:
            grace = Repository(find_root()).settings.remote_grace_seconds
        except ArtctlError:
            grace = Settings.load(Config(None)).remote_grace_seconds
    return remote_gc.collect(backend, grace=grace, dry_run=dry_run, force=force)
