"""A repository's manifest files: written content-addressed, read back verified, and where
each came from.

A manifest is stored under ``manifests/`` named by its BLAKE3 and checked against that digest on
every read (whole, or streamed for a million files). Beside a manifest fetched from a remote
lies a marker naming that remote: the one owner of "this manifest arrived from a remote",
which ``get`` asks before following a reference (docs/references.md, "References from a
remote"). Mixed into :class:`artctl.repository.repo.Repository`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from artctl.base.fsutil import atomic_write_bytes
from artctl.base.hashing import hash_bytes
from artctl.errors import ObjectNotFound
from artctl.format.local_layout import Layout
from artctl.format.manifest import Entry, Manifest


class ManifestFiles:
    """The manifest files of one repository (see the module docstring).

    Mixed into :class:`~artctl.repository.repo.Repository`, which provides ``layout``,
    ``tmp_dir`` and ``fsync``.
    """

    layout: Layout
    tmp_dir: Path

    if TYPE_CHECKING:

        @property
        def fsync(self) -> bool: ...

    def manifest_path(self, digest: str) -> Path:
        return self.layout.manifest(digest)

    def write_manifest(self, manifest: Manifest, *, origin: str | None = None) -> str:
        """Store a manifest (after its objects) and return its digest.

        ``origin`` names the remote its reference entries came from (a draft of a pulled
        version keeps them); None means this repository's user logged every entry of it.
        """
        from artctl.base.fsutil import write_content_addressed

        if origin is not None:
            self.mark_from_remote(manifest.digest(), origin)
        digest = write_content_addressed(
            manifest.canonical_chunks(), self.manifest_path, self.tmp_dir, fsync=self.fsync
        )
        if origin is None:  # the user logged this exact content here: it is theirs now
            self._origin_path(digest).unlink(missing_ok=True)
        return digest

    # -- where a manifest came from ----------------------------------------------------------
    # The one owner of "this manifest arrived from a remote": a marker file beside it, written
    # *before* the manifest (a crash in between leaves a marker without a manifest, which is
    # harmless; never a pulled manifest without its marker). Local state, never pushed. `get`
    # asks it before following a reference (docs/references.md, "References from a remote").
    def _origin_path(self, digest: str) -> Path:
        return self.layout.origin(digest)

    def mark_from_remote(self, digest: str, remote: str) -> None:
        """Record that the manifest ``digest`` was fetched from ``remote`` (before writing it)."""
        path = self._origin_path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, remote.encode() + b"\n", tmp_dir=self.tmp_dir, fsync=self.fsync)

    def manifest_origin(self, digest: str) -> str | None:
        """The remote a manifest was fetched from, or None when it was made here."""
        try:
            return self._origin_path(digest).read_text().strip() or "a remote"
        except FileNotFoundError:
            return None

    def inherited_origin(self, manifest: Manifest, base: str | None) -> str | None:
        """The origin a new manifest built on ``base`` (a draft) carries: the base's remote when
        it keeps any of the base's reference entries, so a draft cannot launder them."""
        origin = self.manifest_origin(base) if base else None
        if origin is None or base is None:
            return None
        inherited = {_ref_identity(e) for e in self.iter_manifest(base) if e.ref is not None}
        return origin if any(_ref_identity(e) in inherited for e in manifest if e.ref is not None) else None

    def iter_manifest(self, digest: str) -> Iterator[Entry]:
        """A manifest's entries, streamed from its file after its digest was checked.

        For manifests too big to hold as one :class:`Manifest` (a million files): memory stays
        bounded, and entries come sorted by path.
        """
        from artctl.base.hashing import hash_file
        from artctl.errors import IntegrityError
        from artctl.format.manifest import stream_entries

        path = self.manifest_path(digest)
        try:
            actual = hash_file(path)
        except FileNotFoundError:
            raise ObjectNotFound(
                f"manifest {digest[:12]} is missing from the repository",
                hint="run `artctl pull` if it lives on a remote",
            ) from None
        if actual != digest:
            raise IntegrityError(f"manifest {digest[:12]} is corrupt (digest mismatch)")
        with open(path, "rb") as fh:
            yield from stream_entries(iter(lambda: fh.read(4 << 20), b""), f"manifest {digest[:12]}")

    def read_manifest(self, digest: str) -> Manifest:
        """Load and verify a manifest by digest."""
        from artctl.errors import IntegrityError

        try:
            data = self.manifest_path(digest).read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(
                f"manifest {digest[:12]} is missing from the repository",
                hint="run `artctl pull` if it lives on a remote",
            ) from None
        if hash_bytes(data) != digest:
            raise IntegrityError(f"manifest {digest[:12]} is corrupt (digest mismatch)")
        return Manifest.parse(data, f"manifest {digest[:12]}")


def _ref_identity(entry: Entry) -> tuple[str | None, str | None, str]:
    """What makes two reference entries the same reference: URI, digest, recorded state."""
    return entry.ref, entry.digest, json.dumps(entry.ref_state or {}, sort_keys=True)
