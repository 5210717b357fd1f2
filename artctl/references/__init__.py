"""References: entries whose bytes stay in external storage (S3, GCS, Azure, HTTP, file://).

``entries_for`` turns a URI into manifest entries — a prefix or directory expands to its objects
— each recording the URI, the size and the provider's identity of that exact state
(``ref_state``). Entries are deterministic (sorted, canonical), so logging an unchanged
reference again gives the same manifest and therefore no new version. ``get`` reads the bytes
back through :mod:`artctl.references.source`. Design notes: ``docs/references.md``.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable, Iterator

from artctl.base import extras
from artctl.base.hashing import hash_bytes
from artctl.errors import InvalidInput
from artctl.format.manifest import Entry, validate_path
from artctl.references.base import DEFAULT_MAX_OBJECTS, Adapter, basename

SCHEMES = ("s3", "gs", "gcs", "az", "abfs", "http", "https", "file")


def is_uri(text: str) -> bool:
    scheme, sep, _ = str(text).partition("://")
    return bool(sep) and scheme.isalnum()


def validate_uri(uri: str) -> str:
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme.lower() not in SCHEMES or not rest.strip("/"):
        raise InvalidInput(
            f"unsupported reference {uri!r}: use one of " + ", ".join(f"{s}://" for s in SCHEMES)
        )
    return uri


def adapter_for(uri: str) -> Adapter:
    """The adapter that understands ``uri``'s scheme (a new one per call: no shared state)."""
    scheme = validate_uri(uri).partition("://")[0].lower()
    extras.require(scheme)  # s3fs, gcsfs, adlfs are optional: say which extra, before any work
    if scheme == "s3":
        from artctl.references.cloud import S3Adapter

        return S3Adapter(scheme)
    if scheme in ("gs", "gcs"):
        from artctl.references.cloud import GCSAdapter

        return GCSAdapter(scheme)
    if scheme in ("az", "abfs"):
        from artctl.references.cloud import AzureAdapter

        return AzureAdapter(scheme)
    if scheme in ("http", "https"):
        from artctl.references.http import HTTPAdapter

        return HTTPAdapter(scheme)
    from artctl.references.local import LocalAdapter

    return LocalAdapter(scheme)


def entries_for(
    uri: str, name: str | None = None, *, checksum: bool = True, max_objects: int | None = None
) -> Iterator[Entry]:
    """Manifest entries for a reference URI, named ``name`` (a file) or under ``name`` (a prefix).

    ``checksum=False`` records the URI alone (one entry, no listing, no state): ``get`` then
    fetches whatever the URI holds at that time, unverified.
    """
    validate_uri(uri)
    limit = DEFAULT_MAX_OBJECTS if max_objects is None else max_objects
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise InvalidInput(f"max_objects must be a positive integer, not {max_objects!r}")
    prefix = name.strip("/") if name else None
    if prefix:
        validate_path(prefix)
    if not checksum:
        yield Entry(validate_path(prefix or basename(uri)), None, 0, uri)
        return
    objects = adapter_for(uri).list(uri, limit)
    for obj in objects:
        if obj.rel:
            path = posixpath.join(prefix, obj.rel) if prefix else obj.rel
        else:
            path = prefix or basename(obj.uri)
        yield Entry(validate_path(path), obj.digest, obj.size, obj.uri, obj.state or None)


def is_checked(entry: Entry) -> bool:
    """True when the entry recorded a state to verify against (not ``checksum=False``)."""
    return entry.ref is not None and (entry.digest is not None or bool(entry.ref_state))


def state_key(entry: Entry) -> str:
    """A stable name for "this URI in this recorded state": the key of the fetched-bytes map."""
    doc = {"ref": entry.ref, "size": entry.size, "state": entry.ref_state or {}, "digest": entry.digest}
    return hash_bytes(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode())


def refs_of(manifest: Iterable[Entry], path_prefix: str | None = None) -> list[tuple[str, str]]:
    """``(path, uri)`` of every reference entry (``get --refs-only``): nothing is downloaded."""
    return [
        (e.path, e.ref)
        for e in manifest
        if e.ref is not None and (not path_prefix or e.path.startswith(path_prefix))
    ]


__all__ = [
    "SCHEMES",
    "DEFAULT_MAX_OBJECTS",
    "adapter_for",
    "entries_for",
    "is_checked",
    "is_uri",
    "refs_of",
    "state_key",
    "validate_uri",
]
