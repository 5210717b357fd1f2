"""A saved artifact's place in the registry: its source version and its links (issue 17).

A version of a registry collection may be a *link* to a version logged elsewhere (no byte is
copied). W&B's ``source_*`` fields name the version that owns the files — the artifact itself
for an ordinary version — and ``link``/``unlink``/``linked_artifacts`` manage the links
(``artctl.ops.links``; the records are read by ``artctl.repository.links``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from artctl.api.artifact_fields import AliasList
from artctl.api.collection import ArtifactCollection
from artctl.errors import ArtifactNotFound, InvalidInput
from artctl.format.names import parse_name
from artctl.format.records import VersionRecord

if TYPE_CHECKING:
    from artctl.api.artifact import Artifact
    from artctl.api.repo import Repo


class RegistryLinks:
    """The registry half of a saved ``Artifact``: source fields, links in and out.

    Mixed into :class:`artctl.Artifact`, which provides ``_repo()``, ``_saved()``, ``_ref()``,
    ``_artifact_of()``, ``save()``, ``entity`` and the ``_record`` and ``_aliases`` of the version.
    """

    if TYPE_CHECKING:
        _record: VersionRecord | None
        _aliases: AliasList

        @property
        def entity(self) -> str | None: ...

        def _repo(self) -> Repo: ...
        def _ref(self) -> str: ...
        def _saved(self) -> VersionRecord: ...
        def _artifact_of(self, repo: Repo, record: VersionRecord) -> Artifact: ...
        def save(self, project: str | None = None, settings: object = None) -> Artifact: ...

    @property
    def source_name(self) -> str:
        """The full reference of the version that owns the files: this one, or a link's source."""
        return self._source_ref()

    @property
    def source_qualified_name(self) -> str:
        return self._source_ref()

    @property
    def source_version(self) -> str:
        """``vN`` of the source version (this version's own for an ordinary one)."""
        return self._source_ref().rsplit(":", 1)[1]

    @property
    def source_project(self) -> str:
        return parse_name(self._source_ref().rsplit(":", 1)[0]).project

    @property
    def source_entity(self) -> str | None:
        """The source's entity: the repository's (``core.entity``), as for every artifact here."""
        return self.entity

    @property
    def source_collection(self) -> ArtifactCollection:
        """The collection the source version was logged to."""
        return ArtifactCollection(
            self._repo(), parse_name(self._source_ref().rsplit(":", 1)[0]), cast("type[Artifact]", type(self))
        )

    def _source_ref(self) -> str:
        record = self._saved()
        if record.link is None:
            return self._ref()
        from artctl.repository.links import ref_of, source_of

        source = source_of(self._repo(), record)
        return ref_of(source) if source is not None else record.link

    @property
    def is_link(self) -> bool:
        """True for a version of a registry collection that links to a source version."""
        return self._record is not None and self._record.link is not None

    @property
    def source_artifact(self) -> Artifact:
        """The version that was logged (``self`` unless this is a link)."""
        record = self._saved()
        if record.link is None:
            return cast("Artifact", self)
        from artctl.repository.links import source_of

        source = source_of(self._repo(), record)
        if source is None:
            raise ArtifactNotFound(f"the source {record.link} of {self._ref()} is gone")
        return self._artifact_of(self._repo(), source)

    @property
    def linked_artifacts(self) -> list[Artifact]:
        """The live links of this source version in registry collections (empty for a link)."""
        from artctl.repository.links import links_to

        repo = self._repo()
        return [self._artifact_of(repo, r) for r in links_to(repo, self._saved())]

    def link(self, target_path: str, aliases: Sequence[str] | None = None) -> Artifact:
        """Link this version into the registry collection ``target_path`` (W&B's forms:
        ``registry/collection``, ``entity/registry/collection``, or a bare ``collection`` in
        this version's project) with ``aliases``; return the linked version. No byte is copied.

        A draft is saved first (as W&B); linking a link links its source; linking a version
        already in the collection returns that linked version and moves the aliases to it.
        """
        if isinstance(aliases, str):
            raise InvalidInput("aliases must be a list of strings, e.g. ['production']")
        if self._record is None:
            self.save()
        from artctl.ops.links import link

        repo = self._repo()
        with repo.published():
            result = link(repo, self._ref(), target_path, aliases=list(aliases or []))
        return self._artifact_of(repo, result.record)

    def unlink(self) -> None:
        """Remove this linked version from its registry collection; the source stays."""
        from artctl.ops.links import unlink

        record = self._saved()
        repo = self._repo()
        with repo.published():
            unlink(repo, self._ref())
        self._record = repo.resolve(f"{record.name}:{record.version}", include_deleted=True)
        self._aliases = AliasList()
