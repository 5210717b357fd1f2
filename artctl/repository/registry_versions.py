"""The registry's version lookups: an artifact's versions, its latest one, the aliases of a
version, and the version a reference (``name:v3``, ``name:best``, ``name:latest``) names.

``latest`` is not stored: it is always the newest live version, so it can never go stale.
"""

from __future__ import annotations

from datetime import datetime, timezone

from artctl.errors import ArtifactNotFound
from artctl.format.names import LATEST, ArtifactName, ArtifactRef, parse_name, version_index
from artctl.format.records import VersionRecord
from artctl.format.snapshots import fold
from artctl.repository.registry_collections import RegistryCollections
from artctl.repository.registry_files import all_version_files, version_files


class RegistryVersions(RegistryCollections):
    """Reading versions and resolving references (see :class:`artctl.repository.registry.Registry`)."""

    # -- versions -------------------------------------------------------------------------
    def versions(self, name: ArtifactName, *, include_deleted: bool = False) -> list[VersionRecord]:
        """Versions of an artifact, oldest first; expired and deleted ones only on request."""
        self.settle(name)
        now = datetime.now(timezone.utc)
        files = all_version_files(self.layout, name)
        records = (fold(f.record, f.edits, f.tombstone, f.purge) for f in files)
        return [r for r in records if include_deleted or r.live(now)]

    def version(self, name: ArtifactName, index: int) -> VersionRecord | None:
        """Version ``index`` as readers see it (its record folded with what changed it)."""
        self.settle(name)
        files = version_files(self.layout, name, index)
        return None if files is None else fold(files.record, files.edits, files.tombstone, files.purge)

    def aliases_of(
        self,
        record: VersionRecord,
        *,
        latest: VersionRecord | None | bool = True,
        table: dict[str, str] | None = None,
    ) -> list[str]:
        """All aliases of a version, managed ones included, in display order (``latest`` and
        ``table``, the custom aliases: given by a caller that lists many versions, read once)."""
        name = parse_name(record.name)
        out = []
        if latest is True:
            latest = self.latest(name)
        if isinstance(latest, VersionRecord) and latest.index == record.index:
            out.append(LATEST)
        out.append(record.version)
        custom = self.aliases(name) if table is None else table
        out.extend(sorted(a for a, v in custom.items() if v == record.version))
        return out

    def latest(self, name: ArtifactName) -> VersionRecord | None:
        live = self.versions(name)
        return live[-1] if live else None

    def resolve(self, ref: ArtifactRef, *, include_deleted: bool = False) -> VersionRecord:
        """The version a reference names; unknown or deleted versions raise ArtifactNotFound."""
        self.require_artifact(ref.name)
        index = version_index(ref.alias)
        if ref.alias == LATEST:
            record = self.latest(ref.name)
            if record is None:
                raise ArtifactNotFound(f"artifact {ref.name} has no live versions")
            return record
        if index is None:
            target = self.aliases(ref.name).get(ref.alias)
            if target is None:
                raise ArtifactNotFound(
                    f"artifact {ref.name} has no alias {ref.alias!r}",
                    hint=f"see its aliases with `artctl alias ls {ref.name}`",
                )
            index = version_index(target)
            assert index is not None
        record = self.version(ref.name, index)
        if record is None:
            raise ArtifactNotFound(f"artifact {ref.name} has no version v{index}")
        if not include_deleted and not record.live():
            why = "deleted" if record.deleted else "expired (TTL)"
            raise ArtifactNotFound(
                f"{ref.name}:v{index} was {why}",
                hint=f"see every version with `artctl artifact ls {ref.name} --all`",
            )
        return record
