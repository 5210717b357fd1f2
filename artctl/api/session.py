"""``artctl.init()``: start a run, as ``wandb.init``, and make it the active run (a session);
``artctl.login()``, W&B's first step, which has nothing to do here."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from artctl.api.artifact import Artifact
from artctl.api.run import Run, activate, start_run
from artctl.api.workspace import open_repo
from artctl.format.names import NameScope, parse_project


def login(*args: Any, **kwargs: Any) -> bool:
    """``wandb.login()``: artctl has no server and no account, so there is nothing to log into
    (its arguments — ``key``, ``host``, ``relogin`` … — are accepted and unused). Returns True,
    as W&B does once logged in, so scripts that start with it run unchanged."""
    return True


def init(
    project: str | None = None,
    job_type: str = "job",
    name: str | None = None,
    config: dict[str, Any] | None = None,
    *,
    entity: str | None = None,
    group: str | None = None,
    tags: Sequence[str] | None = None,
    notes: str | None = None,
    dir: str | os.PathLike[str] | None = None,
) -> Run:
    """Start a run, as ``wandb.init``; it is the active run until it finishes.

    The repository is the one around ``dir`` (default: the working directory), created as
    ``./.artifacts`` when there is none (see :mod:`artctl.api.workspace`). ``project`` defaults to
    ``$ARTCTL_PROJECT``, else ``core.project``, else W&B's ``uncategorized``: bare artifact names
    logged or used by the run live in it. ``entity`` must be the repository's (``core.entity``)
    when that is set.
    """
    if project is not None:
        parse_project(project, NameScope())  # a bad name fails before a repository is created
    run = start_run(
        open_repo(dir),
        artifact_class=Artifact,
        project=project,
        job_type=job_type,
        name=name,
        config=config,
        entity=entity,
        group=group,
        tags=tags,
        notes=notes,
    )
    return activate(run)
