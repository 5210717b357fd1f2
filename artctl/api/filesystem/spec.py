"""The ``AbstractFileSystem`` of ``artctl://``: listing, reading and refusing writes.

What a path names is resolved once per instance (:mod:`artctl.api.filesystem.tree`), where
``repo=`` points by :mod:`artctl.ops.read_target`; bytes come from :mod:`artctl.ops.lazy_read`
(blobs) and :mod:`artctl.ops.read_refs` (references). This class adds fsspec's spec on top,
and records the versions read by the active run.
"""

from __future__ import annotations

import bisect
import os
import sys
import threading
import weakref
from typing import TYPE_CHECKING, Any

from fsspec.spec import AbstractFileSystem

from artctl.api.filesystem.file import READ_AHEAD, ArtctlFile
from artctl.api.filesystem.tree import LOCATE_ALL_AFTER, VersionTree, dir_info, file_info, split_path
from artctl.errors import ArtctlError, ReadOnly, RepositoryNotFound
from artctl.format.manifest import Entry
from artctl.format.names import parse_ref
from artctl.ops.lazy_read import BlobReader
from artctl.ops.read_refs import ReferenceFiles
from artctl.ops.read_target import cwd_repository, open_target
from artctl.repository.repo import Repository, find_root

if TYPE_CHECKING:
    from artctl.ops.cache import UseLog

_WRITE_HINT = "artctl:// is read-only; make a new version with `artctl artifact put` (or a draft)"


def read_only(path: str) -> ReadOnly:
    """The one error of every write through ``artctl://``."""
    return ReadOnly(f"cannot write {path}: {_WRITE_HINT}", hint="`artctl artifact put PATH --name NAME`")


class _DefaultRepo(type(AbstractFileSystem)):  # type: ignore[misc]
    """Fill ``repo`` before fsspec caches the instance: two working directories (or two
    ``ARTCTL_DIR``s) in one process are two repositories, never one cached filesystem."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if not args and kwargs.get("repo") is None:
            try:
                kwargs["repo"] = str(find_root())
            except RepositoryNotFound as exc:
                raise RepositoryNotFound(
                    f"artctl://: {exc.message}",
                    hint="run inside a repository, set ARTCTL_DIR, or pass the storage option repo= "
                    "(a repository path, a remote's name or a remote URL)",
                ) from None
        return super().__call__(*args, **kwargs)


class ArtctlFileSystem(AbstractFileSystem, metaclass=_DefaultRepo):
    """Read-only fsspec view of artifact versions (module docstring)."""

    protocol = "artctl"
    root_marker = ""
    async_impl = False

    def __init__(
        self,
        repo: str | os.PathLike[str] | None = None,
        *,
        remote_options: dict[str, Any] | None = None,
        cache: bool = True,
        allow_local_refs: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._where = open_target(str(repo) if repo is not None else str(find_root()), remote_options)
        self.reader = BlobReader(self._where.local, self._where.remotes, cache=cache)
        self.references = ReferenceFiles(self._where.local, cache=cache, allow_local=allow_local_refs)
        self._versions: dict[str, VersionTree] = {}
        self._used: set[tuple[str, str]] = set()
        self._uses: UseLog | None = None
        if self._where.local is not None:  # blobs read count for `cache cleanup` of that store
            from artctl.ops.cache import UseLog

            self._uses = UseLog(self._where.local)
            weakref.finalize(self, self._uses.flush)
        self._lock = threading.RLock()

    @property
    def allow_local_refs(self) -> bool | None:
        """Follow references that point at this machine (None: the repository's setting)."""
        return self.references.allow_local

    @allow_local_refs.setter
    def allow_local_refs(self, value: bool | None) -> None:
        self.references.allow_local = value

    # -- paths and versions -------------------------------------------------------------------
    def _version(self, path: str) -> tuple[VersionTree, str]:
        """The version a path is in (resolved once per instance) and the path inside it."""
        prefix, ref, inner = split_path(self._strip_protocol(path))
        with self._lock:
            tree = self._versions.get(prefix)
        if tree is None:
            record, manifest, origin = self._where.resolve(ref)
            tree = VersionTree.build(prefix, record, manifest, origin)
            with self._lock:
                tree = self._versions.setdefault(prefix, tree)
        return tree, inner

    def _entry(self, path: str) -> tuple[VersionTree, Entry]:
        tree, inner = self._version(path)
        entry = tree.entries.get(inner)
        if entry is None:
            where = f"{tree.record.name}:{tree.record.version}"
            if inner in tree.children:
                raise IsADirectoryError(f"{path}: a directory in {where}")
            raise FileNotFoundError(f"{path}: no such file in {where}")
        return tree, entry

    def invalidate_cache(self, path: str | None = None) -> None:
        """Forget resolved versions: the next access resolves aliases (``latest``) again."""
        with self._lock:
            self._versions.clear()
        super().invalidate_cache(path)

    # -- the read side of the spec ------------------------------------------------------------
    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        tree, inner = self._version(path)
        entry = tree.entries.get(inner)
        if entry is not None:
            return file_info(tree, entry)
        if inner in tree.children:
            return dir_info(tree, inner)
        raise FileNotFoundError(f"{path}: no such file in {tree.record.name}:{tree.record.version}")

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        tree, inner = self._version(path)
        entry = tree.entries.get(inner)
        if entry is not None:
            out = [file_info(tree, entry)]
        elif inner in tree.children:
            base = f"{inner}/" if inner else ""
            out = [
                file_info(tree, tree.entries[base + name]) if is_file else dir_info(tree, base + name)
                for name, is_file in sorted(tree.children[inner].items())
            ]
        else:
            raise FileNotFoundError(
                f"{path}: no such file or directory in {tree.record.name}:{tree.record.version}"
            )
        return out if detail else [o["name"] for o in out]

    def find(
        self,
        path: str,
        maxdepth: int | None = None,
        withdirs: bool = False,
        detail: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Every file (and directory, ``withdirs``) under ``path``, from the version's index:
        no request, a bisect and a slice."""
        if maxdepth is not None and maxdepth < 1:
            raise ValueError("maxdepth must be at least 1")
        tree, inner = self._version(path)
        entry = tree.entries.get(inner)
        out: dict[str, dict[str, Any]] = {}
        if entry is not None:
            info = file_info(tree, entry)
            out[info["name"]] = info
        elif inner in tree.children:
            names, infos, depths = tree.items()
            if inner:
                base = f"{tree.prefix}/{inner}"
                lo, hi = bisect.bisect_left(names, base + "/"), bisect.bisect_left(names, base + "0")
                if withdirs:
                    out[base] = dir_info(tree, inner)
            else:
                lo, hi = 0, len(names)
            top = inner.count("/") + 1 if inner else 0
            if maxdepth is None and withdirs:
                out.update(zip(names[lo:hi], infos[lo:hi], strict=True))
            else:
                limit = top + maxdepth if maxdepth is not None else None
                out.update(
                    (names[i], infos[i])
                    for i in range(lo, hi)
                    if (withdirs or infos[i]["type"] == "file") and (limit is None or depths[i] <= limit)
                )
        return out if detail else list(out)

    def checksum(self, path: str) -> str:
        """The file's BLAKE3 (hex), as the manifest records it."""
        tree, entry = self._entry(path)
        if entry.digest is None:  # a reference logged without checksum: its recorded URI is all
            return f"ref:{entry.ref}"
        return entry.digest

    def ukey(self, path: str) -> str:
        return self.checksum(path)

    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        tree, entry = self._entry(path)
        size = entry.size
        lo = 0 if start is None else (max(0, size + start) if start < 0 else start)
        hi = size if end is None else (max(0, size + end) if end < 0 else min(end, size))
        self.note_use(tree, entry)
        return self.read_entry(tree, entry, lo, hi)

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> ArtctlFile:
        if mode != "rb":
            raise read_only(path)
        tree, entry = self._entry(path)
        self.note_use(tree, entry)
        return ArtctlFile(
            self,
            self._strip_protocol(path),
            tree,
            entry,
            block_size=block_size or READ_AHEAD,
            cache_options=cache_options,
        )

    # -- bytes --------------------------------------------------------------------------------
    def read_entry(self, tree: VersionTree, entry: Entry, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of a file of the version, verified where they can be."""
        label = f"{tree.record.name}:{tree.record.version}/{entry.path}"
        tree.reads += 1
        if tree.reads == LOCATE_ALL_AFTER:  # many files read: one store query for all of them
            self.reader.locate_all(e.digest for e in tree.entries.values() if e.digest is not None)
        if entry.ref is not None and not (entry.digest and self.reader.local_location(entry.digest)):
            what = f"{tree.record.name}:{tree.record.version}"
            return self.references.read(entry, tree.origin, what, start, end)
        assert entry.digest is not None
        return self.reader.read(entry.digest, entry.size, start, end, label)

    # -- lineage and cache bookkeeping --------------------------------------------------------
    def note_use(self, tree: VersionTree, entry: Entry) -> None:
        """Record the version as used by the active run (once), and the blob as just used."""
        local = self._where.local
        if self._uses is not None and entry.digest is not None:
            self._uses.add(entry)
        run = _active_run(local)
        if run is None:
            return
        repository, run_id = run
        key = (run_id, tree.record.digest)
        with self._lock:
            if key in self._used:
                return
        from artctl.repository.commit import link_of

        repository.runs.link(run_id, link_of(tree.record), direction="input")
        with self._lock:
            self._used.add(key)

    # -- writes are refused -------------------------------------------------------------------
    def pipe_file(self, path: str, value: bytes, **kwargs: Any) -> None:
        raise read_only(path)

    def put_file(self, lpath: str, rpath: str, **kwargs: Any) -> None:
        raise read_only(rpath)

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        raise read_only(path2)

    def mv(self, path1: str, path2: str, **kwargs: Any) -> None:
        raise read_only(path1)

    def rm_file(self, path: str) -> None:
        raise read_only(path)

    def rm(self, path: str, recursive: bool = False, maxdepth: int | None = None) -> None:
        raise read_only(path if isinstance(path, str) else ", ".join(path))

    def _rm(self, path: str) -> None:
        raise read_only(path)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        raise read_only(path)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        raise read_only(path)

    def rmdir(self, path: str) -> None:
        raise read_only(path)

    def touch(self, path: str, truncate: bool = True, **kwargs: Any) -> None:
        raise read_only(path)


def _active_run(local: Repository | None) -> tuple[Repository, str] | None:
    """The run to link a read version to: ``artctl.init()``'s, else ``$ARTCTL_RUN`` in ``local``.

    A run started in this process was started through ``artctl.api.run``: while that module is
    not loaded no run is active, and a plain read does not import the whole run API for it.
    """
    runs = sys.modules.get("artctl.api.run")
    run = runs.active_run() if runs is not None else None
    if run is not None:
        return run.repo.repository, run.id
    run_id = os.environ.get("ARTCTL_RUN")
    if not run_id:
        return None
    repository = local or cwd_repository()
    if repository is None:
        raise ArtctlError(
            f"ARTCTL_RUN={run_id} is set but no repository here holds runs",
            hint="unset ARTCTL_RUN, or read from inside the repository of that run",
        )
    return repository, run_id


def open(ref: str, path: str, mode: str = "rb", **storage_options: Any) -> Any:  # noqa: A001 - the public name
    """``artctl.open("proj/ds:v3", "train/a.csv")``: one file of a version, as ``fsspec.open`` would."""
    if mode != "rb":
        raise read_only(f"{ref}/{path}")
    parsed = parse_ref(ref)
    fs = ArtctlFileSystem(**storage_options)
    return fs.open(f"{parsed}/{path.lstrip('/')}", mode)
