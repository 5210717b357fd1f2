"""Manifests: the list of files of one version, as canonical bytes named by their BLAKE3.

A manifest is JSON Lines: a header line ``{"format":1,"kind":"artctl-manifest"}`` then one line
per entry, sorted by path, each ``json.dumps(sort_keys=True, separators=(",", ":"))``. The same
content always gives the same bytes, so the same digest — which is how "identical content makes
no new version" is decided — and a reader can stream a million entries without holding them.
"""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from artctl.base.hashing import hash_bytes, is_digest
from artctl.errors import IntegrityError, UnsafePath

MANIFEST_FORMAT = 1
_HEADER = {"format": MANIFEST_FORMAT, "kind": "artctl-manifest"}


#: Control characters, backslashes and lone surrogates (a file name that is not valid UTF-8,
#: as Python decodes it, or a ``\udcxx`` escape in a manifest from outside).
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\\ud800-\udfff]")
_BAD_SEGMENT = re.compile(r"(?:^|/)\.{0,2}(?:/|$)")


def validate_path(path: object) -> str:
    """Return ``path`` if it is a safe relative POSIX path inside an artifact, else raise (it
    may come from an untrusted manifest: any JSON value).

    Refused: empty, absolute, ``..``/``.`` or empty segments, backslashes, NUL and other control
    characters. These are the paths that could escape ``--root`` on download.
    """
    if not isinstance(path, str) or not path:
        raise UnsafePath("empty path in artifact")
    bad = _CONTROL.search(path)
    if bad:
        what = (
            "a backslash"
            if bad.group() == "\\"
            else "bytes that are not valid UTF-8"
            if "\ud800" <= bad.group() <= "\udfff"
            else "a control character"
        )
        raise UnsafePath(f"path {path!r} contains {what}")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise UnsafePath(f"path {path!r} is absolute")
    if _BAD_SEGMENT.search(path):
        raise UnsafePath(f"path {path!r} has an empty, '.' or '..' segment")
    if len(path) > 1024 and len(path.encode()) > 4096:
        raise UnsafePath(f"path {path[:40]!r}… is too long")
    return path


def validate_segment(name: str) -> str:
    """A single file or directory name: the cheap check used while scanning a tree."""
    if "/" in name or name in (".", "..") or _CONTROL.search(name):
        validate_path(name if "/" not in name else name + "/")
        raise UnsafePath(f"file name {name!r} cannot be stored")
    return name


def collision_key(path: str) -> str:
    """Paths that would land on the same file on a case-insensitive or NFC/NFD filesystem."""
    if path.isascii():  # NFC leaves ASCII alone and casefold is lower (the common, fast case)
        return path.lower()
    return unicodedata.normalize("NFC", path).casefold()


@dataclass(slots=True)
class Entry:
    """One file of a version. ``ref`` is set for references (bytes stored elsewhere).

    Treat as immutable (build a new one to change it). Not ``frozen``: a frozen dataclass takes
    four times longer to build, and manifests build one entry per file, by the million.
    """

    path: str
    digest: str | None
    size: int
    ref: str | None = None
    ref_state: dict[str, Any] | None = None
    extra: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "digest": self.digest, "size": self.size}
        if self.ref is not None:
            out["ref"] = self.ref
        if self.ref_state:
            out["ref_state"] = self.ref_state
        if self.extra:
            out["extra"] = self.extra
        return out

    @classmethod
    def from_json(cls, obj: Any) -> Entry:
        if not isinstance(obj, dict):
            raise IntegrityError("manifest entry is not an object")
        path = validate_path(obj.get("path"))
        digest = obj.get("digest")
        size = obj.get("size")
        ref = obj.get("ref")
        if digest is not None and not (isinstance(digest, str) and is_digest(digest)):
            raise IntegrityError(f"manifest entry {path!r} has an invalid digest")
        if digest is None and ref is None:
            raise IntegrityError(f"manifest entry {path!r} has neither digest nor reference")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise IntegrityError(f"manifest entry {path!r} has an invalid size")
        if ref is not None and not isinstance(ref, str):
            raise IntegrityError(f"manifest entry {path!r} has an invalid reference")
        return cls(path, digest, size, ref, obj.get("ref_state") or None, obj.get("extra") or None)


def _line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


_dumps_str = json.JSONEncoder(ensure_ascii=False).encode


def _entry_line(entry: Entry) -> bytes:
    """``_line(entry.to_json())``, spelled out for the common case (the manifest hot path)."""
    if entry.ref is None and not entry.extra and not entry.ref_state:
        digest = "null" if entry.digest is None else f'"{entry.digest}"'
        return f'{{"digest":{digest},"path":{_dumps_str(entry.path)},"size":{entry.size}}}\n'.encode()
    return _line(entry.to_json())


@dataclass
class Manifest:
    """An in-memory manifest: path → Entry. ``canonical()`` gives the stored bytes."""

    entries: dict[str, Entry] = field(default_factory=dict)

    def add(self, entry: Entry, *, replace: bool = True) -> None:
        validate_path(entry.path)
        if not replace and entry.path in self.entries:
            raise UnsafePath(f"path {entry.path!r} appears twice")
        self.entries[entry.path] = entry

    def remove_prefix(self, path: str) -> list[str]:
        """Remove ``path`` or, for ``dir/`` or a directory name, everything under it."""
        key = path.rstrip("/")
        gone = [p for p in self.entries if p == key or p.startswith(key + "/")]
        for p in gone:
            del self.entries[p]
        return gone

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        for path in sorted(self.entries):
            yield self.entries[path]

    @property
    def total_size(self) -> int:
        return sum(e.size for e in self.entries.values())

    def check_collisions(self) -> None:
        """Refuse two paths that collide after normalization, or a file that is also a dir."""
        seen: set[str] = set()  # a set, not key -> path: a million keys cost half as much
        for path in self.entries:
            key = collision_key(path)
            if key in seen:
                other = next(p for p in self.entries if p != path and collision_key(p) == key)
                raise UnsafePath(f"paths {other!r} and {path!r} collide after normalization")
            seen.add(path if key == path else key)  # the entry's own string when it is its key
        checked: set[str] = set()  # directories already known not to be files: each walked once
        for path in self.entries:
            parent = path.rpartition("/")[0]
            while parent and parent not in checked:
                if parent in self.entries:
                    raise UnsafePath(f"{parent!r} is both a file and a directory in this artifact")
                checked.add(parent)
                parent = parent.rpartition("/")[0]

    def canonical_chunks(self, lines_per_chunk: int = 8192) -> Iterator[bytes]:
        """The canonical bytes in pieces: a million-entry manifest is never one buffer."""
        self.check_collisions()
        yield _line(_HEADER)
        batch: list[bytes] = []
        for entry in self:
            batch.append(_entry_line(entry))
            if len(batch) >= lines_per_chunk:
                yield b"".join(batch)
                batch = []
        if batch:
            yield b"".join(batch)

    def canonical(self) -> bytes:
        return b"".join(self.canonical_chunks())

    def digest(self) -> str:
        return hash_bytes(self.canonical())

    @classmethod
    def parse(cls, data: bytes, name: str = "manifest") -> Manifest:
        """Parse untrusted manifest bytes; every path is validated before anything is written."""
        manifest = cls()
        entries = manifest.entries
        for entry in iter_entries(data, name):  # each path validated by Entry.from_json
            if entry.path in entries:
                raise UnsafePath(f"path {entry.path!r} appears twice")
            entries[entry.path] = entry
        manifest.check_collisions()
        return manifest

    @classmethod
    def from_entries(cls, entries: Iterable[Entry], *, validated: bool = False) -> Manifest:
        """Build from entries; ``validated=True`` skips path checks already done by a scan."""
        manifest = cls()
        if validated:
            manifest.entries.update((e.path, e) for e in entries)
            return manifest
        for entry in entries:
            manifest.add(entry)
        return manifest


def iter_entries(data: bytes, name: str = "manifest") -> Iterator[Entry]:
    """Stream entries from manifest bytes, checking the header and each line."""
    lines = data.splitlines()
    if not lines:
        raise IntegrityError(f"{name} is empty")
    check_header(lines[0], name)
    yield from entries_after_header(lines, name)


def check_header(line: bytes, name: str) -> None:
    try:
        header = json.loads(line)
    except ValueError:
        raise IntegrityError(f"{name} is not an artctl manifest") from None
    if not isinstance(header, dict) or header.get("kind") != "artctl-manifest":
        raise IntegrityError(f"{name} is not an artctl manifest")
    if header.get("format") != MANIFEST_FORMAT:
        raise IntegrityError(
            f"{name} has unsupported format {header.get('format')!r}", hint="upgrade artctl to read it"
        )


def entries_after_header(lines: list[bytes], name: str) -> Iterator[Entry]:
    """The entries of a JSONL document (manifest, distributed part) whose header the caller
    has checked: one per line after the first, each a clear error naming its line if malformed."""
    yield from _parse_lines(lines[1:], 2, name)


def _parse_lines(lines: list[bytes], first_number: int, name: str) -> Iterator[Entry]:
    """Entries of consecutive entry lines, parsed in one JSON call (line by line only to name
    the line at fault): several times faster than a call per line."""
    objs = _loads_all(lines)
    if objs is None:
        for number, raw in enumerate(lines, start=first_number):
            try:
                json.loads(raw)
            except ValueError:
                raise IntegrityError(f"{name} line {number} is not valid JSON") from None
        raise IntegrityError(f"{name} is not one JSON object per line")
    from_json = Entry.from_json
    for obj in objs:
        yield from_json(obj)


def _loads_all(lines: list[bytes]) -> list[Any] | None:
    """Every line's JSON object in one parser call, or None if that does not give exactly one
    object per line."""
    try:
        objs = json.loads(b"[" + b",".join(lines) + b"]")
    except ValueError:
        return None
    return objs if len(objs) == len(lines) else None


#: Entry lines parsed per JSON call when streaming: fast, and the parsed objects of one block
#: are all that is held at once.
STREAM_LINES = 8192


def stream_entries(blocks: Iterable[bytes], name: str = "manifest") -> Iterator[Entry]:
    """Entries of manifest bytes arriving in blocks (a file read piece by piece).

    Memory stays bounded whatever the manifest's size. Paths must be strictly increasing (the
    canonical order), which also rules out duplicates without remembering every path.
    """
    rest = b""
    number = 1  # line number of the first line in ``pending``
    pending: list[bytes] = []
    previous = ""
    header_seen = False

    def flush() -> Iterator[Entry]:
        nonlocal previous, number
        for entry in _parse_lines(pending, number, name):
            if entry.path <= previous:
                raise IntegrityError(f"{name} is not sorted by path (at {entry.path!r})")
            previous = entry.path
            yield entry
        number += len(pending)
        pending.clear()

    def lines_of(block_lines: list[bytes]) -> Iterator[Entry]:
        nonlocal header_seen, number
        for line in block_lines:
            if not header_seen:
                check_header(line, name)
                header_seen, number = True, 2
                continue
            pending.append(line)
            if len(pending) >= STREAM_LINES:
                yield from flush()

    for block in blocks:
        parts = (rest + block).split(b"\n")
        rest = parts.pop()
        yield from lines_of(parts)
    if rest.strip():
        yield from lines_of([rest])
    if not header_seen:
        raise IntegrityError(f"{name} is empty")
    if pending:
        yield from flush()


@dataclass(frozen=True)
class ManifestDiff:
    """What changed between two manifests, by path."""

    added: list[str]
    removed: list[str]
    changed: list[str]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff(old: Manifest, new: Manifest) -> ManifestDiff:
    """Paths added, removed and changed (digest, size or reference state) from old to new."""
    return diff_sorted(iter(old), iter(new))


def diff_sorted(old: Iterable[Entry], new: Iterable[Entry]) -> ManifestDiff:
    """:func:`diff` of two entry streams sorted by path, merged in one pass: two manifests of
    a million files are compared without holding either."""
    added: list[str] = []
    removed: list[str] = []
    changed: list[str] = []
    old_it, new_it = iter(old), iter(new)
    a, b = next(old_it, None), next(new_it, None)
    while a is not None and b is not None:
        if a.path < b.path:
            removed.append(a.path)
            a = next(old_it, None)
        elif b.path < a.path:
            added.append(b.path)
            b = next(new_it, None)
        else:
            if a != b and a.to_json() != b.to_json():
                changed.append(a.path)
            a, b = next(old_it, None), next(new_it, None)
    if a is not None:  # one stream is exhausted: the rest of the other is all added or removed
        removed.extend(e.path for e in itertools.chain([a], old_it))
    if b is not None:
        added.extend(e.path for e in itertools.chain([b], new_it))
    return ManifestDiff(added, removed, changed)
