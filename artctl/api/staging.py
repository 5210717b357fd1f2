"""Building the content of a new version: the ``add_*``/``remove`` half of ``artctl.Artifact``.

Each keyword means what it means in W&B. With ``policy="mutable"`` (the default) a file's bytes
are captured when it is added (:mod:`artctl.ops.ingest.capture`): changing the file afterwards
does not change what is logged, and logging reads nothing again. ``policy="immutable"`` promises
the file will not change: it is read when the artifact is logged. Adding a second, different
entry at a path already added raises unless ``overwrite=True`` (``merge=True`` for ``add_dir``).
References are resolved when they are added, as in W&B. A draft's base contributes its
manifest unread, and a file added to a draft replaces the base's file of that path (that is
what a draft is for: W&B's guide does ``draft.add_file("modified_file.txt")``).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from artctl.errors import ArtctlError, InvalidInput, SourceChanged
from artctl.format.manifest import Entry, Manifest, validate_path
from artctl.format.records import VersionRecord
from artctl.ops.ingest import SourceFile, scan
from artctl.ops.ingest.capture import Capture

if TYPE_CHECKING:
    from artctl.api.repo import Repo

Policy = Literal["mutable", "immutable"]
POLICIES = ("mutable", "immutable")
#: W&B's ``is_tmp``: the file's stem becomes this many hex digits of its digest.
TMP_NAME_DIGITS = 20


@dataclass
class Staged:
    """One path of the new version: a file (captured, or read at log time) or a reference."""

    entry: Entry | None = None  # a captured file's or a reference's entry
    source: SourceFile | None = None  # the local file (None for a reference)
    digest: str | None = None  # an immutable file's digest, computed only when needed

    def content(self) -> tuple[Any, ...]:
        """What two adds at one path are compared by (W&B compares the digests)."""
        if self.entry is not None:
            return (self.entry.digest, self.entry.ref, self.entry.ref_state)
        assert self.source is not None
        if self.digest is None:
            from artctl.base.hashing import hash_file

            self.digest = hash_file(self.source.local)
        return (self.digest, None, None)


class Staging:
    """The files staged for a new version (and, for a draft, the version it starts from)."""

    _record: VersionRecord | None
    _repository: Repo | None

    def _init_staging(self) -> None:
        self._staged: dict[str, Staged] = {}
        self._base_removals: list[tuple[str, bool]] = []  # (path, matched a staged path)
        self._capture: Capture | None = None
        self._tmpdir: str | None = None
        self._base: VersionRecord | None = None

    def _staging(self) -> None:
        if self._record is not None:
            raise ArtctlError(
                f"{self._record.name}:{self._record.version} is committed and immutable; "
                "use artifact.new_draft() to make a new version from it"
            )

    def _has_content(self) -> bool:
        """Whether logging could produce a non-empty version (checked before starting a run)."""
        return bool(self._staged) or self._base is not None

    def _captures(self) -> Capture:
        """Where added bytes are captured: this artifact's repository, else the active run's,
        else the working directory's (the one logging it will use)."""
        if self._capture is None:
            from artctl.api.run import active_run
            from artctl.api.workspace import open_repo

            run = active_run()
            repo = self._repository or (run.repo if run is not None else open_repo())
            self._capture = Capture(repo)
        return self._capture

    def add_file(
        self,
        local_path: str | os.PathLike[str],
        name: str | None = None,
        is_tmp: bool | None = False,
        skip_cache: bool | None = False,
        policy: Policy | None = "mutable",
        overwrite: bool = False,
    ) -> Entry:
        """Add one file as ``name`` (default: its base name); return its entry (W&B's keywords).

        ``policy="mutable"``: the bytes are captured now, so changing the file before logging
        changes nothing; ``"immutable"``: the file is promised unchanged and read at log time
        (its entry's digest is None until then, unless ``is_tmp`` needed it).
        ``is_tmp=True`` renames the entry from its content (its stem becomes the first 20 hex
        digits of its digest), so temporary files with one name do not collide.
        ``overwrite=False`` raises ``ValueError`` if ``name`` was already added with other
        content. ``skip_cache`` is accepted: logging never copies into the user cache, so there
        is no copy to skip (the bytes are stored once, in the repository).
        """
        self._staging()
        path = Path(local_path)
        if path.is_dir():
            raise InvalidInput(f"{local_path} is a directory", hint="use add_dir() for a directory")
        if not path.is_file():
            raise InvalidInput(f"no such file: {local_path}")
        [source] = scan(path, validate_path(name if name is not None else path.name))
        staged = self._stage_files([source], _policy(policy))[0]
        logical = _tmp_name(source.path, staged.content()[0]) if is_tmp else source.path
        self._check(logical, staged, overwrite, "overwrite=True")
        self._staged[logical] = staged
        if staged.entry is not None:
            return _moved(staged.entry, logical)
        return Entry(logical, staged.digest, source.size)

    def add_dir(
        self,
        local_path: str | os.PathLike[str],
        name: str | None = None,
        skip_cache: bool | None = False,
        policy: Policy | None = "mutable",
        merge: bool = False,
    ) -> None:
        """Add every file under a directory, under the prefix ``name`` (default: top level).

        ``policy`` is :meth:`add_file`'s. ``merge=False`` (W&B's default) raises ``ValueError``
        if a file already added has different content now; ``merge=True`` replaces it. Files
        are only ever added: to drop some, ``remove(prefix)`` first.
        """
        self._staging()
        path = Path(local_path)
        if path.is_file():
            raise InvalidInput(f"{local_path} is a file, not a directory", hint="use add_file() for a file")
        if not path.is_dir():
            raise InvalidInput(f"no such directory: {local_path}")
        prefix = validate_path(name.strip("/")) if name and name.strip("/") else None
        files = scan(path, prefix)
        staged = self._stage_files(files, _policy(policy))
        for source, one in zip(files, staged, strict=True):
            self._check(source.path, one, merge, "merge=True")
        for source, one in zip(files, staged, strict=True):
            self._staged[source.path] = one

    @contextlib.contextmanager
    def new_file(
        self, name: str, mode: str = "w", encoding: str | None = None, policy: Policy | None = "mutable"
    ) -> Iterator[Any]:
        """Write a new file straight into the artifact: ``with art.new_file("a.txt") as f: …``."""
        self._staging()
        validate_path(name)
        if self._tmpdir is None:
            self._tmpdir = tempfile.mkdtemp(prefix="artctl-new-file-")
        local = Path(self._tmpdir) / name
        local.parent.mkdir(parents=True, exist_ok=True)
        with open(local, mode, encoding=encoding if "b" not in mode else None) as fh:
            yield fh
        self.add_file(local, name=name, policy=policy, overwrite="x" not in mode)

    def add_reference(
        self, uri: str, name: str | None = None, checksum: bool = True, max_objects: int | None = None
    ) -> list[Entry]:
        """Track data that stays in external storage (S3, GCS, Azure, HTTP, file://); return the
        entries. As in W&B, the objects are listed now: ``checksum=True`` records each one's
        size and state (ETag, version id …) to verify downloads against; ``checksum=False``
        records the URI alone (a prefix is not listed); ``max_objects`` bounds a prefix's size."""
        self._staging()
        from artctl import references

        entries = list(references.entries_for(uri, name, checksum=checksum, max_objects=max_objects))
        for entry in entries:
            self._check(entry.path, Staged(entry=entry), False, "overwrite=True")
        for entry in entries:
            self._staged[entry.path] = Staged(entry=entry)
        return entries

    def remove(self, path: str) -> Staging:
        """Remove a path added before (or a directory prefix) from the artifact; for a draft,
        also from its base."""
        self._staging()
        key = path.rstrip("/")
        gone = [p for p in self._staged if p == key or p.startswith(key + "/")]
        for p in gone:
            del self._staged[p]
        if self._base is None and not getattr(self, "incremental", False):
            if not gone:
                raise InvalidInput(f"{path!r} is not in artifact {getattr(self, '_name', '')}")
            return self
        self._base_removals.append((path, bool(gone)))
        return self

    # -- helpers ----------------------------------------------------------------------------------
    def _stage_files(self, files: list[SourceFile], policy: Policy) -> list[Staged]:
        if policy == "immutable":
            return [Staged(source=f) for f in files]
        entries = self._captures().add(files)
        return [Staged(entry=e, source=f) for e, f in zip(entries, files, strict=True)]

    def _check(self, path: str, staged: Staged, overwrite: bool, flag: str) -> None:
        """W&B's rule: a second add at one path must have the same content, unless allowed."""
        old = self._staged.get(path)
        if old is not None and not overwrite and old.content() != staged.content():
            raise InvalidInput(
                f"cannot add {path!r} twice with different content",
                hint=f"pass {flag} to replace it, or remove({path!r}) first",
            )

    def _build_manifest(self, repo: Repo, progress=None) -> Manifest:
        """Base manifest (for a draft) minus its removals, plus every staged path.

        Only immutable files are read now; captured files are secured in ``repo``'s store
        (:meth:`Capture.secure`), and a draft's base contributes its manifest.
        """
        manifest = repo.manifest(self._base) if self._base is not None else Manifest()
        label = getattr(self, "_name", "")
        for path, matched in self._base_removals:
            if not manifest.remove_prefix(path) and not matched:
                raise InvalidInput(f"{path!r} is not in artifact {label}")
        staged = [(p, s.entry, s.source) for p, s in self._staged.items() if s.entry is not None]
        here = (
            self._capture if self._capture and self._capture.repository.root == repo.root else Capture(repo)
        )
        read = self._read_immutable(here)
        mine: list[tuple[str, Entry, SourceFile | None]] = [*staged, *read]
        if self._capture is not None and self._capture is not here:  # captured in another repository
            self._capture.secure(repo, [(e, f) for _, e, f in staged if f is not None])
            mine = [*read]
        here.secure(repo, [(e, f) for _, e, f in mine if f is not None])
        for path, entry, _ in staged + read:
            manifest.add(entry if entry.path == path else _moved(entry, path))
        if not len(manifest):
            raise InvalidInput(f"artifact {label} has no files; add some with add_file/add_dir")
        return manifest

    def _read_immutable(self, capture: Capture) -> list[tuple[str, Entry, SourceFile]]:
        """The ``policy="immutable"`` files, read now as they are now (a fresh stat), into the
        packs of ``capture`` (the caller, a commit, holds the locks)."""
        later = {p: s for p, s in self._staged.items() if s.entry is None and s.source is not None}
        if not later:
            return []
        files = [f for p, s in later.items() if s.source for f in scan(s.source.local, p)]
        entries = capture.add_held(files)
        for entry in entries:
            _check_promise(later[entry.path], entry)
        return [(e.path, e, f) for e, f in zip(entries, files, strict=True)]

    def _cleanup(self) -> None:
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
        self._staged, self._base_removals, self._capture = {}, [], None


def _policy(policy: str | None) -> Policy:
    """W&B's two storage policies (None: the default, mutable)."""
    if policy is None or policy == "mutable":
        return "mutable"
    if policy == "immutable":
        return "immutable"
    raise InvalidInput(f"invalid policy {policy!r}: use 'mutable' or 'immutable'")


def _tmp_name(path: str, digest: str) -> str:
    """W&B's ``is_tmp`` name: the file's stem (up to its first dot) replaced by the digest's
    first 20 hex digits, so ``out/pred.tmp.npy`` becomes ``out/<digest>.tmp.npy``."""
    head, base = posixpath.split(path)
    parts = base.split(".")
    parts[0] = digest[:TMP_NAME_DIGITS]
    return posixpath.join(head, ".".join(parts))


def _check_promise(staged: Staged, entry: Entry) -> None:
    """An immutable file whose digest was taken when it was added (``is_tmp``, or to compare
    two adds) must still have it: never log other bytes than those it was named by."""
    if staged.digest is not None and staged.digest != entry.digest:
        assert staged.source is not None
        raise SourceChanged(
            f"{staged.source.local} changed after it was added with policy='immutable'",
            hint="add it with the default policy='mutable' to capture its bytes when added",
        )


def _moved(entry: Entry, path: str) -> Entry:
    return Entry(path, entry.digest, entry.size, entry.ref, entry.ref_state, entry.extra)
