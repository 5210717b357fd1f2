"""W&B-style artifacts: ``artctl.Artifact``.

An ``Artifact`` is either *staged* (a draft: built in memory, not yet saved) or *saved* (bound
to one version of the repository). Names mean what they mean in W&B: a saved version's
``name`` is ``"mnist:v3"`` (the full path is ``qualified_name``), its ``aliases`` are
``latest`` and custom aliases (``version`` holds ``v3``). Building content lives in
``staging``, committing it (and a saved version's edits) in ``artifact_saving``, local files
(``get_path``, ``verify``, ``checkout``) in ``artifact_files``, the registry (``source_*``,
``link``) in ``artifact_links``, lineage (``logged_by``, ``used_by``) in ``artifact_lineage``;
the editable fields' types are ``artifact_fields``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from artctl.api.artifact_fields import AliasList, ArtifactTTL, validate_tags
from artctl.api.artifact_files import ArtifactPath, LocalFiles
from artctl.api.artifact_lineage import Lineage
from artctl.api.artifact_links import RegistryLinks
from artctl.api.artifact_saving import Saving
from artctl.api.collection import ArtifactCollection
from artctl.api.repo import Repo
from artctl.api.run import active_run, start_run
from artctl.api.staging import Staging
from artctl.errors import ArtctlError, InvalidInput, LinkError
from artctl.format.names import LATEST, parse_name, validate_type
from artctl.format.records import VersionRecord

__all__ = ["Artifact", "ArtifactPath", "ArtifactTTL"]


class Artifact(Staging, Saving, LocalFiles, RegistryLinks, Lineage):
    """A versioned set of files, like ``wandb.Artifact``."""

    def __init__(
        self,
        name: str,
        type: str,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        incremental: bool = False,
        *,
        ttl: timedelta | ArtifactTTL | None = ArtifactTTL.INHERIT,
        tags: Sequence[str] | None = None,
    ) -> None:
        if not isinstance(name, str) or ":" in name:
            raise InvalidInput(f"artifact name {name!r} must not contain an alias; pass aliases when logging")
        validate_type(type)
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidInput("metadata must be a dict")
        self._name = name
        self.type = type
        self.description = description
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.ttl = ttl
        self.tags = list(tags or [])
        self.incremental = incremental
        self._init_staging()
        self._record: VersionRecord | None = None
        self._repository: Repo | None = None
        self._aliases = AliasList(is_latest=True)  # a new version will be the newest
        self._use_run: str | None = None

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def _from_record(cls, repo: Repo, record: VersionRecord) -> Artifact:
        art = cls.__new__(cls)
        art.type = record.type
        art.incremental = False
        art._init_staging()
        art._use_run = None
        art._bind(repo, record)
        return art

    def _bind(self, repo: Repo, record: VersionRecord) -> None:
        """Become the saved version ``record``: every editable field is reloaded from it."""
        self._repository = repo
        self._record = record
        self._name = record.name
        self.description = record.description
        self.metadata = dict(record.metadata)
        self._ttl: timedelta | ArtifactTTL | None = record.ttl
        self._tags = list(record.tags)
        held = [a for a in repo.registry.aliases_of(record) if a != record.version]
        self._aliases = AliasList(held, is_latest=LATEST in held)

    def _saved(self) -> VersionRecord:
        if self._record is None:
            raise ArtctlError(
                f"artifact {self._name} is not saved yet; log it with run.log_artifact() "
                "or artifact.save() first"
            )
        return self._record

    def _repo(self) -> Repo:
        if self._repository is None:
            from artctl.api.workspace import open_repo

            self._repository = open_repo()
        return self._repository

    def _artifact_of(self, repo: Repo, record: VersionRecord) -> Artifact:
        """Another saved version as an ``Artifact`` (a link's source, a collection's link)."""
        return Artifact._from_record(repo, record)

    def _ref(self) -> str:
        record = self._saved()
        return f"{record.name}:{record.version}"

    def _default_root(self) -> Path:
        return self._repo().default_root(self._saved())

    # -- W&B's fields -------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """``"mnist:v3"`` for a saved version (as W&B); the name given, for a draft."""
        if self._record is None:
            return self._name
        return f"{parse_name(self._record.name).name}:{self._record.version}"

    @name.setter
    def name(self, value: str) -> None:
        if self._record is not None:
            raise InvalidInput(f"{self._ref()} is saved; its name cannot change")
        if not isinstance(value, str) or ":" in value:
            raise InvalidInput(f"artifact name {value!r} must not contain an alias")
        self._name = value

    @property
    def aliases(self) -> AliasList:
        """``latest`` (while this is the newest version) and custom aliases; never ``vN``."""
        return self._aliases

    @aliases.setter
    def aliases(self, value: Sequence[str]) -> None:
        if isinstance(value, str):
            raise InvalidInput("aliases must be a list of strings, e.g. ['best']")
        self._aliases = AliasList(value, is_latest=self._aliases.is_latest)

    @property
    def tags(self) -> list[str]:
        return self._tags

    @tags.setter
    def tags(self, value: Sequence[str]) -> None:
        self._tags = validate_tags(value)

    @property
    def ttl(self) -> timedelta | ArtifactTTL | None:
        """A ``timedelta``, ``None`` (no TTL) or, before logging, ``ArtifactTTL.INHERIT``."""
        return self._ttl

    @ttl.setter
    def ttl(self, value: timedelta | ArtifactTTL | None) -> None:
        if value is not None and not isinstance(value, (timedelta, ArtifactTTL)):
            raise InvalidInput(f"ttl must be a timedelta, None or ArtifactTTL.INHERIT, not {value!r}")
        record = getattr(self, "_record", None)  # unset while __init__ runs
        if record is not None and record.link is not None:
            raise LinkError(
                f"cannot set a TTL on {self._ref()}: it is linked to {record.link}",
                hint="unlink it first, then set the TTL of the source artifact",
            )
        self._ttl = value

    def is_draft(self) -> bool:
        """True until the artifact is saved as a version."""
        return self._record is None

    @property
    def is_saved(self) -> bool:
        return self._record is not None

    @property
    def id(self) -> str | None:
        """A stable identifier of this version (None for a draft), unique in the repository."""
        if self._record is None:
            return None
        from artctl.base.hashing import hash_bytes

        return hash_bytes(f"{self._record.name}:{self._record.version}:{self._record.digest}".encode())[:32]

    @property
    def version(self) -> str:
        return self._saved().version

    @property
    def digest(self) -> str:
        return self._saved().digest

    @property
    def qualified_name(self) -> str:
        """``[entity/]project/name:vN``: the full reference of this version."""
        return self._ref()

    @property
    def collection(self) -> ArtifactCollection:
        """The collection (every version of this name) this version belongs to."""
        return ArtifactCollection(self._repo(), parse_name(self._saved().name), type(self))

    @property
    def state(self) -> str:
        """W&B's values: ``PENDING`` (not logged yet), ``COMMITTED``, or ``DELETED`` — deleted,
        or past its TTL (W&B soft-deletes an expired version)."""
        if self._record is None:
            return "PENDING"
        return "COMMITTED" if self._record.live() else "DELETED"

    @property
    def size(self) -> int:
        return self._saved().size

    @property
    def file_count(self) -> int:
        return self._saved().files

    @property
    def created_at(self) -> str:
        return self._saved().created_at

    @property
    def updated_at(self) -> str:
        """When a field (description, metadata, TTL, tags) last changed; else ``created_at``."""
        record = self._saved()
        return record.updated_at or record.created_at

    @property
    def project(self) -> str:
        """The project part of the name (W&B's ``artifact.project``)."""
        return parse_name(self._name).project

    @property
    def entity(self) -> str | None:
        """The repository's entity, ``core.entity`` (W&B's ``artifact.entity``); None when unset.
        An entity is the owner of the repository's projects, not part of an artifact's name.
        A draft not yet bound to a repository has none (asking must not create one)."""
        if self._repository is None and self._record is None:
            return None
        return self._repo().repository.names.entity

    def wait(self, timeout: int | None = None) -> Artifact:
        """Logging is synchronous here: a saved artifact is ready; a draft was never logged."""
        self._saved()
        return self

    # -- saving -------------------------------------------------------------------------------------
    def save(self, project: str | None = None, settings: Any = None) -> Artifact:
        """Log a draft as a version, or persist a saved version's edited fields and aliases.

        As in W&B, a draft saved inside an active run (``artctl.init()``) is logged by that run;
        outside one, a run of job type ``auto`` is created to log it, in ``project``, else the
        default project, else ``uncategorized`` (``artctl.init``'s rule: a bare name needs no
        set-up).
        """
        if self._record is None:
            run = active_run()
            if run is not None and (self._repository is None or self._repository.root == run.repo.root):
                run.log_artifact(self)
                return self
            names = self._repo().names
            name = self._check_committable(self._repo(), names.run_project(project))
            with (
                self._repo().published(),
                start_run(
                    self._repo(), artifact_class=type(self), project=name.project, job_type="auto"
                ) as auto,
            ):
                auto.log_artifact(self)
            return self
        with self._repo().published():
            self._save_fields()
        return self

    def new_draft(self) -> Artifact:
        """A draft based on this saved version: add/remove files, then save or log it.

        Only the files you add are read; the base contributes its manifest. (For a draft that
        outlives the process, use ``artctl draft`` / :class:`artctl.ops.drafts.Drafts`.) A draft
        of a registry link is based on its source and saved to the source's collection (W&B).
        """
        record = self.source_artifact._saved()
        draft = Artifact(
            record.name,
            record.type,
            record.description,
            dict(record.metadata),
            ttl=record.ttl,
            tags=record.tags,
        )
        draft._repository = self._repo()
        draft._base = record
        return draft

    def delete(self, delete_aliases: bool = False) -> None:
        """Soft-delete this version (its bytes go at the next ``artctl gc``).

        Refused while it holds custom aliases unless ``delete_aliases=True``.
        """
        from artctl.ops.lifecycle import delete_version

        record = self._saved()
        repo = self._repo()
        with repo.published():
            delete_version(repo, f"{record.name}:{record.version}", delete_aliases=delete_aliases)
        self._record = repo.resolve(f"{record.name}:{record.version}", include_deleted=True)
        self._aliases = AliasList()

    def __repr__(self) -> str:
        if self._record is None:
            return f"<Artifact {self._name} ({self.type}, draft)>"
        return f"<Artifact {self._ref()} ({self.type})>"
