"""What every reference adapter shares: the listing record, the adapter interface, the limits.

An adapter knows one kind of external storage (S3, GCS, Azure, HTTP, a local/NFS path). It does
two things: ``list`` a URI into the objects it stands for, each with the provider's identity of
that exact state (ETag, version id, generation, md5 …), and ``fetch`` the recorded state of one
entry back, verified. Keeping the interface this small is what lets ``get`` treat every scheme
the same way (see ``references/source.py``).
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from artctl.base.hashing import new_hasher
from artctl.base.units import count
from artctl.errors import InvalidInput, ReferenceChanged
from artctl.format.manifest import Entry

#: W&B's default: a prefix or directory expands to at most this many objects.
DEFAULT_MAX_OBJECTS = 10_000
CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class RemoteObject:
    """One object a reference URI stands for, as listed (not downloaded).

    ``rel`` is its path below the listed prefix ("" when the URI named the object itself);
    ``state`` is the provider's identity of this exact state; ``digest`` the BLAKE3 when the
    listing already knows it (file://, HTTP without validators).
    """

    uri: str
    rel: str
    size: int
    state: dict[str, Any]
    digest: str | None = None


@dataclass(frozen=True)
class Fetched:
    """What a download wrote: byte count, BLAKE3 and (for providers that publish one) md5."""

    size: int
    digest: str
    md5: bytes


class Adapter(Protocol):
    """One kind of external storage."""

    def list(self, uri: str, max_objects: int) -> list[RemoteObject]:
        """The objects under ``uri``; ObjectNotFound if none, InvalidInput past ``max_objects``."""

    def fetch(self, entry: Entry, dst: Path) -> Fetched:
        """Write the recorded state of ``entry`` to ``dst``, verified; ReferenceChanged if gone."""

    def fetch_current(self, uri: str, dst: Path) -> Fetched:
        """Write whatever ``uri`` holds now (entries logged with ``checksum=False``)."""


def copy_stream(
    src: BinaryIO, dst: Path, *, progress: Callable[[int], None] | None = None, limit: int | None = None
) -> Fetched:
    """Stream ``src`` into a new file ``dst`` while hashing (BLAKE3 + md5) in the same pass.

    With ``limit`` (the logged size) it stops after ``limit + 1`` bytes: a reference that grew,
    or never ends, cannot fill the disk; :func:`check_size` then reports it.
    """
    hasher = new_hasher()
    md5 = hashlib.md5(usedforsecurity=False)
    total = 0
    with open(dst, "xb") as out:
        while (limit is None or total <= limit) and (
            chunk := src.read(CHUNK if limit is None else min(CHUNK, limit + 1 - total))
        ):
            out.write(chunk)
            hasher.update(chunk)
            md5.update(chunk)
            total += len(chunk)
            if progress:
                progress(len(chunk))
    return Fetched(total, hasher.hexdigest(), md5.digest())


def too_many(uri: str, limit: int) -> InvalidInput:
    return InvalidInput(
        f"{uri} holds more than {count(limit, 'object')} (the --max-objects limit)",
        hint="raise it with --max-objects N (Python: max_objects=N) or reference a narrower prefix",
    )


def changed(entry: Entry, what: str, *, versioned_hint: bool = True) -> ReferenceChanged:
    """The one error for "the data behind this reference is not what was logged"."""
    hint = (
        (
            "enable object versioning on the bucket so old states stay readable, or log the "
            "reference again to record its current state"
        )
        if versioned_hint
        else "log the reference again to record its current state"
    )
    return ReferenceChanged(
        f"reference {entry.path} ({entry.ref}) changed since it was logged: "
        f"{what}; its logged bytes are no longer available",
        hint=hint,
    )


def unchecked_prefix(uri: str) -> InvalidInput:
    """A prefix logged with ``checksum=False`` names no object list to download."""
    return InvalidInput(
        f"{uri} is a prefix or directory logged without checksum: there is no list of objects to download",
        hint="log it again with checksums (the default) to track its objects",
    )


def check_size(entry: Entry, got: Fetched) -> None:
    if got.size > entry.size:
        raise changed(entry, f"it holds more than its logged {entry.size} bytes (the download was stopped)")
    if got.size != entry.size:
        raise changed(entry, f"size {entry.size} → {got.size} bytes")


def join_rel(prefix_key: str, key: str) -> str:
    """``key`` relative to ``prefix_key`` (both POSIX, no scheme)."""
    prefix_key = prefix_key.rstrip("/")
    if key == prefix_key:
        return ""
    return key[len(prefix_key) + 1 :] if prefix_key else key


def basename(uri: str) -> str:
    """Last path segment of a URI (``s3://b/dir/`` → ``dir``; ``s3://b`` → ``b``)."""
    rest = uri.split("://", 1)[-1].split("?", 1)[0].rstrip("/")
    return posixpath.basename(rest) or rest
