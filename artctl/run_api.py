"""W&B-style runs: ``artctl.init()`` returns a ``Run`` that uses and logs artifact versions."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .artifact_api import Artifact, _is_version
from .errors import InvalidInput
from .names import LATEST, parse_name, parse_ref
from .repository_ops import Repo, link_of


class Run:
    """One execution of a job, like ``wandb.Run``: it uses and logs artifact versions."""

    def __init__(self, repo: Repo, record_id: str, project: str | None) -> None:
        self._repo = repo
        self.id = record_id
        self.project = project

    @property
    def record(self):  # type: ignore[no-untyped-def]
        return self._repo.repository.runs.get(self.id)

    @property
    def job_type(self) -> str:
        return self.record.job_type

    @property
    def name(self) -> str | None:
        return self.record.name

    @property
    def config(self) -> dict[str, Any]:
        return self.record.config

    def log_artifact(self, artifact: "Artifact | str | os.PathLike[str]", name: str | None = None,
                     type: str | None = None, aliases: Sequence[str] = ()) -> Artifact:
        """Save ``artifact`` as a new version (if its content is new) output by this run."""
        if not isinstance(artifact, Artifact):
            if not name or not type:
                raise InvalidInput("log_artifact(path) needs name= and type=")
            path = Path(artifact)
            staged = Artifact(name, type)
            staged.add_dir(path) if path.is_dir() else staged.add_file(path)
            artifact = staged
        if artifact.is_saved:
            self._repo.repository.runs.check_link(self.id, link_of(artifact._saved()), direction="output")
            if aliases:
                artifact.aliases.extend(a for a in aliases if a not in artifact.aliases)
                artifact.save()
            self._repo.repository.runs.link(self.id, link_of(artifact._saved()), direction="output")
            return artifact
        artifact._commit(self._repo, project=self.project, aliases=aliases, run_id=self.id)
        return artifact

    def use_artifact(self, artifact_or_name: "Artifact | str", type: str | None = None,
                     aliases: Sequence[str] = ()) -> Artifact:
        """Mark a version as an input of this run and return it (an unsaved one is logged first)."""
        if isinstance(artifact_or_name, Artifact):
            art = artifact_or_name
            if not art.is_saved:
                art._commit(self._repo, project=self.project, aliases=aliases)
        else:
            record = self._repo.resolve(parse_ref(artifact_or_name, self.project))
            art = Artifact._from_record(self._repo, record)
        if type is not None and art.type != type:
            raise InvalidInput(f"{art.qualified_name} has type {art.type!r}, not {type!r}")
        self._repo.repository.runs.link(self.id, link_of(art._saved()), direction="input")
        art._use_run = self.id  # type: ignore[attr-defined]
        return art

    def upsert_artifact(self, artifact: "Artifact", distributed_id: str | None = None, *,
                        remote: str | None = None) -> Artifact:
        """Add the artifact's staged files as one part of a distributed version (W&B's name).

        Many processes (or machines, with ``remote=``) upsert under one ``distributed_id``;
        the version exists for readers only after :meth:`finish_artifact`.
        """
        from .distributed import upsert_entries

        if not distributed_id:
            raise InvalidInput("upsert_artifact needs distributed_id= (shared by every writer)")
        name = str(parse_name(artifact.name, self.project))
        upsert_entries(self._repo, lambda: list(artifact._build_manifest(self._repo)), name=name,
                       type=artifact.type, distributed_id=distributed_id, remote=remote)
        artifact._cleanup()
        return artifact

    def finish_artifact(self, artifact: "Artifact", distributed_id: str | None = None, *,
                        aliases: Sequence[str] = (), remote: str | None = None) -> Artifact:
        """Commit every part of ``distributed_id`` (plus this artifact's staged files) as one version."""
        from .distributed import finish

        if not distributed_id:
            raise InvalidInput("finish_artifact needs distributed_id= (shared by every writer)")
        name = str(parse_name(artifact.name, self.project))
        extra = (lambda: list(artifact._build_manifest(self._repo))) if artifact._sources else None
        custom = [a for a in [*artifact.aliases, *aliases] if a != LATEST and not _is_version(a)]
        result = finish(self._repo, name=name, type=artifact.type, distributed_id=distributed_id,
                        remote=remote, aliases=custom, description=artifact.description,
                        metadata=artifact.metadata, ttl=artifact.ttl, run_id=self.id, extra_entries=extra)
        artifact._bind(self._repo, result.record)
        artifact._cleanup()
        return artifact

    def logged_artifacts(self) -> list[Artifact]:
        return [self._artifact_for(link.ref) for link in self.record.outputs]

    def used_artifacts(self) -> list[Artifact]:
        return [self._artifact_for(link.ref) for link in self.record.inputs]

    def _artifact_for(self, ref: str) -> Artifact:
        return Artifact._from_record(self._repo, self._repo.resolve(ref, include_deleted=True))

    def finish(self, exit_code: int | None = None, *, failed: bool = False) -> None:
        """Close the run (``failed`` marks it so; finishing twice is an error)."""
        self._repo.repository.runs.finish(self.id, failed=failed or bool(exit_code), exit_code=exit_code)

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
        record = self.record
        if record.status == "running":
            self.finish(failed=exc_type is not None)

    def __repr__(self) -> str:
        return f"<Run {self.id} ({self.job_type})>"


def init(project: str | None = None, job_type: str = "job", name: str | None = None,
         config: dict[str, Any] | None = None, *, dir: str | os.PathLike[str] | None = None) -> Run:
    """Start a run in the repository around ``dir`` (default: the working directory).

    ``project`` defaults to ``$ARTCTL_PROJECT`` (as for :meth:`Artifact.save`): bare artifact
    names logged or used by the run live in it.
    """
    repo = Repo(dir)
    project = project or os.environ.get("ARTCTL_PROJECT") or None
    if project is not None:
        parse_name(f"{project}/x")
    record = repo.repository.runs.create(job_type, name=name, project=project, config=config)
    return Run(repo, record.id, project)
