"""W&B-style queries over a repository: ``artctl.Api()``."""

from __future__ import annotations

import os
from dataclasses import dataclass

from artctl.api.artifact import Artifact
from artctl.api.collection import ArtifactCollection, ArtifactType, collections, types
from artctl.api.repo import Repo
from artctl.api.run import Run
from artctl.errors import ArtctlError, ArtifactNotFound, InvalidInput, RunError
from artctl.format.names import UNCATEGORIZED, NameScope, check_entity, parse_name, parse_project, parse_ref


class Api:
    """Queries over a repository, like ``wandb.Api()``.

    Outside any repository one is created as ``./.artifacts`` (see :mod:`artctl.api.workspace`).
    ``repo=`` queries another repository or a remote itself: ``Api(repo="s3://bucket/team")``,
    ``Api(repo="origin")`` (see :meth:`Repo.open`).
    """

    def __init__(
        self,
        overrides: dict[str, str] | None = None,
        *,
        dir: str | os.PathLike[str] | None = None,
        repo: str | os.PathLike[str] | None = None,
    ) -> None:
        from artctl.api.workspace import open_repo

        self._repo = Repo.open(repo) if repo is not None else open_repo(dir)
        overrides = overrides or {}
        base = self._repo.names  # core.entity; ARTCTL_PROJECT, else core.project
        if overrides.get("entity"):
            check_entity(overrides["entity"], base)  # another owner's entity: an error naming both
        project = overrides.get("project")
        chosen = base.with_defaults(
            overrides.get("entity"), parse_project(project, base) if project else None
        )
        #: The project listings default to (runs, collections, types): None lists every project.
        self.project = chosen.project
        self.entity = chosen.entity
        #: What short artifact paths mean here: a path without a project is read in the default
        #: project, else W&B's ``uncategorized`` (as ``wandb.Api``'s ``_parse_artifact_path``).
        self.names = NameScope(chosen.entity, chosen.project or UNCATEGORIZED)

    @property
    def repo(self) -> Repo:
        return self._repo

    def artifact(self, name: str, type: str | None = None) -> Artifact:
        """A saved version by ``project/name:alias`` (``latest`` when no alias is given)."""
        record = self._repo.resolve(parse_ref(name, self.names))
        if type is not None and record.type != type:
            raise InvalidInput(f"{record.name} has type {record.type!r}, not {type!r}")
        return Artifact._from_record(self._repo, record)

    def artifact_versions(self, type_name: str, name: str) -> list[Artifact]:
        """Every live version of an artifact, oldest first."""
        return self.artifact_collection(type_name, name).versions()

    artifacts = artifact_versions

    def artifact_exists(self, name: str, type: str | None = None) -> bool:
        """Whether ``project/name[:alias]`` names a live version (of ``type``, when given)."""
        try:
            self.artifact(name, type)
        except ArtctlError:
            return False
        return True

    def artifact_collection(
        self,
        type_name: str | None = None,
        name: str | None = None,
        *,
        type: str | None = None,
        collection: str | None = None,
    ) -> ArtifactCollection:
        """One artifact name with its versions: ``api.artifact_collection("dataset", "proj/mnist")``.

        ``type=``/``collection=`` are the keywords the W&B guide writes for the same arguments.
        """
        type_name, name = type_name or type, name or collection
        if not type_name or not name:
            raise InvalidInput("artifact_collection needs a type and a name, e.g. ('dataset', 'proj/mnist')")
        found = ArtifactCollection(self._repo, parse_name(name, self.names), Artifact)
        if found.type != type_name:
            raise ArtifactNotFound(
                f"artifact {found.qualified_name} has type {found.type!r}, not {type_name!r}"
            )
        return found

    def artifact_collection_exists(self, name: str, type: str) -> bool:
        """Whether a collection of that name and type has a live version."""
        try:
            return bool(self.artifact_collection(type, name).versions())
        except ArtctlError:
            return False

    def artifact_collections(
        self, project_name: str | None = None, type_name: str | None = None
    ) -> list[ArtifactCollection]:
        """The collections of a project (of one type, when given) that have a live version."""
        return collections(self._repo, self._project(project_name), type_name, Artifact)

    def artifact_type(self, type_name: str, project: str | None = None) -> ArtifactType:
        """One type of a project, listing its collections."""
        return ArtifactType(self._repo, type_name, self._project(project), Artifact)

    def artifact_types(self, project: str | None = None) -> list[ArtifactType]:
        """The types used by a project's collections."""
        return types(self._repo, self._project(project), Artifact)

    def _project(self, path: str | None) -> str | None:
        """``[entity/]project`` → project (the entity checked), else the default project."""
        return parse_project(path, self.names) if path else self.project

    def run(self, path: str) -> Run:
        """A run by id, or by ``project/id`` / ``entity/project/id`` as W&B writes it."""
        *scope, run_id = path.split("/")
        if len(scope) > 2:
            raise RunError(f"invalid run path {path!r}: write [[entity/]project/]run_id")
        project = parse_project("/".join(scope), self.names) if scope else None
        record = self._repo.runs.get(run_id)
        if project is not None and record.project not in (None, project):
            raise RunError(
                f"run {path!r} not found", hint=f"run {run_id} belongs to project {record.project!r}"
            )
        return Run(self._repo, record.id, record.project, Artifact)

    def runs(self, path: str | None = None, filters: dict[str, object] | None = None) -> list[Run]:
        """The runs of ``[entity/]project`` (default: the default project, else every run),
        oldest first; ``filters`` selects by record fields (``{"job_type": "train"}``)."""
        project = self._project(path)
        out = []
        for record in self._repo.runs.list():
            if project is not None and record.project != project:
                continue
            if filters and any(getattr(record, k, None) != v for k, v in filters.items()):
                continue
            out.append(Run(self._repo, record.id, record.project, Artifact))
        return out

    def projects(self, entity: str | None = None) -> list[Project]:
        """Every project of this repository's entity: those holding an artifact or a run."""
        if entity:
            check_entity(entity, self.names)
        names = {parse_name(a.name).project for a in self._repo.registry.iter_artifacts()}
        names |= {r.project for r in self._repo.runs.list() if r.project}
        return [Project(name, entity or self.entity) for name in sorted(names)]


@dataclass(frozen=True)
class Project:
    """A project: a namespace of artifact names and runs (W&B's ``public.Project``)."""

    name: str
    entity: str | None = None

    @property
    def path(self) -> list[str]:
        return [p for p in (self.entity, self.name) if p]
