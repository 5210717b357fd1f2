"""Storage failures as one error line: the translation every backend call goes through.

Every backend error that is not "missing" or "already exists" becomes one
:class:`~artctl.errors.RemoteError` with a hint, so the CLI prints one line instead of a
botocore traceback; "missing" (FileNotFoundError) and "exists" (FileExistsError) pass through
for the backend to turn into its documented answer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from artctl.base.fsutil import local_disk_full
from artctl.errors import ArtctlError, RemoteError

_UNREACHABLE = ("connect", "unreachable", "name resolution", "timed out", "timeout", "refused", "nodename")
_DENIED = (
    "accessdenied",
    "access denied",
    "forbidden",
    "invalidaccesskeyid",
    "signaturedoesnotmatch",
    "authentication",
    "authorization",
    "credential",
    "unauthorized",
)
_NO_BUCKET = (
    "nosuchbucket",
    "containernotfound",
    "bucket does not exist",
    "specified container does not exist",
    "not found",
)


@contextlib.contextmanager
def guard(url: str, what: str, local: Path | None = None) -> Iterator[None]:
    """Turn backend exceptions into one RemoteError; let "missing"/"exists" through.

    ``local`` is the local file a download writes: a full disk there is this machine's
    problem, reported as such (not as a failing remote).
    """
    try:
        yield
    except (FileNotFoundError, FileExistsError, ArtctlError):
        raise
    except OSError as exc:
        full = local_disk_full(exc, local.parent, f"{what} from {url}") if local is not None else None
        if full is not None:
            raise full from None
        if isinstance(exc, PermissionError):
            raise RemoteError(
                f"access denied to {url} while {what}: {short(exc)}",
                hint="check the credentials (environment, profile or -o options) "
                "and the permissions on the bucket",
            ) from None
        raise classify(exc, url, what) from None
    except Exception as exc:  # noqa: BLE001 - cloud SDKs raise many unrelated types
        raise classify(exc, url, what) from None


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling, innermost last
    (a RemoteError from :func:`guard` keeps the SDK's exception as its context)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def http_status(exc: BaseException) -> int | None:
    """The HTTP status an SDK attached to ``exc`` or a cause of it (azure-core ``status_code``,
    gcsfs ``code``, aiohttp ``status``, botocore ``response``), None when none did.

    Statuses are read from attributes, never found in message text: request ids and times
    hold digits ("…-4161-…"), so a refused login could read as "416" or "412".
    """
    for current in causes(exc):
        for attr in ("status_code", "code", "status"):
            value = getattr(current, attr, None)
            if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
                return value
        response = getattr(current, "response", None)
        if isinstance(response, dict):
            value = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if isinstance(value, int):
                return value
    return None


def names_error(exc: BaseException, *names: str) -> bool:
    """True when ``exc`` or a cause of it names one of ``names`` (lowercase error codes or
    phrases such as "invalidrange", "already exists") in its type or message."""
    for current in causes(exc):
        lowered = f"{type(current).__name__} {current}".lower()
        if any(name in lowered for name in names):
            return True
    return False


def classify(exc: BaseException, url: str, what: str) -> RemoteError:
    """A RemoteError with a helpful hint for a backend exception."""
    text = short(exc)
    lowered = f"{type(exc).__name__} {text}".lower()
    if http_status(exc) in (401, 403):
        return RemoteError(
            f"access denied to {url} while {what}: {text}",
            hint="check the credentials (environment, profile or -o options)",
        )
    if any(k in lowered for k in _UNREACHABLE):
        return RemoteError(
            f"cannot reach remote {url} while {what}: {text}",
            hint="check the URL and endpoint_url option, and that the server is up",
        )
    if any(k in lowered for k in _DENIED):
        return RemoteError(
            f"access denied to {url} while {what}: {text}",
            hint="check the credentials (environment, profile or -o options)",
        )
    if any(k in lowered for k in _NO_BUCKET):
        return RemoteError(
            f"remote {url} does not exist ({text})",
            hint="create the bucket or container first, or fix the URL",
        )
    return RemoteError(f"remote {url} failed while {what}: {type(exc).__name__}: {text}")


def short(exc: BaseException) -> str:
    """The exception's message on one line, at most 300 characters (SDK messages run long)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
