"""Committing an ``Artifact``: a draft as a new version, a saved version's edited fields.

:meth:`Saving._commit` is what ``run.log_artifact`` and ``artifact.save()`` call: refuse what
can be refused before any file is read (:meth:`Saving._check_committable`), then build the
manifest and commit it here, or on the remote first with ``core.publish = remote``.
:meth:`Saving._save_fields` persists the description, metadata, TTL, tags and aliases edited on
a saved version. Deciding which run logs it is ``artctl.Artifact.save``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from artctl.api.artifact_fields import AliasList, ArtifactTTL
from artctl.errors import InvalidInput
from artctl.format.names import LATEST, ArtifactName, parse_name, parse_ref
from artctl.format.records import VersionRecord
from artctl.format.version_fields import NO_TTL, VersionFields
from artctl.repository.views import PutResult

if TYPE_CHECKING:
    from artctl.api.repo import Repo
    from artctl.format.manifest import Manifest


class Saving:
    """The commit half of :class:`artctl.Artifact`.

    Mixed into it; ``Artifact`` provides the fields and ``_repo()``, ``_saved()``, ``_ref()``,
    ``_bind()``, and ``Staging`` the content (``_base``, ``_has_content()``,
    ``_build_manifest()``, ``_cleanup()``).
    """

    if TYPE_CHECKING:
        _name: str
        type: str
        description: str | None
        metadata: dict[str, Any]
        incremental: bool
        _ttl: timedelta | ArtifactTTL | None
        _tags: list[str]
        _aliases: AliasList
        _base: VersionRecord | None

        def _repo(self) -> Repo: ...
        def _saved(self) -> VersionRecord: ...
        def _ref(self) -> str: ...
        def _bind(self, repo: Repo, record: VersionRecord) -> None: ...
        def _has_content(self) -> bool: ...
        def _build_manifest(self, repo: Repo, progress: Any = None) -> Manifest: ...
        def _cleanup(self) -> None: ...

    def _commit_ttl(self) -> timedelta | str | None:
        """The TTL to commit: inherit the project's default (None), none at all, or a duration."""
        if self._ttl is ArtifactTTL.INHERIT:
            return None
        return NO_TTL if self._ttl is None else self._ttl

    def _commit_fields(self, aliases: Sequence[str], *, run_id: str | None) -> VersionFields:
        """This artifact's description, metadata, TTL and tags, with the custom ``aliases`` and
        the logging run, as the one value every commit path takes."""
        return VersionFields(
            aliases=aliases,
            description=self.description,
            metadata=self.metadata,
            ttl=self._commit_ttl(),
            run_id=run_id,
            tags=self._tags,
        )

    def _check_committable(self, repo: Repo, project: str | None) -> ArtifactName:
        """Refuse what can be refused before a run is started or a file is read; return the name."""
        from artctl.base.units import ttl_seconds
        from artctl.format.user_json import check_metadata
        from artctl.repository.commit import check_type

        name = parse_name(self._name, repo.names.with_defaults(project=project))
        check_metadata(self.metadata)
        if isinstance(self._ttl, timedelta):
            ttl_seconds(self._ttl)
        if not self._has_content() and not self.incremental:
            raise InvalidInput(f"artifact {self._name} has no files; add some with add_file/add_dir")
        check_type(repo, name, self.type)
        return name

    def _commit(
        self,
        repo: Repo,
        *,
        project: str | None,
        aliases: Sequence[str] = (),
        run_id: str | None = None,
        remote: str | None = None,
    ) -> PutResult:
        """Commit the draft here, or on ``remote`` first (also with ``core.publish = remote``):
        then its number is the remote's at once (:mod:`artctl.ops.remote.commit`)."""
        from artctl.base.locks import writing
        from artctl.ops.cache import shared_use

        name = self._check_committable(repo, project)
        extra = AliasList(aliases, is_latest=True)  # the rules of aliases.append
        custom = [a for a in dict.fromkeys([*self._aliases, *extra]) if a != LATEST]
        # gc deletes nothing, and cache cleanup evicts nothing, until the version exists.
        with (
            shared_use(repo.locks_dir),
            writing(repo.locks_dir, tmp_dir=repo.tmp_dir),
        ):
            if self.incremental and self._base is None:
                self._base = repo.registry.latest(name)  # W&B's incremental: build on latest
            manifest = self._build_manifest(repo)
            fields = self._commit_fields(custom, run_id=run_id)
            if remote is not None or repo.settings.publish == "remote":
                from artctl.ops.remote.commit import put_on_remote

                result = put_on_remote(repo, remote, name, self.type, manifest, fields)
            else:
                base = self._base.manifest if self._base is not None else None
                result = repo.commit_manifest(name, self.type, manifest, fields=fields, base=base)
        self._bind(repo, result.record)
        self._cleanup()
        return result

    def _save_fields(self) -> None:
        """Write the edited description, metadata, TTL, tags and aliases of a saved version."""
        repo = self._repo()
        record = self._saved()
        ref = parse_ref(self._ref())
        ttl: Any = ...
        if self._ttl is ArtifactTTL.INHERIT:
            default = repo.default_ttl(ref.name)
            ttl = None if default is None else timedelta(seconds=default)
        elif self._ttl != record.ttl:
            ttl = self._ttl
        tags = self._tags if self._tags != record.tags else ...
        repo.update(ref, description=self.description, metadata=dict(self.metadata), ttl=ttl, tags=tags)
        held = {a for a in repo.registry.aliases_of(record) if a not in (LATEST, record.version)}
        wanted = self._aliases.custom()
        for alias in sorted(held - wanted):
            repo.registry.remove_alias(ref.name, alias)
        for alias in sorted(wanted - held):
            repo.registry.set_alias(ref, alias)
        self._bind(repo, repo.resolve(ref))
