"""``artctl://`` — an fsspec filesystem over artifact versions: read them where the data is used.

    import pandas as pd
    df = pd.read_csv("artctl://proj/iris:v3/train.csv")
    df = pd.read_parquet("artctl://proj/iris/train.parquet",           # alias: latest
                         storage_options={"repo": "s3://bucket/team", "remote_options": {...}})

A path is ``[entity/]project/name[:alias]/path/in/artifact``; the alias defaults to ``latest``.
The name ends at the component that carries ``:alias``; without one it is ``project/name`` (an
entity-qualified name needs its alias: ``ent/proj/ds:latest/x``). Paths this filesystem returns
keep the version prefix as it was written.

Storage options (registered through the ``fsspec.specs`` entry point):

``repo``
    a path (a directory holding ``.artifacts/``, or that directory), the name of a configured
    remote, or a remote URL (``s3://…``, ``gs://…``, ``file://…``) read without a clone. Default:
    the repository around the working directory, or ``ARTCTL_DIR``.
``remote_options``
    fsspec storage options for a remote URL (as ``artctl remote add -o``); a configured
    remote uses its own.
``cache``
    (default True) put blobs fetched from a remote, read entirely and verified, in the local
    store (the repository of the working directory when ``repo`` is a URL), where ``cache
    cleanup`` counts them.
``allow_local_refs``
    follow references of a pulled version that point at this machine (as ``get --allow-local-refs``).

Read-only: every write raises :class:`~artctl.errors.ReadOnly` (a PermissionError). A version is
resolved once per filesystem instance (a long job keeps reading the version it started with);
``invalidate_cache()`` resolves aliases again. Reads are lazy and ranged (``ops/lazy_read.py``);
a file read sequentially to its end through :meth:`open` is verified against its BLAKE3 there.
When a run is active (``artctl.init()`` or ``ARTCTL_RUN``), opening or reading a file records
its version as used by that run, once.
"""

from __future__ import annotations

import bisect
import builtins
import os
import shutil
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from artctl.base.hashing import new_hasher
from artctl.errors import ArtctlError, InvalidInput, ReadOnly, RepositoryNotFound
from artctl.format.layout import FORMAT_FILE
from artctl.format.manifest import Entry, Manifest
from artctl.format.names import ArtifactRef, parse_ref
from artctl.format.records import VersionRecord
from artctl.ops.lazy_read import WHOLE_BLOB_BYTES, BlobReader, RemoteBlobs
from artctl.repository.repo import Repository, check_format, find_root

#: Bytes a file opened for reading fetches beyond what was asked (fsspec's read-ahead cache):
#: small enough that one line of a big remote file costs about one request of this size.
READ_AHEAD = 1024 * 1024

#: After this many reads from one version, the local store is asked once where all of its
#: blobs are: a loop over thousands of small files then costs no query per file, and reading
#: one file of a big version costs one small query.
LOCATE_ALL_AFTER = 16

_WRITE_HINT = "artctl:// is read-only; make a new version with `artctl artifact put` (or a draft)"


def read_only(path: str) -> ReadOnly:
    """The one error of every write through ``artctl://``."""
    return ReadOnly(f"cannot write {path}: {_WRITE_HINT}", hint="`artctl artifact put PATH --name NAME`")


@dataclass
class VersionTree:
    """One resolved version: its record, its entries sorted by path, and its directories."""

    prefix: str  # the version part of paths as written: "proj/ds:v3"
    record: VersionRecord
    origin: str | None  # the remote its manifest came from (references are then checked)
    paths: list[str]
    entries: dict[str, Entry]
    children: dict[str, dict[str, bool]] = field(default_factory=dict)  # dir -> {name: is_file}
    _items: tuple[list[str], list[dict[str, Any]], list[int]] | None = None
    reads: int = 0  # files read so far (see LOCATE_ALL_AFTER)

    @classmethod
    def build(cls, prefix: str, record: VersionRecord, manifest: Manifest, origin: str | None) -> VersionTree:
        """Index a manifest for listing: one pass over its paths."""
        entries = {e.path: e for e in manifest}
        paths = sorted(entries)
        children: dict[str, dict[str, bool]] = {"": {}}
        for path in paths:
            parent, _, name = path.rpartition("/")
            is_file = True
            while True:
                siblings = children.setdefault(parent, {})
                known = name in siblings
                siblings[name] = is_file
                if known or not parent:
                    break
                parent, _, name = parent.rpartition("/")
                is_file = False
        return cls(prefix, record, origin, paths, entries, children)

    def items(self) -> tuple[list[str], list[dict[str, Any]], list[int]]:
        """Every file and directory as ``(names, infos, depths)`` sorted by name, built once:
        ``find`` and ``glob`` then slice it instead of building 20,000 dicts per call."""
        if self._items is None:
            rows = [
                (f"{self.prefix}/{p}", file_info(self, e), p.count("/") + 1) for p, e in self.entries.items()
            ]
            rows += [(f"{self.prefix}/{d}", dir_info(self, d), d.count("/") + 1) for d in self.children if d]
            rows.sort(key=lambda row: row[0])
            self._items = ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
        return self._items


def file_info(tree: VersionTree, entry: Entry) -> dict[str, Any]:
    """fsspec's info of a file: its size, BLAKE3 and version (and reference URI, if one)."""
    info: dict[str, Any] = {
        "name": f"{tree.prefix}/{entry.path}",
        "size": entry.size,
        "type": "file",
        "digest": entry.digest,
        "version": f"{tree.record.name}:{tree.record.version}",
    }
    if entry.ref is not None:
        info["ref"] = entry.ref
    return info


def dir_info(tree: VersionTree, inner: str) -> dict[str, Any]:
    """fsspec's info of a directory (implied by the paths under it)."""
    return {"name": f"{tree.prefix}/{inner}" if inner else tree.prefix, "size": 0, "type": "directory"}


def split_path(path: str) -> tuple[str, ArtifactRef, str]:
    """``proj/ds:v3/a/b.csv`` → ``("proj/ds:v3", ref, "a/b.csv")`` (module docstring's rule)."""
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) >= 2 and ":" in parts[1]:
        n = 2
    elif len(parts) >= 3 and ":" in parts[2]:
        n = 3
    else:
        n = 2
    if len(parts) < n:
        raise InvalidInput(
            f"artctl:// path {path!r} names no version",
            hint="write artctl://[ENTITY/]PROJECT/NAME[:ALIAS]/PATH, e.g. artctl://proj/ds:v0/train.csv",
        )
    prefix = "/".join(parts[:n])
    inner = "/".join(parts[n:])
    if any(p in (".", "..") for p in parts[n:]):
        raise InvalidInput(f"artctl:// path {path!r} has a '.' or '..' component")
    return prefix, parse_ref(prefix), inner


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
        self._where = _open_target(str(repo) if repo is not None else str(find_root()), remote_options)
        self.reader = BlobReader(self._where.local, self._where.remotes, cache=cache)
        self.allow_local_refs = allow_local_refs
        self._versions: dict[str, VersionTree] = {}
        self._used: set[tuple[str, str]] = set()
        self._uses = _UseLog(self._where.local)
        weakref.finalize(self, self._uses.flush)
        self._refs: dict[str, Path] = {}
        self._lock = threading.RLock()
        self._tmp: str | None = None

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
            return self._read_reference(tree, entry, start, end)
        assert entry.digest is not None
        return self.reader.read(entry.digest, entry.size, start, end, label)

    def _read_reference(self, tree: VersionTree, entry: Entry, start: int, end: int) -> bytes:
        """A reference entry: its recorded state, fetched once with ``get``'s rules, then ranges."""
        from artctl.references import state_key

        key = state_key(entry)
        with self._lock:
            local = self._refs.get(key)
            if local is None:
                local = self._fetch_reference(tree, entry)
                self._refs[key] = local
        with builtins.open(local, "rb") as fh:
            fh.seek(start)
            return fh.read(max(0, end - start))

    def _fetch_reference(self, tree: VersionTree, entry: Entry) -> Path:
        from artctl.references import adapter_for, is_checked
        from artctl.references.base import changed
        from artctl.references.trust import check_followable

        allow_local = self.allow_local_refs
        if allow_local is None:
            cache_repo = self._where.local
            allow_local = cache_repo.settings.allow_local_references if cache_repo is not None else False
        what = f"{tree.record.name}:{tree.record.version}"
        check_followable([entry], tree.origin, allow_local=allow_local, what=what)
        if self._tmp is None:
            self._tmp = tempfile.mkdtemp(prefix="artctl-fs-")
            weakref.finalize(self, shutil.rmtree, self._tmp, ignore_errors=True)
        dst = Path(tempfile.mkdtemp(dir=self._tmp)) / "data"
        if self._where.local is not None and self.reader.cache:
            from artctl.api.repo import Repo
            from artctl.references.source import reference_source

            reference_source(Repo(self._where.local))(entry, dst)  # verifies and caches, as `get`
        elif not is_checked(entry):
            adapter_for(entry.ref).fetch_current(entry.ref, dst)  # type: ignore[arg-type]
        else:
            got = adapter_for(entry.ref).fetch(entry, dst)  # type: ignore[arg-type]
            if entry.digest is not None and got.digest != entry.digest:
                raise changed(entry, "its bytes differ from the logged BLAKE3")
        return dst

    # -- lineage and cache bookkeeping --------------------------------------------------------
    def note_use(self, tree: VersionTree, entry: Entry) -> None:
        """Record the version as used by the active run (once), and the blob as just used."""
        local = self._where.local
        if local is not None and entry.digest is not None:
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


class ArtctlFile(AbstractBufferedFile):
    """A seekable read-only file of a version, with read-ahead; verified when read to its end."""

    def __init__(
        self,
        fs: ArtctlFileSystem,
        path: str,
        tree: VersionTree,
        entry: Entry,
        *,
        block_size: int,
        cache_options: dict[str, Any] | None = None,
    ) -> None:
        self.tree = tree
        self.entry = entry
        # A big blob read from its first byte on is hashed as it streams: at its end a mismatch
        # fails the read (and marks the blob bad). Small blobs are verified whole by the reader.
        self._hasher = new_hasher() if entry.digest is not None and entry.size > WHOLE_BLOB_BYTES else None
        self._hashed = 0
        super().__init__(
            fs,
            path,
            mode="rb",
            block_size=block_size,
            cache_type="readahead",
            cache_options=cache_options,
            size=entry.size,
        )

    def _fetch_range(self, start: int, end: int) -> bytes:
        data = self.fs.read_entry(self.tree, self.entry, start, end)
        if self._hasher is not None and start <= self._hashed < start + len(data):
            self._hasher.update(data[self._hashed - start :])
            self._hashed = start + len(data)
            if self._hashed >= self.size:
                hasher, self._hasher = self._hasher, None
                if hasher.hexdigest() != self.entry.digest:
                    label = f"{self.tree.record.name}:{self.tree.record.version}/{self.entry.path}"
                    self.fs.reader.mark_bad(self.entry.digest)
                    self.fs.reader.check_not_bad(self.entry.digest, label)
        return data


class _UseLog:
    """Blobs read, for ``cache cleanup``'s least-recently-used order: written in batches (one
    transaction per :data:`BATCH` files or :data:`EVERY` seconds, and when the filesystem goes
    away), so reading 20,000 small files does not cost 20,000 database writes."""

    BATCH = 1000
    EVERY = 5.0

    def __init__(self, local: Repository | None) -> None:
        self.local = local
        self.pending: dict[str, Entry] = {}
        self.seen: set[str] = set()
        self.last = time.monotonic()
        self.lock = threading.Lock()

    def add(self, entry: Entry) -> None:
        with self.lock:
            if entry.digest in self.seen:
                return
            self.seen.add(entry.digest)  # type: ignore[arg-type]
            self.pending[entry.digest] = entry  # type: ignore[index]
            due = len(self.pending) >= self.BATCH or time.monotonic() - self.last > self.EVERY
        if due:
            self.flush()

    def flush(self) -> None:
        with self.lock:
            entries, self.pending = list(self.pending.values()), {}
            self.last = time.monotonic()
        if entries and self.local is not None:
            from artctl.ops.cache import record_get

            record_get(self.local, entries)


# -- where versions come from -------------------------------------------------------------------
@dataclass
class _Target:
    """The repository or remote a filesystem reads, and the local store that caches for it."""

    local: Repository | None
    remotes: list[RemoteBlobs]
    remote: Any = None  # the remote's backend when versions are read from a remote
    name: str = ""

    def resolve(self, ref: ArtifactRef) -> tuple[VersionRecord, Manifest, str | None]:
        """A version's record, verified manifest and origin (the remote it came from, if any)."""
        if self.remote is not None:
            from artctl.ops.remote.reader import read_remote_manifest, resolve_remote

            record = resolve_remote(self.remote, ref)
            return record, read_remote_manifest(self.remote, record.manifest), self.name
        assert self.local is not None
        record = self.local.registry.resolve(ref)
        manifest = self.local.read_manifest(record.manifest)
        return record, manifest, self.local.manifest_origin(record.manifest)


def _open_target(repo: str, remote_options: dict[str, Any] | None) -> _Target:
    """Turn the ``repo`` storage option into a :class:`_Target` (nothing is contacted yet)."""
    from artctl.ops.remote.config import is_url, list_remotes

    local = _local_repository(repo)
    if local is not None:
        return _Target(local, [_configured(local, spec) for spec in _by_default(local, list_remotes(local))])
    cwd_repo = _cwd_repository()
    if not is_url(repo):  # a remote's name: it needs the repository that configures it
        from artctl.ops.remote.config import get_remote

        if cwd_repo is None:
            raise RepositoryNotFound(
                f"repo={repo!r} is neither a repository nor a remote URL, and no repository here "
                "configures a remote of that name",
                hint="pass a path, a remote URL (s3://…), or run inside the repository that has the remote",
            )
        spec = get_remote(cwd_repo, repo)
        holder = _configured(cwd_repo, spec)
        return _Target(cwd_repo, [holder], holder.backend, spec.name)
    return _url_target(repo, remote_options, cwd_repo)


def _url_target(url: str, remote_options: dict[str, Any] | None, cwd_repo: Repository | None) -> _Target:
    """A remote by URL: a configured remote with that URL keeps its name and options."""
    from artctl.ops.remote.config import check_backend, list_remotes, open_storage
    from artctl.ops.remote.inventory import MemoryInventory

    check_backend(url)
    if "://" not in url:
        url = Path(url).expanduser().resolve().as_uri()
    if cwd_repo is not None and remote_options is None:
        for spec in list_remotes(cwd_repo):
            if spec.url.rstrip("/") == url.rstrip("/"):
                holder = _configured(cwd_repo, spec)
                return _Target(cwd_repo, [holder], holder.backend, spec.name)
    backend = open_storage(url, remote_options or {})
    inventory = MemoryInventory(backend)
    inventory.prefetch()  # pack indexes load while FORMAT and the version are read
    found = backend.read_or_none(FORMAT_FILE)
    if found is None:
        raise RepositoryNotFound(
            f"repo={url!r} is neither a repository nor an artctl remote (it has no {FORMAT_FILE})",
            hint="check the path or URL; a remote is made by `artctl push URL`",
        )
    check_format(found, f"remote {url}")  # an artctl remote, of a format this version reads
    return _Target(cwd_repo, [RemoteBlobs(url, backend, inventory, configured=False)], backend, url)


def _configured(repository: Repository, spec: Any) -> RemoteBlobs:
    from artctl.ops.remote.config import backend_for
    from artctl.ops.remote.inventory import LazyInventory

    backend = backend_for(repository, spec)
    return RemoteBlobs(spec.name, backend, LazyInventory(repository, spec.name, backend))


def _by_default(repository: Repository, specs: list[Any]) -> list[Any]:
    """Remotes in the order ``get`` tries them: the default one first."""
    from artctl.ops.remote.config import default_remote_name

    default = default_remote_name(repository)
    return sorted(specs, key=lambda s: s.name != default)


def _local_repository(repo: str) -> Repository | None:
    """The repository at ``repo`` (the ``.artifacts`` directory or its parent), else None."""
    if "://" in repo:
        return None
    path = Path(repo).expanduser()
    for candidate in (path / ".artifacts", path):
        if (candidate / "FORMAT").is_file() and (candidate / "config.toml").exists():
            return Repository(candidate.resolve())
    return None


def _cwd_repository() -> Repository | None:
    """The repository of the working directory (or ``ARTCTL_DIR``), if there is one: it caches."""
    try:
        return Repository.find()
    except RepositoryNotFound:
        return None


def _active_run(local: Repository | None) -> tuple[Repository, str] | None:
    """The run to link a read version to: ``artctl.init()``'s, else ``$ARTCTL_RUN`` in ``local``."""
    from artctl.api.run import active_run

    run = active_run()
    if run is not None:
        return run.repo.repository, run.id
    run_id = os.environ.get("ARTCTL_RUN")
    if not run_id:
        return None
    repository = local or _cwd_repository()
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
