"""W&B-style queries over a repository: ``artctl.Api()``."""

from __future__ import annotations

import os

from artctl.api.artifact import Artifact
from artctl.api.collection import ArtifactCollection, ArtifactType, collections, types
from artctl.api.repo import Repo
from artctl.api.run import Run
from artctl.errors import ArtctlError, ArtifactNotFound, InvalidInput, RunError
from artctl.format.names import parse_name, parse_ref


class Api:
    """Queries over a repository, like ``wandb.Api()``.

    Outside any repository one is created as ``./.artifacts`` (see :mod:`artctl.api.workspace`).
    """

    def __init__(
        self, overrides: dict[str, str] | None = None, *, dir: str | os.PathLike[str] | None = None
    ) -> None:
        from artctl.api.workspace import open_repo

        self._repo = open_repo(dir)
        self.project = (overrides or {}).get("project") or os.environ.get("ARTCTL_PROJECT") or None

    @property
    def repo(self) -> Repo:
        return self._repo

    def artifact(self, name: str, type: str | None = None) -> Artifact:
        """A saved version by ``project/name:alias`` (``latest`` when no alias is given)."""
        record = self._repo.resolve(parse_ref(name, self.project))
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
        found = ArtifactCollection(self._repo, parse_name(name, self.project), Artifact)
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
        return collections(self._repo, project_name or self.project, type_name, Artifact)

    def artifact_type(self, type_name: str, project: str | None = None) -> ArtifactType:
        """One type of a project, listing its collections."""
        return ArtifactType(self._repo, type_name, project or self.project, Artifact)

    def artifact_types(self, project: str | None = None) -> list[ArtifactType]:
        """The types used by a project's collections."""
        return types(self._repo, project or self.project, Artifact)

    def run(self, path: str) -> Run:
        """A run by id, or by ``project/id`` / ``entity/project/id`` as W&B writes it."""
        *scope, run_id = path.split("/")
        record = self._repo.runs.get(run_id)
        if len(scope) > 2 or scope and record.project not in (None, scope[-1]):
            raise RunError(
                f"run {path!r} not found", hint=f"run {run_id} belongs to project {record.project!r}"
            )
        return Run(self._repo, record.id, record.project, Artifact)

    def runs(self) -> list[Run]:
        return [Run(self._repo, r.id, r.project, Artifact) for r in self._repo.runs.list()]
