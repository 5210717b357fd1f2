"""W&B-style queries over a repository: ``artctl.Api()``."""

from __future__ import annotations

import os

from .artifact_api import Artifact
from .errors import ArtctlError, InvalidInput
from .names import parse_name, parse_ref
from .repository_ops import Repo
from .run_api import Run


class Api:
    """Queries over a repository, like ``wandb.Api()``."""

    def __init__(self, overrides: dict[str, str] | None = None, *, dir: str | os.PathLike[str] | None = None) -> None:
        self._repo = Repo(dir)
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
        artifact = parse_name(name, self.project)
        record = self._repo.registry.require_artifact(artifact)
        if record.type != type_name:
            raise InvalidInput(f"{artifact} has type {record.type!r}, not {type_name!r}")
        return [Artifact._from_record(self._repo, r) for r in self._repo.registry.versions(artifact)]

    artifacts = artifact_versions

    def artifact_exists(self, name: str) -> bool:
        try:
            self.artifact(name)
        except ArtctlError:
            return False
        return True

    def run(self, run_id: str) -> Run:
        record = self._repo.repository.runs.get(run_id)
        return Run(self._repo, record.id, record.project)

    def runs(self) -> list[Run]:
        return [Run(self._repo, r.id, r.project) for r in self._repo.repository.runs.list()]
