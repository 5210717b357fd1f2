"""One fsspec filesystem per remote configuration per process, shared by every backend on it.

A filesystem builds its SDK session and client on its first request; for S3, botocore then
loads and parses the service model: 0.1–0.5 s of CPU each time. A process that opens the same
remote more than once (``clone`` reads metadata and then objects, a notebook pushes after each
epoch, ``artctl ui`` reads a remote per page) pays that once.

Reuse never changes whose credentials are used: the key holds the storage options and every
environment variable the cloud SDKs read credentials, profiles and endpoints from, so a changed
``AWS_PROFILE`` or key gets a new client. An entry is used for at most
:data:`REUSE_SECONDS`, so credentials rotated in files reach later operations, and a forked child
never reuses its parent's (the key holds the pid). Listings stay fresh: every backend listing
drops fsspec's listing cache first.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

#: How long one filesystem (and the credentials its client resolved) is reused.
REUSE_SECONDS = 300.0
#: Environment variables that decide credentials or endpoints for s3fs, gcsfs and adlfs.
_CREDENTIAL_ENV_PREFIXES = (
    "AWS_",
    "GOOGLE_",
    "GCLOUD",
    "CLOUDSDK_",
    "GCE_",
    "AZURE_",
    "STORAGE_EMULATOR_HOST",
)

_lock = threading.Lock()
_shared: dict[str, tuple[float, Any]] = {}


def _key(protocol: str, options: dict[str, Any]) -> str:
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith(_CREDENTIAL_ENV_PREFIXES))
    return json.dumps([os.getpid(), protocol, options, env], sort_keys=True, default=repr)


def shared_filesystem(protocol: str, options: dict[str, Any], build: Callable[[], Any]) -> Any:
    """The filesystem for ``protocol`` with ``options`` in this environment: the one built in
    the last :data:`REUSE_SECONDS`, else a new one from ``build()`` (which may raise; nothing is
    kept then)."""
    key = _key(protocol, options)
    now = time.monotonic()
    with _lock:
        for stale in [k for k, (at, _fs) in _shared.items() if now - at > REUSE_SECONDS]:
            del _shared[stale]
        found = _shared.get(key)
        if found is not None:
            return found[1]
    fs = build()  # outside the lock: a dead endpoint must not hold up other remotes
    with _lock:
        return _shared.setdefault(key, (now, fs))[1]
