"""W&B-style runs: ``artctl.init()`` returns a ``Run`` that uses and logs artifact versions.

As in W&B, the run ``init`` starts is the process's *active* run (``artctl.run``) until it
finishes: ``artifact.save()`` of a draft is then logged by it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from artctl.api.artifact_fields import AliasList, validate_tags
from artctl.api.repo import Repo
from artctl.errors import InvalidInput
from artctl.format.names import LATEST, NameScope, check_entity, parse_name, parse_ref
from artctl.repository.commit import link_of
from artctl.repository.runs import RunRecord

if TYPE_CHECKING:
    from artctl.api.artifact import Artifact

_active: Run | None = None


def activate(run: Run) -> Run:
    """Make ``run`` the process's active run (what ``artctl.init()`` does)."""
    global _active
    _active = run
    return run


def active_run() -> Run | None:
    """The run ``artctl.init()`` started in this process, while it is running (W&B's ``wandb.run``)."""
    return _active


class Run:
    """One execution of a job, like ``wandb.Run``: it uses and logs artifact versions."""

    def __init__(
        self, repo: Repo, record_id: str, project: str | None, artifact_class: type[Artifact]
    ) -> None:
        self._repo = repo
        self.id = record_id
        self.project = project
        #: The class of the artifacts this run returns (``artctl.Artifact``): passed in, because
        #: Artifact sits above Run (``artifact.logged_by()`` returns a Run).
        self._artifact_class = artifact_class

    @property
    def repo(self) -> Repo:
        return self._repo

    @property
    def _names(self) -> NameScope:
        """Short names used or logged by this run live in its project (and its entity)."""
        return self._repo.names.with_defaults(self.record.entity, self.project)

    @property
    def record(self) -> RunRecord:
        return self._repo.runs.get(self.id)

    @property
    def job_type(self) -> str:
        return self.record.job_type

    @property
    def name(self) -> str | None:
        return self.record.name

    @property
    def config(self) -> dict[str, Any]:
        return self.record.config

    @property
    def entity(self) -> str | None:
        return self.record.entity

    @property
    def group(self) -> str | None:
        """Runs sharing a group build one distributed version by default (W&B's rule)."""
        return self.record.group

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(self.record.tags)

    @property
    def notes(self) -> str | None:
        return self.record.notes

    def log_artifact(
        self,
        artifact: Artifact | str | os.PathLike[str],
        name: str | None = None,
        type: str | None = None,
        aliases: Sequence[str] = (),
        *,
        remote: str | None = None,
    ) -> Artifact:
        """Save ``artifact`` (an ``Artifact``, or a file or directory path) as a new version (if its
        content is new) output by this run; ``remote`` (a remote's name or URL) commits it there
        first, so its number is final."""
        if isinstance(artifact, (str, os.PathLike)):
            path = Path(artifact)
            # W&B's defaults for a path: "run-<id>-<file or directory name>", type "unspecified".
            staged = self._artifact_class(name or f"run-{self.id}-{path.name}", type or "unspecified")
            staged.add_dir(path) if path.is_dir() else staged.add_file(path)
            artifact = staged
        if artifact.is_saved:
            self._repo.runs.check_link(self.id, link_of(artifact._saved()), direction="output")
            if aliases:
                artifact.aliases.extend(aliases)
                artifact.save()
            self._repo.runs.link(self.id, link_of(artifact._saved()), direction="output")
            return artifact
        artifact._commit(self._repo, project=self.project, aliases=aliases, run_id=self.id, remote=remote)
        return artifact

    def link_artifact(
        self, artifact: Artifact, target_path: str, aliases: Sequence[str] | None = None
    ) -> Artifact:
        """Link ``artifact`` into the registry collection ``target_path`` (W&B's name); a draft is
        logged by this run first. A bare collection name lives in the run's project."""
        from artctl.ops.links import link

        if isinstance(aliases, str):
            raise InvalidInput("aliases must be a list of strings, e.g. ['production']")
        if not isinstance(artifact, self._artifact_class):  # Artifact is imported for typing only
            raise InvalidInput(f"link_artifact needs an Artifact, not {type(artifact).__name__}")
        if not artifact.is_saved:
            self.log_artifact(artifact)
        result = link(
            self._repo,
            artifact._ref(),
            target_path,
            aliases=list(aliases or []),
            default_project=self.project,
        )
        return self._artifact_class._from_record(self._repo, result.record)

    def use_artifact(
        self,
        artifact_or_name: Artifact | str,
        type: str | None = None,
        aliases: Sequence[str] = (),
        use_as: str | None = None,
    ) -> Artifact:
        """Mark a version as an input of this run and return it (an unsaved one is logged first).

        ``use_as`` records how the run used it (e.g. ``"validation"``) on the run's input link.
        """
        from dataclasses import replace

        if isinstance(artifact_or_name, str):
            record = self._repo.resolve(parse_ref(artifact_or_name, self._names))
            art = self._artifact_class._from_record(self._repo, record)
        else:
            art = artifact_or_name
            if not art.is_saved:
                art._commit(self._repo, project=self.project, aliases=aliases)
        if type is not None and art.type != type:
            raise InvalidInput(f"{art.qualified_name} has type {art.type!r}, not {type!r}")
        if use_as is not None and not isinstance(use_as, str):
            raise InvalidInput(f"use_as must be a string, not {use_as!r}")
        link = replace(link_of(art._saved()), use_as=use_as)
        self._repo.runs.link(self.id, link, direction="input")
        art._use_run = self.id
        return art

    def upsert_artifact(
        self, artifact: Artifact, distributed_id: str | None = None, *, remote: str | None = None
    ) -> Artifact:
        """Add the artifact's staged files as one part of a distributed version (W&B's name).

        Many processes (or machines, with ``remote=``) upsert under one ``distributed_id``;
        the version exists for readers only after :meth:`finish_artifact`.
        """
        from artctl.ops.distributed.upsert import upsert_entries

        distributed_id = self._distributed_id(distributed_id, "upsert_artifact")
        name = str(parse_name(artifact.name, self._names))
        upsert_entries(
            self._repo,
            lambda: list(artifact._build_manifest(self._repo)),
            name=name,
            type=artifact.type,
            distributed_id=distributed_id,
            remote=remote,
        )
        artifact._cleanup()
        return artifact

    def finish_artifact(
        self,
        artifact: Artifact,
        distributed_id: str | None = None,
        *,
        aliases: Sequence[str] = (),
        remote: str | None = None,
    ) -> Artifact:
        """Commit every part of ``distributed_id`` (plus this artifact's staged files) as one version."""
        from artctl.ops.distributed.finish import finish

        distributed_id = self._distributed_id(distributed_id, "finish_artifact")
        name = str(parse_name(artifact.name, self._names))
        extra = (lambda: list(artifact._build_manifest(self._repo))) if artifact._staged else None
        custom = [
            a for a in dict.fromkeys([*artifact.aliases, *AliasList(aliases, is_latest=True)]) if a != LATEST
        ]
        result = finish(
            self._repo,
            name=name,
            type=artifact.type,
            distributed_id=distributed_id,
            remote=remote,
            fields=artifact._commit_fields(custom, run_id=self.id),
            extra_entries=extra,
        )
        artifact._bind(self._repo, result.record)
        artifact._cleanup()
        return artifact

    def _distributed_id(self, given: str | None, method: str) -> str:
        """The id shared by every writer of a distributed version: given, else the run's group."""
        from artctl.ops.distributed.parts import validate_id

        if given:
            return given
        if not self.group:
            raise InvalidInput(
                f"{method} needs distributed_id= (shared by every writer)",
                hint="or start every writer with artctl.init(group=...): the group is the default",
            )
        try:
            return validate_id(self.group)
        except InvalidInput:
            raise InvalidInput(
                f"run group {self.group!r} cannot serve as the distributed id of {method}",
                hint="pass distributed_id=, or use a group of letters, digits, '.', '_' and '-'",
            ) from None

    def logged_artifacts(self) -> list[Artifact]:
        return [self._artifact_for(link.ref) for link in self.record.outputs]

    def used_artifacts(self) -> list[Artifact]:
        return [self._artifact_for(link.ref) for link in self.record.inputs]

    def _artifact_for(self, ref: str) -> Artifact:
        return self._artifact_class._from_record(self._repo, self._repo.resolve(ref, include_deleted=True))

    def finish(self, exit_code: int | None = None, *, failed: bool = False) -> None:
        """Close the run (``failed`` marks it so; finishing twice is an error)."""
        global _active
        self._repo.runs.finish(self.id, failed=failed or bool(exit_code), exit_code=exit_code)
        if _active is not None and _active.id == self.id:
            _active = None

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        record = self.record
        if record.status == "running":
            self.finish(failed=exc_type is not None)

    def __repr__(self) -> str:
        return f"<Run {self.id} ({self.job_type})>"


def start_run(
    repo: Repo,
    *,
    artifact_class: type[Artifact],
    project: str | None,
    job_type: str,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    entity: str | None = None,
    group: str | None = None,
    tags: Sequence[str] | None = None,
    notes: str | None = None,
) -> Run:
    """Create a run record after checking every argument (the active run is left alone).

    Its project is ``project``, else the default one, else ``uncategorized`` (as in W&B; see
    :meth:`NameScope.run_project`): bare names the run logs or uses live there."""
    names = repo.names
    project = names.run_project(project)
    if entity is not None:
        check_entity(entity, names)  # another owner's entity is refused
    if group is not None and (not isinstance(group, str) or not group):
        raise InvalidInput(f"group must be a non-empty string, not {group!r}")
    if notes is not None and not isinstance(notes, str):
        raise InvalidInput("notes must be a string")
    record = repo.runs.create(
        job_type,
        name=name,
        project=project,
        config=config,
        entity=entity,
        group=group,
        tags=validate_tags(tags or [], "run tag"),
        notes=notes,
    )
    return Run(repo, record.id, project, artifact_class)
