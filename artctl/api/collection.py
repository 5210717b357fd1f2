"""W&B's ``ArtifactCollection`` and ``ArtifactType``: an artifact's versions as one object.

A collection is one artifact name (``proj/mnist``) with its own description and tags, the
aliases its versions hold, and its versions (oldest first, like ``Api.artifact_versions``).
A type groups the collections of a project that share it (``dataset``, ``model``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from artctl.api.artifact_fields import validate_tags
from artctl.errors import ArtifactNotFound, InvalidInput
from artctl.format.names import LATEST, ArtifactName, parse_name

if TYPE_CHECKING:
    from artctl.api.artifact import Artifact
    from artctl.api.repo import Repo
    from artctl.ops.alias_log import AliasEvent


class ArtifactCollection:
    """One artifact name and its versions, like ``wandb.apis.public.ArtifactCollection``."""

    def __init__(self, repo: Repo, name: ArtifactName, artifact_class: type[Artifact]) -> None:
        record = repo.registry.holder(name)
        if record is None:  # never created, or deleted as a whole (its name is free again)
            raise ArtifactNotFound(f"artifact collection {name} not found")
        self._repo = repo
        self._name = name
        #: The class of the versions it returns (``artctl.Artifact``, which sits above).
        self._artifact_class = artifact_class
        self.type = record.type
        self.created_at = record.created_at
        self.description = record.description
        self.tags = list(record.tags)
        self.name = name.name

    @property
    def project(self) -> str:
        return self._name.project

    @property
    def entity(self) -> str | None:
        """The repository's entity (``core.entity``), None when unset."""
        return self._repo.names.entity

    @property
    def qualified_name(self) -> str:
        """``[entity/]project/name``: how the CLI and ``Api.artifact`` name the collection."""
        return str(self._name)

    @property
    def aliases(self) -> list[str]:
        """Every alias its live versions hold: ``latest`` (if any is live), then custom ones."""
        registry = self._repo.registry
        head = [LATEST] if registry.latest(self._name) is not None else []
        return head + sorted(registry.aliases(self._name))

    def alias_log(self, alias: str | None = None, *, limit: int | None = None) -> list[AliasEvent]:
        """Who set, moved or removed its custom aliases (``alias`` only, if given), newest first."""
        return self._repo.alias_log(self._name, alias, limit=limit)

    def versions(self) -> list[Artifact]:
        """Its live versions, oldest first."""
        versions = self._repo.registry.versions(self._name)
        return [self._artifact_class._from_record(self._repo, r) for r in versions]

    artifacts = versions

    def is_sequence(self) -> bool:
        """False for a registry collection (W&B's portfolio: its versions are links)."""
        return not self._repo.registry.require_artifact(self._name).portfolio

    def save(self) -> ArtifactCollection:
        """Persist the edited name, description and tags. A new ``name`` renames the collection
        (every version, alias and run link, as ``artctl artifact rename``); a name without a
        project stays in this one."""
        with self._repo.published():
            return self._save()

    def _save(self) -> ArtifactCollection:
        if self.name != self._name.name:
            from artctl.ops.lifecycle import rename_artifact

            if getattr(self._repo, "mirror", None) is not None:
                raise InvalidInput(
                    f"cannot rename {self._name} on a remote: a rename stays in one repository",
                    hint="rename it in a clone (`artctl artifact rename`)",
                )

            if not isinstance(self.name, str):
                raise InvalidInput(f"a collection's name must be a string, not {self.name!r}")
            self._name = parse_name(rename_artifact(self._repo, self._name, self.name).new)
            self.name = self._name.name
        record = self._repo.registry.update_artifact(
            self._name, description=self.description, tags=validate_tags(self.tags)
        )
        self.description, self.tags = record.description, list(record.tags)
        return self

    def delete(self) -> None:
        """Soft-delete every version and drop every alias, as W&B's ``collection.delete()``."""
        from artctl.ops.lifecycle import delete_artifact

        with self._repo.published():
            delete_artifact(self._repo, self._name)

    def __repr__(self) -> str:
        return f"<ArtifactCollection {self._name} ({self.type})>"


class ArtifactType:
    """The collections of one type in one project, like ``wandb.apis.public.ArtifactType``."""

    def __init__(self, repo: Repo, name: str, project: str | None, artifact_class: type[Artifact]) -> None:
        self._repo = repo
        self.name = name
        self.project = project
        self._artifact_class = artifact_class

    def collections(self) -> list[ArtifactCollection]:
        """Its collections that have a live version, sorted by name."""
        return collections(self._repo, self.project, self.name, self._artifact_class)

    def collection(self, name: str) -> ArtifactCollection:
        found = ArtifactCollection(
            self._repo,
            parse_name(name, self._repo.names.with_defaults(project=self.project)),
            self._artifact_class,
        )
        if found.type != self.name:
            raise ArtifactNotFound(
                f"artifact {found.qualified_name} has type {found.type!r}, not {self.name!r}"
            )
        return found

    def __repr__(self) -> str:
        return f"<ArtifactType {self.name}>"


def collections(
    repo: Repo, project: str | None, kind: str | None, artifact_class: type[Artifact]
) -> list[ArtifactCollection]:
    """Collections with at least one live version (of a project and type, when given)."""
    out = []
    for record in repo.registry.iter_artifacts(project, kind):
        name = parse_name(record.name)
        if repo.registry.latest(name) is not None:
            out.append(ArtifactCollection(repo, name, artifact_class))
    return out


def types(repo: Repo, project: str | None, artifact_class: type[Artifact]) -> list[ArtifactType]:
    """The types used by the live collections of a project (every project when None)."""
    kinds = sorted({c.type for c in collections(repo, project, None, artifact_class)})
    return [ArtifactType(repo, kind, project, artifact_class) for kind in kinds]
