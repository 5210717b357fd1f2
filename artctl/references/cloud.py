"""Object-store references (S3, GCS, Azure Blob) through fsspec.

Credentials come from each cloud's standard chain (``AWS_*``/``~/.aws``, ``STORAGE_EMULATOR_HOST``
or Google ADC, ``AZURE_STORAGE_CONNECTION_STRING``…); artctl adds no flags of its own. Every
filesystem is made with ``skip_instance_cache=True`` so a listing cached by fsspec earlier in the
process can never stand in for the bucket's current state.

What identifies an object's exact state, and how the logged state is read back:

=======  ==================================  ============================================
scheme   recorded ``ref_state``              fetch
=======  ==================================  ============================================
s3       ``etag``, ``version_id`` (if any)   that version id; else the live object if its
                                             ETag still matches; md5 checked for simple ETags
gs       ``generation``, ``md5``, ``crc32c``  ``bucket/key#generation``; md5 checked
az/abfs  ``etag``, ``version_id`` (if any)   that version; else the live blob if its ETag
                                             still matches (re-checked after the download)
=======  ==================================  ============================================
"""

from __future__ import annotations

import abc
import base64
import contextlib
from pathlib import Path
from typing import Any

from artctl.base import extras
from artctl.errors import ArtctlError, ObjectNotFound, RemoteError
from artctl.format.manifest import Entry
from artctl.references.base import (
    Fetched,
    RemoteObject,
    changed,
    check_size,
    copy_stream,
    join_rel,
    too_many,
    unchecked_prefix,
)


def _strip(uri: str) -> str:
    """``s3://bucket/key`` → ``bucket/key`` (what fsspec calls a path)."""
    return uri.split("://", 1)[1].rstrip("/")


class FsspecAdapter(abc.ABC):
    """Listing and fetching shared by the object stores; subclasses name the identity fields."""

    protocol = ""
    version_key = ""

    def __init__(self, scheme: str) -> None:
        self.scheme = scheme
        self._fs: Any = None

    # -- hooks ------------------------------------------------------------------------------
    def make_fs(self) -> Any:
        return extras.filesystem(self.protocol, version_aware=True)

    @abc.abstractmethod
    def state_of(self, info: dict[str, Any]) -> dict[str, Any]:
        """The provider's identity of this exact object state (etag, version id …)."""

    @abc.abstractmethod
    def open_recorded(self, path: str, entry: Entry) -> Any:
        """Open the bytes of the state recorded in ``entry``, or raise ReferenceChanged."""

    # -- shared -----------------------------------------------------------------------------
    @property
    def fs(self) -> Any:
        if self._fs is None:
            try:
                self._fs = self.make_fs()
            except ArtctlError:
                raise
            except Exception as exc:  # noqa: BLE001 - missing credentials, bad env: one line
                raise RemoteError(f"cannot reach {self.scheme}:// storage: {exc}") from None
        return self._fs

    def uri_of(self, path: str) -> str:
        return f"{self.scheme}://{path}"

    def list(self, uri: str, max_objects: int) -> list[RemoteObject]:
        path = _strip(uri)
        info = self._info(path, uri, missing_ok=True)
        if info is not None and info.get("type") == "file":
            return [RemoteObject(uri, "", int(info["size"]), self.state_of(info))]
        try:
            found = self.fs.find(path, detail=True)
        except FileNotFoundError:
            found = {}
        except Exception as exc:  # noqa: BLE001
            raise RemoteError(f"cannot list {uri}: {exc}") from None
        files = {k: v for k, v in found.items() if v.get("type", "file") == "file"}
        if not files:
            raise ObjectNotFound(f"no object at {uri}", hint="check the bucket, key and credentials")
        if len(files) > max_objects:
            raise too_many(uri, max_objects)
        out = []
        for key in sorted(files):
            key_info = files[key]
            if not self._complete(key_info):
                key_info = self._info(key, self.uri_of(key)) or key_info
            out.append(
                RemoteObject(
                    self.uri_of(key), join_rel(path, key), int(key_info["size"]), self.state_of(key_info)
                )
            )
        return out

    def _complete(self, info: dict[str, Any]) -> bool:
        return True

    def _info(self, path: str, uri: str, *, missing_ok: bool = False, **kwargs: Any) -> dict[str, Any] | None:
        try:
            return self.fs.info(path, **kwargs)
        except FileNotFoundError:
            if missing_ok:
                return None
            raise ObjectNotFound(f"no object at {uri}") from None
        except Exception as exc:  # noqa: BLE001 - the provider's error, as one line
            raise RemoteError(f"cannot read {uri}: {exc}") from None

    def fetch(self, entry: Entry, dst: Path) -> Fetched:
        assert entry.ref is not None
        path = _strip(entry.ref)
        try:
            with self.open_recorded(path, entry) as src:
                got = copy_stream(src, dst, limit=entry.size)
        except ArtctlError:
            raise
        except FileNotFoundError:
            raise self.explain_missing(entry, path) from None
        except OSError as exc:
            if exc.errno == 22:  # S3: a version id the bucket does not know (400)
                raise self.explain_missing(entry, path) from None
            raise RemoteError(f"cannot read {entry.ref}: {exc}") from None
        check_size(entry, got)
        self.verify(entry, path, got)
        return got

    def fetch_current(self, uri: str, dst: Path) -> Fetched:
        info = self._info(_strip(uri), uri)
        if info is not None and info.get("type") != "file":
            raise unchecked_prefix(uri)
        try:
            with self.fs.open(_strip(uri), "rb") as src:
                return copy_stream(src, dst)
        except FileNotFoundError:
            raise ObjectNotFound(f"no object at {uri}") from None

    def explain_missing(self, entry: Entry, path: str) -> Exception:
        """Why the recorded state cannot be read: deleted, or overwritten without versioning."""
        state = entry.ref_state or {}
        info = self._info(path, entry.ref or path, missing_ok=True)
        if info is None:
            return changed(entry, "the object was deleted")
        now = self.state_of(info)
        diffs = [
            f"{k} {state.get(k)} → {now.get(k)}"
            for k in sorted(set(state) | set(now))
            if state.get(k) != now.get(k)
        ]
        if not state.get(self.version_key):
            return changed(entry, ", ".join(diffs) or "it was overwritten")
        return changed(
            entry,
            f"{self.version_key} {state[self.version_key]} no longer exists"
            + (f" ({', '.join(diffs)})" if diffs else ""),
        )

    @abc.abstractmethod
    def verify(self, entry: Entry, path: str, got: Fetched) -> None:
        """Provider-specific checks of the downloaded bytes against the recorded state."""


def _etag(value: Any) -> str | None:
    return str(value).strip('"') if value else None


def _simple_md5(etag: str | None) -> bool:
    """A single-part S3/Azure ETag is the md5 of the bytes; multipart ones have a ``-N``."""
    return etag is not None and len(etag) == 32 and all(c in "0123456789abcdef" for c in etag.lower())


class S3Adapter(FsspecAdapter):
    protocol = "s3"
    version_key = "version_id"

    def state_of(self, info: dict[str, Any]) -> dict[str, Any]:
        state: dict[str, Any] = {"etag": _etag(info.get("ETag"))}
        version = info.get("VersionId")
        if version and version != "null":
            state["version_id"] = version
        return state

    def open_recorded(self, path: str, entry: Entry) -> Any:
        state = entry.ref_state or {}
        version = state.get("version_id")
        if version:
            return self.fs.open(path, "rb", version_id=version)
        info = self._info(path, entry.ref or path, missing_ok=True)
        if info is None or _etag(info.get("ETag")) != state.get("etag"):
            raise FileNotFoundError(path)
        return self.fs.open(path, "rb")

    def verify(self, entry: Entry, path: str, got: Fetched) -> None:
        etag = (entry.ref_state or {}).get("etag")
        if _simple_md5(etag):
            if got.md5.hex() != etag:
                raise changed(entry, "the bytes read do not match the logged ETag (md5)")
            return
        if not (entry.ref_state or {}).get("version_id"):  # multipart, unversioned: re-check
            info = self._info(path, entry.ref or path, missing_ok=True)
            if info is None or _etag(info.get("ETag")) != etag:
                raise changed(entry, "it was overwritten while being read")


class GCSAdapter(FsspecAdapter):
    protocol = "gcs"
    version_key = "generation"

    def state_of(self, info: dict[str, Any]) -> dict[str, Any]:
        state: dict[str, Any] = {"generation": str(info.get("generation"))}
        for src, dst in (("md5Hash", "md5"), ("crc32c", "crc32c")):
            if info.get(src):
                state[dst] = info[src]
        return state

    def _complete(self, info: dict[str, Any]) -> bool:
        return bool(info.get("generation"))

    def open_recorded(self, path: str, entry: Entry) -> Any:
        generation = (entry.ref_state or {}).get("generation")
        return self.fs.open(f"{path}#{generation}" if generation else path, "rb")

    def verify(self, entry: Entry, path: str, got: Fetched) -> None:
        md5 = (entry.ref_state or {}).get("md5")
        if md5 and base64.b64encode(got.md5).decode() != md5:
            raise changed(entry, "the bytes read do not match the logged md5")


class AzureAdapter(FsspecAdapter):
    protocol = "abfs"
    version_key = "version_id"

    def make_fs(self) -> Any:
        return extras.filesystem(self.protocol)

    def state_of(self, info: dict[str, Any]) -> dict[str, Any]:
        state: dict[str, Any] = {"etag": _etag(info.get("etag"))}
        if info.get("version_id"):
            state["version_id"] = info["version_id"]
        md5 = (info.get("content_settings") or {}).get("content_md5")
        if md5:
            state["md5"] = base64.b64encode(bytes(md5)).decode()
        return state

    def open_recorded(self, path: str, entry: Entry) -> Any:
        state = entry.ref_state or {}
        if state.get("version_id"):
            versioned = extras.filesystem(self.protocol, version_aware=True)
            return versioned.open(path, "rb", version_id=state["version_id"])
        info = self._info(path, entry.ref or path, missing_ok=True)
        if info is None or _etag(info.get("etag")) != state.get("etag"):
            raise FileNotFoundError(path)
        return self.fs.open(path, "rb")

    def verify(self, entry: Entry, path: str, got: Fetched) -> None:
        state = entry.ref_state or {}
        if state.get("md5") and base64.b64encode(got.md5).decode() != state["md5"]:
            raise changed(entry, "the bytes read do not match the logged md5")
        if not state.get("version_id"):
            with contextlib.suppress(ObjectNotFound):
                info = self._info(path, entry.ref or path, missing_ok=True)
                if info is None or _etag(info.get("etag")) != state.get("etag"):
                    raise changed(entry, "it was overwritten while being read")
