"""The local tree: every key of :mod:`artctl.format.layout` as a path under one ``.artifacts/``.

A key names a file the same way in a repository and on a remote; :class:`Layout` is the local
side, a ``Path`` for each of them under one repository's root (or the user cache, laid out
alike), and the key and kind of a path found there. Nothing here touches the file system.
"""

from __future__ import annotations

from pathlib import Path

from artctl.format.layout import (
    CONFIG_FILE,
    CORRUPT,
    DRAFTS,
    FORMAT_FILE,
    JOURNAL,
    LOCKS,
    MANIFESTS,
    OBJECTS,
    PACKS,
    REGISTRY,
    RUNS,
    STATE_DB,
    TMP,
    Located,
    aliases_key,
    artifact_key,
    artifact_record_key,
    draft_key,
    index_key,
    journal_key,
    manifest_key,
    object_key,
    origin_key,
    pack_key,
    parse_key,
    remote_index_dir_key,
    run_key,
    version_key,
    versions_key,
)
from artctl.format.names import ArtifactName


class Layout:
    """Paths of one local repository (``root`` is its ``.artifacts`` directory)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    def key(self, path: Path) -> str:
        """The key of a path inside the repository (the reverse of :meth:`path`)."""
        return path.relative_to(self.root).as_posix()

    def what(self, path: Path) -> Located | None:
        return parse_key(self.key(path))

    # the directories
    @property
    def objects(self) -> Path:
        return self.root / OBJECTS

    @property
    def packs(self) -> Path:
        return self.root / PACKS

    @property
    def manifests(self) -> Path:
        return self.root / MANIFESTS

    @property
    def registry(self) -> Path:
        return self.root / REGISTRY

    @property
    def runs(self) -> Path:
        return self.root / RUNS

    @property
    def drafts(self) -> Path:
        return self.root / DRAFTS

    @property
    def journal(self) -> Path:
        return self.root / JOURNAL

    @property
    def renames(self) -> Path:
        """Intents of artifact renames in progress (``journal/renames/``)."""
        return self.journal / "renames"

    @property
    def tmp(self) -> Path:
        return self.root / TMP

    @property
    def locks(self) -> Path:
        return self.root / LOCKS

    @property
    def format_file(self) -> Path:
        return self.root / FORMAT_FILE

    @property
    def config_file(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def state_db(self) -> Path:
        return self.root / STATE_DB

    # the files
    def object(self, digest: str) -> Path:
        return self.path(object_key(digest))

    def pack(self, pack_id: str) -> Path:
        return self.path(pack_key(pack_id))

    def index(self, pack_id: str) -> Path:
        return self.path(index_key(pack_id))

    def manifest(self, digest: str) -> Path:
        return self.path(manifest_key(digest))

    def origin(self, digest: str) -> Path:
        return self.path(origin_key(digest))

    def artifact_dir(self, name: ArtifactName) -> Path:
        return self.path(artifact_key(name))

    def artifact_record(self, name: ArtifactName) -> Path:
        return self.path(artifact_record_key(name))

    def versions_dir(self, name: ArtifactName) -> Path:
        return self.path(versions_key(name))

    def version(self, name: ArtifactName, index: int) -> Path:
        return self.path(version_key(name, index))

    def aliases(self, name: ArtifactName) -> Path:
        return self.path(aliases_key(name))

    def run(self, run_id: str) -> Path:
        return self.path(run_key(run_id))

    def draft(self, draft_id: str) -> Path:
        return self.path(draft_key(draft_id))

    def journal_file(self, name: ArtifactName) -> Path:
        return self.path(journal_key(name))

    def corrupt(self, digest: str) -> Path:
        """Where ``artifact verify --repair`` keeps a corrupt loose object (never deleted)."""
        return self.root / CORRUPT / digest

    def remote_indexes(self, remote: str) -> Path:
        return self.path(remote_index_dir_key(remote))
