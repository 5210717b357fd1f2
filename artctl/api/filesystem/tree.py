"""A resolved version indexed for listing, and the ``artctl://`` path rule that names it.

A path is ``[entity/]project/name[:alias]/path/in/artifact``: the name ends at the component
that carries ``:alias``; without one it is ``project/name``. :class:`VersionTree` holds one
version's entries sorted by path and its implied directories, and builds fsspec's ``info``
dicts (:func:`file_info`, :func:`dir_info`) with the version prefix as it was written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from artctl.errors import InvalidInput
from artctl.format.manifest import Entry, Manifest
from artctl.format.names import ArtifactRef, parse_ref
from artctl.format.records import VersionRecord

#: After this many reads from one version, the local store is asked once where all of its
#: blobs are: a loop over thousands of small files then costs no query per file, and reading
#: one file of a big version costs one small query.
LOCATE_ALL_AFTER = 16


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
