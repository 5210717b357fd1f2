"""Finding, creating and opening a repository (``.artifacts/``).

The repository is found like git finds ``.git``: walk up from the working directory;
``ARTCTL_DIR`` names one explicitly (either the ``.artifacts`` directory or its parent). Its
manifest files are :class:`~artctl.repository.manifests.ManifestFiles`'s, mixed in here.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from artctl.base import locks
from artctl.base.fsutil import atomic_write_bytes, sync_filesystem
from artctl.base.units import ttl_seconds
from artctl.errors import InvalidInput, RepositoryFormatError, RepositoryNotFound
from artctl.format.layout import DIRNAME, FORMAT_FILE, GITIGNORE, INIT_DIRS
from artctl.format.local_layout import Layout
from artctl.format.manifest import Entry, Manifest
from artctl.format.names import ArtifactName, ArtifactRef, NameScope, parse_ref
from artctl.format.records import VersionRecord
from artctl.repository.config import Config
from artctl.repository.manifests import ManifestFiles
from artctl.repository.settings import Settings, default_workers

if TYPE_CHECKING:  # imported when first used, as the properties below do
    from artctl.repository.objects import Store
    from artctl.repository.registry import Registry
    from artctl.repository.runs import RunStore
    from artctl.repository.state import StateDB

#: The format this artctl writes (docs/format.md); it reads :data:`READ_FORMATS`.
REPO_FORMAT = 2
READ_FORMATS = (1, 2)
#: How long a repository trusts its typed settings before it checks the config files and the
#: environment again (a write of a config file by this process is noticed at once).
SETTINGS_RECHECK_SECONDS = 1.0
_FORMAT_DOC = {"kind": "artctl-repository", "format": REPO_FORMAT}


def format_bytes() -> bytes:
    return json.dumps(_FORMAT_DOC, sort_keys=True).encode() + b"\n"


def check_format(data: bytes, where: str) -> int:
    """The repository format of a ``FORMAT`` file's content (1 or 2); refuse a directory that
    is not an artctl repository or has a newer format."""
    try:
        doc = json.loads(data)
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or doc.get("kind") != "artctl-repository":
        raise RepositoryFormatError(
            f"{where} is not an artctl repository (its {FORMAT_FILE} file is not artctl's)",
            hint=f"if it is one whose {FORMAT_FILE} was damaged, delete {where}/{FORMAT_FILE} and run "
            "`artctl init` there: that rewrites it and keeps every stored file",
        )
    found = doc.get("format")
    if found not in READ_FORMATS or isinstance(found, bool):
        raise RepositoryFormatError(
            f"{where} has repository format {found!r}; this artctl reads formats "
            f"{' and '.join(map(str, READ_FORMATS))}",
            hint="upgrade artctl",
        )
    assert isinstance(found, int)
    return found


def find_root(start: Path | None = None) -> Path:
    """The ``.artifacts`` directory that governs ``start`` (default: the working directory)."""
    env = os.environ.get("ARTCTL_DIR")
    if env:
        path = Path(env).expanduser().resolve()
        candidates = [path] if path.name == DIRNAME else [path / DIRNAME, path]
        for candidate in candidates:
            if (candidate / FORMAT_FILE).is_file():
                return candidate
        raise RepositoryNotFound(
            f"ARTCTL_DIR={env} is not an artctl repository",
            hint=f"run `artctl init {env}` or unset ARTCTL_DIR",
        )
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / DIRNAME
        if (candidate / FORMAT_FILE).is_file():
            return candidate
    raise RepositoryNotFound(
        "not inside an artctl repository (no .artifacts/ here or above)",
        hint="run `artctl init` to create one here",
    )


class Repository(ManifestFiles):
    """An opened repository: paths, config, state database, object store and registry."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.layout = Layout(root)
        found = self._read_format()
        self.tmp_dir = self.layout.tmp
        self.locks_dir = self.layout.locks
        self.manifests_dir = self.layout.manifests
        self._settings: tuple[object, Settings] | None = None  # (config stamp, settings)
        self._settings_checked = (-SETTINGS_RECHECK_SECONDS, -1)  # (monotonic time, config_writes())
        self._deferred = False  # per-write flushes deferred (deferred_durability)
        if found < REPO_FORMAT and os.access(root, os.W_OK):
            self.upgrade()

    def _read_format(self) -> int:
        return check_format(self.layout.format_file.read_bytes(), str(self.root))

    def upgrade(self) -> bool:
        """Migrate a repository of an older format (docs/format.md "Migration"): once, under
        the ``migration`` lock, resumable; False when it was current already. A repository
        that cannot be written (a read-only mount) is read in its old format instead."""
        from artctl.repository.migrate import migrate

        return migrate(self.layout, self.lock, self._read_format, format_bytes(), fsync=self.fsync)

    @classmethod
    def find(cls, start: Path | None = None) -> Repository:
        return cls(find_root(start))

    @classmethod
    def open(cls, location: str | os.PathLike[str]) -> Repository:
        """The repository at ``location`` (its ``.artifacts`` directory or the one holding it).

        A remote URL is opened by ``artctl.ops.remote.mirror.open_location`` (``Repo.open``),
        which needs the remote machinery of the layers above this one.
        """
        text = os.fspath(location)
        if "://" in text and not text.startswith("file://"):
            raise InvalidInput(
                f"{text} is a remote URL", hint="open it with artctl.Repo.open(url) or `artctl --repo URL`"
            )
        path = Path(text.removeprefix("file://")).expanduser().resolve()
        for candidate in [path] if path.name == DIRNAME else [path / DIRNAME]:
            if (candidate / FORMAT_FILE).is_file():
                return cls(candidate)
        raise RepositoryNotFound(f"{text} is not an artctl repository", hint=f"run `artctl init {text}`")

    @classmethod
    def init(cls, directory: Path | None = None) -> tuple[Repository, bool]:
        """Create ``DIR/.artifacts`` (idempotent); return the repository and whether it is new."""
        base = (directory or Path.cwd()).resolve()
        root = base if base.name == DIRNAME else base / DIRNAME
        layout = Layout(root)
        created = not layout.format_file.exists()
        if created:
            for sub in INIT_DIRS:
                (root / sub).mkdir(parents=True, exist_ok=True)
            if not layout.config_file.exists():
                atomic_write_bytes(layout.config_file, b"")
            atomic_write_bytes(root / GITIGNORE, b"# artctl repository: keep it out of git\n*\n")
            atomic_write_bytes(layout.format_file, format_bytes())
        repository = cls(root)
        repository.state.create()  # create state.db now: processes starting together then share it
        return repository, created

    @property
    def work_dir(self) -> Path:
        """The directory holding ``.artifacts`` (default base of relative roots)."""
        return self.root.parent

    @cached_property
    def config(self) -> Config:
        return Config(self.layout.config_file)

    @property
    def settings(self) -> Settings:
        """This repository's typed settings, read on first use (a bad value is reported by the
        command that needs it; ``artctl config`` can still fix it) and read again when a config
        file or an ``ARTCTL_*`` variable changed (a notebook that runs ``artctl config``): at once
        after this process wrote a config file, within :data:`SETTINGS_RECHECK_SECONDS` after
        another process did (checking costs two ``stat`` calls and a scan of the environment,
        too much for every write of a 10,000-version clone).

        The store follows a changed ``core.fsync`` from its next write on; a pack being written
        keeps the durability it started with.
        """
        from artctl.repository.config import config_writes

        now, writes = time.monotonic(), config_writes()
        checked_at, checked_writes = self._settings_checked
        if (
            self._settings is not None
            and writes == checked_writes
            and now - checked_at < SETTINGS_RECHECK_SECONDS
        ):
            return self._settings[1]
        self._settings_checked = (now, writes)
        stamp = self.config.stamp()
        if self._settings is None or self._settings[0] != stamp:
            settings = Settings.load(self.config)
            self._settings = (stamp, settings)
            if "store" in self.__dict__:
                self.store.fsync = settings.fsync and not self._deferred
        return self._settings[1]

    @property
    def names(self) -> NameScope:
        """What short names mean here: ``core.entity`` and the default project."""
        return self.settings.names

    @property
    def fsync(self) -> bool:
        """Whether this repository's writes are flushed to disk, one by one (``core.fsync``)."""
        return not self._deferred and self.settings.fsync

    @contextlib.contextmanager
    def deferred_durability(self) -> Iterator[None]:
        """Write without a flush per file, then flush the whole filesystem once (``syncfs``).

        Only for a repository nobody can see yet — a clone built in its staging directory, which
        a kill discards whole — so flushing each of its 30,000 records buys nothing. The flush at
        the end (when ``core.fsync`` is on) makes everything durable before the caller publishes
        the repository (the clone's rename).
        """
        self._deferred = True
        if "store" in self.__dict__:
            self.store.fsync = False
        try:
            yield
        finally:
            self._deferred = False
            if "store" in self.__dict__:
                self.store.fsync = self.settings.fsync
        if self.settings.fsync:
            sync_filesystem(self.root)

    @cached_property
    def state(self) -> StateDB:
        from artctl.repository.state import StateDB

        return StateDB(self.layout.state_db)

    @cached_property
    def store(self) -> Store:
        from artctl.repository.objects import Store

        return Store(self.root, self.state, fsync=self.fsync)

    @cached_property
    def registry(self) -> Registry:
        from artctl.repository.registry import Registry

        return Registry(self.layout, self.lock, lambda: self.fsync, lambda: self.runs, lambda: self.names)

    @cached_property
    def runs(self) -> RunStore:
        from artctl.repository.runs import RunStore

        return RunStore(
            self.layout, self.lock, lambda: self.fsync, self.registry.settle_all, lambda: self.names.project
        )

    def close(self) -> None:
        """Release this thread's connection to ``state.db`` (reopened on next use).

        The repository's parts refer to each other, so an unused Repository is freed only when
        the garbage collector finds the cycle: until then a long-running process (a notebook,
        the UI server, a test running the CLI in-process) keeps one SQLite connection, three
        file descriptors and an unmerged ``-wal`` file per repository it ever opened.
        """
        state = self.__dict__.get("state")
        if state is not None:
            state.close()

    def lock(self, name: str) -> AbstractContextManager[None]:
        """A short exclusive lock for metadata changes of one thing (an artifact, a run …);
        its file and its place in the lock order are :mod:`artctl.base.locks`'s."""
        return locks.named(self.locks_dir, name)

    # -- versions and settings, for every layer above -------------------------------------------
    def resolve(self, ref: str | ArtifactRef, *, include_deleted: bool = False) -> VersionRecord:
        """``proj/name:alias`` (or a parsed ref) → its version record, or a clear error."""
        parsed = parse_ref(ref, self.names) if isinstance(ref, str) else ref
        return self.registry.resolve(parsed, include_deleted=include_deleted)

    def manifest(self, record: VersionRecord) -> Manifest:
        """The version's whole manifest, verified (see :meth:`iter_entries` for huge ones)."""
        return self.read_manifest(record.manifest)

    def iter_entries(self, record: VersionRecord) -> Iterator[Entry]:
        """The version's files sorted by path, streamed (bounded memory, any size)."""
        return self.iter_manifest(record.manifest)

    def files_dropped(self, record: VersionRecord) -> bool:
        """True when gc has removed this (deleted or expired) version's manifest and files."""
        return bool(record.purged_at) and not self.manifest_path(record.manifest).exists()

    def workers(self) -> int:
        """Parallel file reads/writes: ``core.workers``, else a default from the CPU count."""
        return self.settings.workers or default_workers()

    def project_ttl(self, project: str) -> int | None:
        """A project's default TTL in seconds: ``ttl.project.<P>``, else ``ttl.default``."""
        value = self.config.get(f"ttl.project.{project}") or self.config.get("ttl.default")
        return ttl_seconds(str(value)) if value else None

    def default_ttl(self, name: ArtifactName) -> int | None:
        """The TTL a new version of ``name`` gets when none is given."""
        return self.project_ttl(name.project)
