"""``artctl.Repo``: a repository with the library's verbs, for the CLI and Python users.

A ``Repo`` *is* a :class:`~artctl.repository.repo.Repository` (so anything that takes a
repository takes it) plus one method per verb — put, get, show, versions, diff, update, verify —
each a call into the module that owns it (``ops/put.py``, ``ops/get.py``,
``repository/versions.py``, ``repository/commit.py``, ``ops/verify.py``). No logic lives here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artctl.base.progress import Progress
from artctl.format.manifest import Entry, Manifest, ManifestDiff
from artctl.format.names import ArtifactName, ArtifactRef
from artctl.format.records import VersionRecord
from artctl.format.version_fields import VersionFields
from artctl.ops import get as get_op
from artctl.ops import put as put_op
from artctl.ops.checkout import CheckoutResult
from artctl.ops.ingest import SourceFile
from artctl.repository import commit, versions
from artctl.repository.repo import Repository, find_root
from artctl.repository.views import ArtifactSummary, PutResult, VersionInfo

if TYPE_CHECKING:
    from artctl.ops.alias_log import AliasEvent
    from artctl.ops.remote.mirror import Mirror
    from artctl.ops.remote.transfer import TransferResult
    from artctl.ops.verify import VerifyResult


class Repo(Repository):
    """An artctl repository, as the library sees it: ``Repo()`` finds the one governing the
    working directory (or ``ARTCTL_DIR``), ``Repo(path)`` the one governing ``path``."""

    def __init__(self, path: str | os.PathLike[str] | Repository | None = None) -> None:
        if isinstance(path, Repository):
            super().__init__(path.root)
        else:
            super().__init__(find_root(Path(path) if path is not None else None))

    @classmethod
    def open(cls, location: str | os.PathLike[str]) -> Repo:
        """The repository at a path, or a remote itself (``s3://…``, or a configured remote's
        name) as a :class:`RemoteRepo` over its metadata mirror (:mod:`artctl.ops.remote.mirror`)."""
        from artctl.ops.remote.mirror import Mirror, open_location

        opened = open_location(location)
        if isinstance(opened, Mirror):
            return RemoteRepo(opened)
        opened.close()  # the Repo returned is a second object over the same directory
        return cls(opened)

    def published(self) -> AbstractContextManager[object]:
        """Wraps each write of the API: others see a local repository's change at once; a
        :class:`RemoteRepo` pushes it to the remote when the block ends."""
        return contextlib.nullcontext()

    @classmethod
    def init(cls, directory: str | os.PathLike[str] | None = None) -> tuple[Repo, bool]:
        """Create ``DIR/.artifacts`` (idempotent): see :meth:`Repository.init`."""
        repository, created = Repository.init(Path(directory) if directory is not None else None)
        repository.close()  # the Repo below is a second object over the same directory
        return cls(repository), created

    def __enter__(self) -> Repo:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()  # Repository.close: usable again after, the state reopens on next use

    @property
    def repository(self) -> Repository:
        """This repository (a Repo is one); kept for code that reached it as ``repo.repository``."""
        return self

    # -- writing -----------------------------------------------------------------------------
    def put(
        self,
        path: str | os.PathLike[str],
        *,
        name: str,
        type: str,
        aliases: Sequence[str] = (),
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        ttl: str | timedelta | None = None,
        run_id: str | None = None,
        checksum: bool = True,
        max_objects: int | None = None,
        progress: Progress | None = None,
        tags: Sequence[str] = (),
        remote: str | None = None,
    ) -> PutResult:
        """A new version from a file, a directory or a reference URI (``s3://…``).

        Identical content to a live version creates no new version; the aliases still move.
        ``remote`` (a remote's name or URL) commits it on that remote first, so its number is
        final at once (``core.publish = remote`` does it with the default remote).
        """
        return put_op.put(
            self,
            path,
            name=name,
            type=type,
            fields=VersionFields(
                aliases=aliases, description=description, metadata=metadata, ttl=ttl, run_id=run_id, tags=tags
            ),
            checksum=checksum,
            max_objects=max_objects,
            progress=progress,
            remote=remote,
        )

    def collect(self, sources: Iterable[tuple[str | os.PathLike[str], str | None]]) -> list[SourceFile]:
        return put_op.collect(sources)

    def store_files(self, files: Sequence[SourceFile], progress: Progress | None = None) -> list[Entry]:
        return put_op.store_files(self, files, progress)

    def commit_manifest(self, name: ArtifactName, kind: str, manifest: Manifest, **options: Any) -> PutResult:
        return commit.commit_manifest(self, name, kind, manifest, **options)

    def commit_digest(self, name: ArtifactName, kind: str, digest: str, **options: Any) -> PutResult:
        return commit.commit_digest(self, name, kind, digest, **options)

    def update(
        self,
        ref: str | ArtifactRef,
        *,
        description: Any = ...,
        metadata: Any = ...,
        ttl: Any = ...,
        tags: Any = ...,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
    ) -> VersionInfo:
        """Edit mutable fields; ``ttl=None`` removes the TTL, ``...`` leaves a field alone."""
        return versions.update(
            self,
            ref,
            description=description,
            metadata=metadata,
            ttl=ttl,
            tags=tags,
            add_tags=add_tags,
            remove_tags=remove_tags,
        )

    # -- reading -----------------------------------------------------------------------------
    def show(
        self, ref: str | ArtifactRef, *, include_deleted: bool = False, load_manifest: bool = True
    ) -> VersionInfo:
        return versions.show(self, ref, include_deleted=include_deleted, load_manifest=load_manifest)

    def version_info(self, record: VersionRecord, **options: Any) -> VersionInfo:
        """A version record with its aliases and registry links: see :func:`versions.version_info`."""
        return versions.version_info(self, record, **options)

    def versions(self, name: str | ArtifactName, *, include_deleted: bool = False) -> list[VersionInfo]:
        return versions.list_versions(self, name, include_deleted=include_deleted)

    def list_artifacts(self, project: str | None = None, type: str | None = None) -> list[ArtifactSummary]:
        return versions.list_artifacts(self, project, type)

    def diff(self, old: str | ArtifactRef, new: str | ArtifactRef) -> ManifestDiff:
        return versions.diff(self, old, new)

    def get(
        self,
        ref: str | ArtifactRef,
        *,
        root: str | os.PathLike[str] | None = None,
        path_prefix: str | None = None,
        link: str | None = None,
        run_id: str | None = None,
        progress: Progress | None = None,
        allow_local_refs: bool | None = None,
        allow_missing_references: bool = False,
    ) -> CheckoutResult:
        """Materialize a version under ``root`` (default ``./artifacts/<name>:vN``).

        ``allow_local_refs`` overrides ``references.allow_local`` for a pulled version's
        references; ``allow_missing_references`` skips reference entries whose data is gone.
        """
        return get_op.get(
            self,
            ref,
            root=root,
            path_prefix=path_prefix,
            link=link,
            run_id=run_id,
            progress=progress,
            allow_local_refs=allow_local_refs,
            allow_missing_references=allow_missing_references,
        )

    def materialize(self, entries: list[Entry], target: Path, **options: Any) -> CheckoutResult:
        return get_op.materialize(self, entries, target, **options)

    def check_references(self, record: VersionRecord, entries: list[Entry], allow_local: bool | None) -> None:
        get_op.check_references(self, record, entries, allow_local)

    def fetcher(self) -> Callable[[Entry, Path], None]:
        return get_op.fetcher(self)

    def default_root(self, record: VersionRecord) -> Path:
        return get_op.default_root(record)

    def verify(
        self,
        ref: str | ArtifactRef | None = None,
        progress: Progress | None = None,
        *,
        repair: bool = False,
        remote: str | bool | None = None,
    ) -> VerifyResult:
        """Re-hash every object (of one version, or of all) and report problems: see ``verify.py``."""
        from artctl.ops.verify import verify

        return verify(self, ref, progress, repair=repair, remote=remote)

    def alias_log(
        self,
        name: str | ArtifactName,
        alias: str | None = None,
        *,
        remote: str | None = None,
        limit: int | None = None,
    ) -> list[AliasEvent]:
        """Who set, moved or removed the custom aliases of ``name`` (``alias`` only, if given),
        newest first, here or on ``remote`` (a name or URL): see ``ops/alias_log.py``."""
        from artctl.ops.alias_log import alias_log

        return alias_log(self, name, alias, remote=remote, limit=limit)


class RemoteRepo(Repo):
    """A remote opened as a repository (``Repo.open("s3://…")``, ``Api(repo=…)``): reads come
    from its metadata mirror, and every write through the API (``put``, ``update``,
    ``Artifact.save``/``delete``/``link`` …) is published to the remote before it returns, with
    push's rules; a write that fails leaves the mirror as the remote has it."""

    def __init__(self, mirror: Mirror) -> None:
        super().__init__(mirror.repository)
        self.mirror = mirror
        self._writing = False

    @contextlib.contextmanager
    def published(self) -> Iterator[object]:
        if self._writing:  # a write made of writes (save → update) publishes once, at the end
            yield None
            return
        self._writing = True
        try:
            with self.mirror.published() as names:
                yield names
        finally:
            self._writing = False

    def put(self, path: str | os.PathLike[str], **options: Any) -> PutResult:
        with self.published():
            return super().put(path, **options)

    def update(self, ref: str | ArtifactRef, **changes: Any) -> VersionInfo:
        with self.published():
            return super().update(ref, **changes)

    def close(self) -> None:
        self.mirror.repository.close()
        super().close()


def clone(
    url: str, directory: str | os.PathLike[str] | None = None, **options: Any
) -> tuple[Repo, TransferResult]:
    """A new repository in ``directory`` with ``url`` as its default remote, returned as a
    :class:`Repo`: see :func:`artctl.ops.remote.transfer.clone` for the options."""
    from artctl.ops.remote.clone import clone as clone_repository

    repository, result = clone_repository(url, directory, **options)
    repository.close()  # the Repo returned is a second object over the same directory
    return Repo(repository), result


__all__ = ["ArtifactSummary", "PutResult", "RemoteRepo", "Repo", "VersionInfo", "clone"]
