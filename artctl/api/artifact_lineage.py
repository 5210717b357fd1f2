"""A saved artifact's lineage: the run that logged it, the runs that used it, the graph around it."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from artctl.api.run import Run
from artctl.errors import RunError
from artctl.format.records import VersionRecord

if TYPE_CHECKING:
    from artctl.api.artifact import Artifact
    from artctl.api.repo import Repo
    from artctl.ops.lineage_graph import Graph


class Lineage:
    """The lineage half of a saved ``Artifact`` (``artctl.ops.lineage`` does the walking).

    Mixed into :class:`artctl.Artifact`, which provides ``_repo()``, ``_saved()`` and ``_ref()``.
    """

    if TYPE_CHECKING:

        def _repo(self) -> Repo: ...
        def _ref(self) -> str: ...
        def _saved(self) -> VersionRecord: ...

    def logged_by(self) -> Run | None:
        """The run that logged this version (None if it was put outside any run); for a registry
        link, the run that logged its source (a link is not logged, W&B's linked artifact is its
        source)."""
        from artctl.ops import lineage
        from artctl.repository.links import source_of

        repo = self._repo()
        record = self._saved()
        run_id = lineage.logged_by(repo, source_of(repo, record) or record)
        if run_id is None:
            return None
        try:
            run = repo.runs.get(run_id)
        except RunError:
            return None
        return Run(repo, run.id, run.project, cast("type[Artifact]", type(self)))

    def used_by(self) -> list[Run]:
        """The runs that used this version as an input, oldest first."""
        from artctl.ops import lineage

        repo = self._repo()
        return [
            Run(repo, run_id, repo.runs.get(run_id).project, cast("type[Artifact]", type(self)))
            for run_id in lineage.used_by(repo, self._saved())
        ]

    def lineage(self, direction: str = "both", depth: int | None = None) -> Graph:
        """The lineage graph around this version (``.nodes``, ``.edges``, ``.to_json()``)."""
        from artctl.ops import lineage

        return lineage.lineage(self._repo(), self._ref(), direction=direction, depth=depth)
