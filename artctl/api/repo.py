"""The operations on a repository that both the CLI and the W&B-style objects call.

``Repo`` is the library's facade: put, get, list, show, diff, update, verify. Each method
validates its input first, then writes in the invariant order — objects, manifest, version
record, aliases — so a crash leaves the old state or the new one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artctl.base.crashpoints import crash_point, declare
from artctl.base.progress import Progress, announce_total
from artctl.base.units import MAX_DURATION_SECONDS, parse_duration
from artctl.errors import ArtifactNotFound, InvalidInput
from artctl.format.manifest import Entry, Manifest, ManifestDiff, diff_sorted
from artctl.format.names import ArtifactName, ArtifactRef, parse_name, parse_ref
from artctl.format.records import VersionRecord
from artctl.ops.checkout import CheckoutResult, checkout, select
from artctl.ops.ingest import SourceFile, ingest, scan, tree_signature
from artctl.repository.repo import Repository
from artctl.repository.runs import VersionLink

if TYPE_CHECKING:
    from artctl.ops.verify import VerifyResult

#: A version whose blobs lie in more loose objects than this is checked with a placement query
#: on every unchanged re-put, instead of by a remembered list of files (kept small in state.db).
PLACEMENT_MAX_LOOSE = 10_000

PUT_AFTER_OBJECTS = declare(
    "put.after-objects",
    "every blob durable and in the stat cache, no manifest: unreferenced blobs (gc removes them "
    "after its grace period); a re-put stores nothing again",
)
PUT_AFTER_COMMIT = declare(
    "put.after-commit",
    "the version committed (record and aliases), the unchanged-tree memo not yet saved: a re-put "
    "looks the files up in the stat cache and reports the same version",
)
COMMIT_AFTER_MANIFEST = declare(
    "commit.after-manifest",
    "the manifest stored, no version record: an unreferenced manifest (gc removes it); the re-run "
    "writes the same manifest and commits it",
)
COMMIT_AFTER_VERSION = declare(
    "commit.after-version-record",
    "vN.json created, custom aliases not yet moved: a complete version; the re-run finds it "
    "(identical content) and moves the aliases",
)
COMMIT_AFTER_ALIASES = declare(
    "commit.after-aliases",
    "the version and its aliases committed, the run not yet linked: the re-run reports the same "
    "version and links the run",
)


@dataclass(frozen=True)
class PutResult:
    """The outcome of a put / commit: the ``--json`` shape of CLI.md."""

    record: VersionRecord
    aliases: list[str]
    created: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.record.name,
            "type": self.record.type,
            "version": self.record.version,
            "digest": self.record.digest,
            "aliases": self.aliases,
            "created": self.created,
            "files": self.record.files,
            "size": self.record.size,
        }


@dataclass(frozen=True)
class VersionInfo:
    """A version with its aliases and (on demand) its manifest: what ``show`` prints."""

    record: VersionRecord
    aliases: list[str]
    manifest: Manifest | None = None

    def to_json(self, *, entries: bool = True) -> dict[str, Any]:
        from artctl.base.units import format_duration

        out = PutResult(self.record, self.aliases, False).to_json()
        del out["created"]
        out.update(
            {
                "metadata": self.record.metadata,
                "description": self.record.description,
                "ttl": format_duration(self.record.ttl),
                "state": self.record.status(),
                "tags": list(self.record.tags),
                "created_at": self.record.created_at,
                "logged_by": self.record.logged_by,
                "expires_at": self.record.expires_at.isoformat() if self.record.expires_at else None,
            }
        )
        if entries and self.manifest is not None:
            out["entries"] = [
                {"path": e.path, "size": e.size, "digest": e.digest, "ref": e.ref} for e in self.manifest
            ]
        return out


@dataclass(frozen=True)
class ArtifactSummary:
    """One row of ``artifact ls``."""

    name: str
    type: str
    versions: int
    latest: str | None
    size: int
    updated_at: str | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def parse_json_object(text: str | None, option: str, example: str) -> dict[str, Any] | None:
    """A JSON-object option (``--metadata``, ``--config``) → dict, or None when not given.

    One parser so every such option refuses the same things (invalid JSON, NaN/Infinity,
    anything but an object) with the same wording; ``example`` is shown in the error.
    """
    if text is None:
        return None
    import json

    from artctl.format.records import MAX_JSON_DEPTH, json_problem, reject_constant

    try:
        value = json.loads(text, parse_constant=reject_constant)
    except ValueError as exc:
        raise InvalidInput(f"{option} is not valid JSON: {exc}") from None
    except RecursionError:
        value = None
        problem: str | None = f"nested more than {MAX_JSON_DEPTH} levels deep"
    else:
        problem = json_problem(value)
    if problem:
        raise InvalidInput(f"{option} is not plain JSON: {problem}")
    if not isinstance(value, dict):
        raise InvalidInput(f"{option} must be a JSON object, e.g. '{example}'")
    return value


def parse_metadata(text: str | None) -> dict[str, Any] | None:
    """``--metadata`` JSON → dict; anything but a JSON object is a clear error."""
    return parse_json_object(text, "--metadata", '{"source": "mnist"}')


def check_metadata(metadata: Any) -> dict[str, Any] | None:
    """Metadata must be a JSON object of plain JSON values (no NaN, datetimes, numpy scalars):
    anything else failed deep inside the write, or was stored and broke every ``--json``."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise InvalidInput("metadata must be a dict (a JSON object)")
    from artctl.format.records import check_plain_json

    return check_plain_json(metadata, "metadata")


def ttl_seconds(ttl: str | timedelta | None) -> int | None:
    if ttl is None:
        return None
    delta = parse_duration(ttl) if isinstance(ttl, str) else ttl
    if not isinstance(delta, timedelta) or delta.total_seconds() <= 0:
        raise InvalidInput("TTL must be a positive duration")
    if delta.total_seconds() > MAX_DURATION_SECONDS:
        raise InvalidInput("TTL is too long: at most 1000 years")
    return int(delta.total_seconds())


class Repo:
    """An artctl repository, as the library sees it."""

    def __init__(self, path: str | os.PathLike[str] | Repository | None = None) -> None:
        if isinstance(path, Repository):
            self.repository = path
        else:
            self.repository = Repository.find(Path(path) if path is not None else None)

    @classmethod
    def init(cls, directory: str | os.PathLike[str] | None = None) -> tuple[Repo, bool]:
        repository, created = Repository.init(Path(directory) if directory is not None else None)
        return cls(repository), created

    def close(self) -> None:
        """Release the repository's open state (see :meth:`Repository.close`); usable again after."""
        self.repository.close()

    def __enter__(self) -> Repo:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def root(self) -> Path:
        return self.repository.root

    @property
    def registry(self):  # type: ignore[no-untyped-def]
        return self.repository.registry

    @property
    def store(self):  # type: ignore[no-untyped-def]
        return self.repository.store

    def workers(self) -> int:
        from artctl.ops.ingest import default_workers

        return self.repository.settings.workers or default_workers()

    def default_ttl(self, name: ArtifactName) -> int | None:
        return self.project_ttl(name.project)

    def project_ttl(self, project: str) -> int | None:
        """A project's default TTL in seconds: ``ttl.project.<P>``, else ``ttl.default``."""
        config = self.repository.config
        value = config.get(f"ttl.project.{project}") or config.get("ttl.default")
        return ttl_seconds(str(value)) if value else None

    # -- writing -----------------------------------------------------------------------------
    def collect(self, sources: Iterable[tuple[str | os.PathLike[str], str | None]]) -> list[SourceFile]:
        """Scan ``(local path, name in artifact)`` pairs into one list of source files."""
        sources = list(sources)
        if len(sources) == 1:
            return scan(*sources[0])  # already sorted by path, paths unique
        files: dict[str, SourceFile] = {}
        for local, prefix in sources:
            for f in scan(local, prefix):
                files[f.path] = f
        return [files[p] for p in sorted(files)]

    def store_files(self, files: Sequence[SourceFile], progress: Progress | None = None) -> list[Entry]:
        return ingest(files, self.store, self.repository.state, workers=self.workers(), progress=progress)

    def commit_manifest(
        self,
        name: ArtifactName,
        kind: str,
        manifest: Manifest,
        *,
        aliases: Sequence[str] = (),
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        ttl: str | timedelta | None = None,
        run_id: str | None = None,
        tags: Sequence[str] = (),
        base: str | None = None,
    ) -> PutResult:
        """Manifest → version record → aliases (the objects are already stored).

        ``base`` is the manifest a draft started from: its remote origin carries over to the
        new manifest when reference entries do (``Repository.inherited_origin``).
        """
        from artctl.base.writeguard import writing

        check_metadata(metadata)  # before the manifest is written
        with writing(self.repository.locks_dir):  # gc waits until the version record exists
            digest = self.repository.write_manifest(
                manifest, origin=self.repository.inherited_origin(manifest, base)
            )
            crash_point(COMMIT_AFTER_MANIFEST)
            return self.commit_digest(
                name,
                kind,
                digest,
                files=len(manifest),
                size=manifest.total_size,
                aliases=aliases,
                description=description,
                metadata=metadata,
                ttl=ttl,
                run_id=run_id,
                tags=tags,
            )

    def commit_digest(
        self,
        name: ArtifactName,
        kind: str,
        digest: str,
        *,
        files: int,
        size: int,
        aliases: Sequence[str] = (),
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        ttl: str | timedelta | None = None,
        run_id: str | None = None,
        tags: Sequence[str] = (),
    ) -> PutResult:
        """Version record → aliases → run link, for a manifest already stored.

        ``ttl=None`` inherits the project's default TTL; ``ttl="none"`` means no TTL at all.
        """
        from artctl.base.writeguard import writing

        check_metadata(metadata)
        if run_id:
            self.repository.runs.require_running(run_id)
        with writing(self.repository.locks_dir):  # gc waits until the version record exists
            seconds = (
                None if ttl == "none" else ttl_seconds(ttl) if ttl is not None else self.default_ttl(name)
            )
            if run_id:
                # Identical content resolves to an existing version: refuse a lineage cycle before
                # the registry moves any alias to it.
                same = [r for r in self.registry.versions(name) if r.manifest == digest]
                if same:
                    self.repository.runs.check_link(run_id, link_of(same[-1]), direction="output")
            record, created = self.registry.commit(
                name,
                kind,
                digest,
                files=files,
                size=size,
                description=description,
                metadata=metadata,
                ttl_seconds=seconds,
                aliases=list(aliases),
                logged_by=run_id,
                tags=list(tags),
                point=COMMIT_AFTER_VERSION,
            )
            crash_point(COMMIT_AFTER_ALIASES)
            if run_id:
                self.repository.runs.link(run_id, link_of(record), direction="output", new_version=created)
        return PutResult(record, self.registry.aliases_of(record), created)

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
    ) -> PutResult:
        """A new version from a file, a directory or a reference URI (``s3://…``).

        Identical content to a live version creates no new version; the aliases still move.
        """
        from artctl import references
        from artctl.base.writeguard import writing
        from artctl.ops.cache import shared_use
        from artctl.ops.gc import discard_on_failure

        artifact = parse_name(name)
        check_type(self, artifact, type)
        check_metadata(metadata)  # before any file is read or stored
        if run_id:
            self.repository.runs.require_running(run_id)
        if ttl is not None:
            ttl_seconds(ttl)
        commit = dict(
            aliases=aliases, description=description, metadata=metadata, ttl=ttl, run_id=run_id, tags=tags
        )
        # Shared cache lock: an object this put deduplicates against is not evicted before the
        # version that needs it is committed (docs/cache.md). gc writer guard: gc deletes
        # nothing while this put is in flight (docs/gc.md). If the put fails, what it stored and
        # nothing references is removed at once (after both are released).
        with (
            discard_on_failure(self),
            shared_use(self.repository.locks_dir),
            writing(self.repository.locks_dir),
        ):
            if references.is_uri(str(path)):
                entries = list(
                    references.entries_for(str(path), None, checksum=checksum, max_objects=max_objects)
                )
                return self.commit_manifest(artifact, type, Manifest.from_entries(entries), **commit)
            files = self.collect([(path, None)])
            if not files:
                raise InvalidInput(f"{path} contains no files")
            total = sum(f.size for f in files)
            announce_total(progress, len(files), total)
            signature = tree_signature(files)
            reused = self._unchanged_tree(artifact, signature, files)
            if reused is not None:
                return self.commit_digest(artifact, type, reused, files=len(files), size=total, **commit)
            entries = self.store_files(files, progress)
            crash_point(PUT_AFTER_OBJECTS)
            del files  # a million scanned files weigh hundreds of MB: not kept while committing
            manifest = Manifest.from_entries(entries, validated=True)
            del entries
            result = self.commit_manifest(artifact, type, manifest, **commit)
        crash_point(PUT_AFTER_COMMIT)
        if signature is not None:
            self.repository.state.remember_tree(signature, result.record.manifest)
        if os.path.isdir(path):  # the directory now holds that version: `artctl status` there
            from artctl.ops.workdirs import remember

            remember(self, Path(path), result.record)
        return result

    def _unchanged_tree(
        self, name: ArtifactName, signature: str | None, files: Sequence[SourceFile]
    ) -> str | None:
        """The manifest of a live version made from exactly these files, unchanged since.

        The version's blobs are checked too, without re-hashing anything: after
        ``verify --repair`` moved a corrupt object aside (or a cache cleanup evicted it),
        putting the same files again must store it again, not report ``unchanged``.
        """
        if signature is None:
            return None
        digest = self.repository.state.tree_manifest(signature)
        if digest is None:
            return None
        live = {r.manifest for r in self.registry.versions(name)}
        if digest not in live or not self.repository.manifest_path(digest).exists():
            return None
        return digest if self._blobs_present(digest, files) else None

    def _blobs_present(self, manifest: str, files: Sequence[SourceFile]) -> bool:
        """Whether every blob of ``manifest`` is stored, after re-storing missing ones from
        ``files`` (only those files are read); False if one of them no longer matches.

        Cheap on a repeated re-put: the packs and loose objects that held the blobs last time
        are remembered, and if all of those files still exist, so do the blobs (packs are
        immutable: a repack writes a pack under a new name). Otherwise one placement query.
        """
        state = self.repository.state
        known = state.tree_placement(manifest)
        if known is not None:
            packs, loose = known
            if self.store.all_exist(packs, loose):
                return True
        wanted = {e.path: e.digest for e in self.repository.iter_manifest(manifest) if e.digest is not None}
        where = self.store.placement(set(wanted.values()))
        if where.absent:
            lacking = [f for f in files if wanted.get(f.path) in where.absent]
            if {wanted[f.path] for f in lacking} != where.absent:
                return False
            restored = self.store_files(lacking)
            return all(e.digest == wanted.get(e.path) for e in restored)
        if len(where.loose) <= PLACEMENT_MAX_LOOSE:
            state.remember_tree_placement(manifest, where.packs, where.loose)
        return True

    # -- reading -----------------------------------------------------------------------------
    def resolve(self, ref: str | ArtifactRef, *, include_deleted: bool = False) -> VersionRecord:
        parsed = parse_ref(ref) if isinstance(ref, str) else ref
        return self.registry.resolve(parsed, include_deleted=include_deleted)

    def manifest(self, record: VersionRecord) -> Manifest:
        return self.repository.read_manifest(record.manifest)

    def show(
        self, ref: str | ArtifactRef, *, include_deleted: bool = False, load_manifest: bool = True
    ) -> VersionInfo:
        """A version, its aliases and (unless ``load_manifest=False``) its manifest.

        Without the manifest, stream the files with :meth:`iter_entries`: that is how a
        version of a million files is shown in bounded memory.
        """
        record = self.resolve(ref, include_deleted=include_deleted)
        if not load_manifest or self.files_dropped(record):
            return VersionInfo(record, self.registry.aliases_of(record), None)
        return VersionInfo(record, self.registry.aliases_of(record), self.manifest(record))

    def files_dropped(self, record: VersionRecord) -> bool:
        """True when gc has removed this (deleted or expired) version's manifest and files."""
        return bool(record.purged_at) and not self.repository.manifest_path(record.manifest).exists()

    def iter_entries(self, record: VersionRecord) -> Iterator[Entry]:
        """The version's files sorted by path, streamed (bounded memory, any size)."""
        return self.repository.iter_manifest(record.manifest)

    def default_root(self, record: VersionRecord) -> Path:
        return Path("artifacts") / f"{parse_name(record.name).name}:{record.version}"

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

        References of a version pulled from a remote are checked before anything is written
        (``references/trust.py``); ``allow_local_refs`` overrides ``references.allow_local``.
        ``allow_missing_references`` skips reference entries whose data cannot be fetched
        (gone or changed) instead of failing, as W&B's ``download(allow_missing_references=True)``.
        """
        record = self.resolve(ref)
        if run_id:
            self.repository.runs.require_running(run_id)
        if path_prefix:  # stream: only the selected entries are held, checked as a set
            entries = [e for e in self.iter_entries(record) if e.path.startswith(path_prefix)]
            Manifest.from_entries(entries, validated=True).check_collisions()
        else:
            entries = select(self.manifest(record), None)
        if path_prefix and not entries:
            raise ArtifactNotFound(f"no file of {record.name}:{record.version} starts with {path_prefix!r}")
        self.check_references(record, entries, allow_local_refs)
        target = Path(root) if root is not None else self.default_root(record)
        announce_total(progress, len(entries), sum(e.size for e in entries))  # the selection's
        result = self.materialize(
            entries, target, link=link, progress=progress, allow_missing_references=allow_missing_references
        )
        if not path_prefix:  # the whole version: `artctl status` in that directory compares with it
            from artctl.ops.workdirs import remember

            remember(self, result.root, record)
        if run_id:
            self.repository.runs.link(run_id, link_of(record), direction="input")
        return result

    def materialize(
        self,
        entries: list[Entry],
        target: Path,
        *,
        link: str | None = None,
        progress: Progress | None = None,
        allow_missing_references: bool = False,
    ) -> CheckoutResult:
        """Write ``entries`` under ``target`` from the store, fetching what it lacks (remotes,
        references): the one writer of working files, for ``get`` and ``artifact checkout``."""
        mode = link or self.repository.settings.link
        from artctl.ops.cache import record_get, shared_use

        with shared_use(self.repository.locks_dir):  # no cache eviction while we read objects
            from artctl.ops.sources import prefetch

            where = self.store.placement({e.digest for e in entries if e.digest is not None}, locations=True)
            missing = [e for e in entries if e.digest in where.absent and e.ref is None]
            if missing:
                prefetch(self, missing)
                where = where.updated(self.store.placement({e.digest for e in missing}, locations=True))
            result = checkout(
                entries,
                target,
                self.store,
                link=mode,
                fetch=self.fetcher(),
                where=where,
                workers=self.workers(),
                progress=progress,
                optional=(lambda e: e.ref is not None) if allow_missing_references else None,
            )
        record_get(self.repository, entries)  # LRU bookkeeping: one batched write
        return result

    def check_references(self, record: VersionRecord, entries: list[Entry], allow_local: bool | None) -> None:
        """Refuse a pulled version's references that could read this machine (see trust.py)."""
        if not any(e.ref is not None for e in entries):
            return
        from artctl.references.trust import check_followable

        if allow_local is None:
            allow_local = self.repository.settings.allow_local_references
        check_followable(
            entries,
            self.repository.manifest_origin(record.manifest),
            allow_local=allow_local,
            what=f"{record.name}:{record.version}",
        )

    def fetcher(self):  # type: ignore[no-untyped-def]
        """How to obtain bytes the local store lacks (references, remotes): see ``sources``."""
        from artctl.ops.sources import make_fetcher

        return make_fetcher(self)

    def list_artifacts(self, project: str | None = None, type: str | None = None) -> list[ArtifactSummary]:
        out = []
        for artifact in self.registry.iter_artifacts(project, type):
            name = parse_name(artifact.name)
            versions = self.registry.versions(name)
            if not versions:
                continue  # every version deleted or expired (`artifact rm NAME --all`)
            latest = versions[-1] if versions else None
            out.append(
                ArtifactSummary(
                    artifact.name,
                    artifact.type,
                    len(versions),
                    latest.version if latest else None,
                    latest.size if latest else 0,
                    latest.created_at if latest else None,
                )
            )
        return out

    def versions(self, name: str | ArtifactName, *, include_deleted: bool = False) -> list[VersionInfo]:
        artifact = parse_name(name) if isinstance(name, str) else name
        self.registry.require_artifact(artifact)
        records = self.registry.versions(artifact, include_deleted=include_deleted)
        latest = self.registry.latest(artifact)
        return [VersionInfo(r, self.registry.aliases_of(r, latest=latest)) for r in records]

    def diff(self, old: str | ArtifactRef, new: str | ArtifactRef) -> ManifestDiff:
        return diff_sorted(self.iter_entries(self.resolve(old)), self.iter_entries(self.resolve(new)))

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
        parsed = parse_ref(ref) if isinstance(ref, str) else ref
        if metadata is not ...:
            check_metadata(metadata)
        seconds: Any = ...
        if ttl is not ...:
            seconds = None if ttl in (None, "none") else ttl_seconds(ttl)
        record = self.registry.update(
            parsed,
            description=description,
            metadata=metadata,
            ttl_seconds=seconds,
            tags=tags,
            add_tags=list(add_tags),
            remove_tags=list(remove_tags),
        )
        return VersionInfo(record, self.registry.aliases_of(record))

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


def check_type(repo: Repo, name: ArtifactName, kind: str) -> None:
    """Fail before any work when the name is taken by another type."""
    from artctl.errors import Conflict
    from artctl.format.names import validate_type

    validate_type(kind)
    existing = repo.registry.artifact(name)
    if existing is not None and existing.type != kind:
        raise Conflict(
            f"artifact {name} already exists with type {existing.type!r}, not {kind!r}",
            hint="names are unique within a project whatever the type; choose another name",
        )


#: The type of a new artifact when none is given (``wandb artifact put``'s default).
DEFAULT_TYPE = "dataset"


def type_for(repo: Repo, name: str, kind: str | None) -> str:
    """``kind``, else the existing artifact's type (a new version of a model stays a model),
    else :data:`DEFAULT_TYPE`."""
    if kind is not None:
        return kind
    existing = repo.registry.artifact(parse_name(name))
    return existing.type if existing is not None else DEFAULT_TYPE


def link_of(record: VersionRecord) -> VersionLink:
    return VersionLink(record.name, record.version, record.digest, record.type)
