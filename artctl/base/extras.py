"""The cloud backends are optional extras: which one each URL scheme needs, and how it is loaded.

A plain ``pip install artctl`` has no cloud SDK (they weigh ~100 MB); ``artctl[s3]``,
``artctl[gcs]``, ``artctl[azure]`` or ``artctl[all]`` add them. Every cloud filesystem artctl
opens — remotes and references alike — comes from :func:`filesystem_class`, so a URL whose extra
is missing fails in one place with the exact install command, and the SDKs' import-time noise
(warnings, log lines) is handled once.

This module must stay cheap to import: the CLI entry imports it before anything else.
"""

from __future__ import annotations

import os
from typing import Any

# gcsfs >= 2026.10 otherwise tries an experimental gRPC call on every operation, which stalls
# 30-80 s against anything but real GCS. gcsfs reads it when imported: set before any import.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

#: URL scheme -> (the package fsspec imports for it, the artctl extra that installs it).
EXTRAS: dict[str, tuple[str, str]] = {
    "s3": ("s3fs", "s3"),
    "s3a": ("s3fs", "s3"),
    "gs": ("gcsfs", "gcs"),
    "gcs": ("gcsfs", "gcs"),
    "az": ("adlfs", "azure"),
    "abfs": ("adlfs", "azure"),
    "abfss": ("adlfs", "azure"),
}

#: Top-level modules of the cloud SDKs, whose warnings and log lines are not the user's business.
CLOUD_MODULES = ("gcsfs", "s3fs", "adlfs", "azure", "aiobotocore", "botocore", "boto3", "google", "fsspec")


#: W&B's variable for an S3-compatible server such as MinIO (the guide: its scripts "work as-is
#: when you set AWS_S3_ENDPOINT_URL"). botocore reads only its own two, so artctl passes this on.
WANDB_S3_ENDPOINT = "AWS_S3_ENDPOINT_URL"


def env_s3_endpoint() -> str | None:
    """The S3 endpoint the environment names: botocore's ``AWS_ENDPOINT_URL_S3`` or
    ``AWS_ENDPOINT_URL`` first (the client reads those itself), else W&B's variable."""
    for variable in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", WANDB_S3_ENDPOINT):
        if os.environ.get(variable):
            return os.environ[variable]
    return None


def _with_wandb_endpoint(protocol: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` plus W&B's S3 endpoint when it is the only one named: an option, or one of
    botocore's variables, wins over it."""
    client = dict(options.get("client_kwargs") or {})
    if protocol not in ("s3", "s3a") or options.get("endpoint_url") or client.get("endpoint_url"):
        return options
    endpoint = env_s3_endpoint()
    if endpoint is None or endpoint != os.environ.get(WANDB_S3_ENDPOINT):
        return options  # none named, or botocore's own variable: the client reads it itself
    return {**options, "client_kwargs": {**client, "endpoint_url": endpoint}}


def debugging() -> bool:
    """``ARTCTL_DEBUG`` (``--debug``) shows the SDKs' own warnings and logs."""
    return os.environ.get("ARTCTL_DEBUG", "") not in ("", "0")


def install_command(extra: str) -> str:
    """The one command that installs ``extra``, quoted for any POSIX shell (zsh globs ``[``)."""
    return f"pip install 'artctl[{extra}]'"


def require(protocol: str) -> None:
    """Raise :class:`~artctl.errors.MissingExtra` when ``protocol``'s cloud package is absent.

    Called where a URL is first accepted (``remote add``, ``clone``, a reference) so the error
    comes before any work, and again when the filesystem is loaded.
    """
    import importlib.util

    needed = EXTRAS.get(protocol.lower())
    if needed is not None and importlib.util.find_spec(needed[0]) is None:
        raise _missing(protocol, *needed, None)


def _missing(protocol: str, module: str, extra: str, reason: str | None) -> Exception:
    from artctl.errors import MissingExtra

    why = f"{module} cannot be imported ({reason})" if reason else f"{module} is not installed"
    return MissingExtra(
        f"{protocol}:// URLs need the '{extra}' extra, and {why}; install it with: {install_command(extra)}"
    )


def quiet_cloud_sdks() -> None:
    """Cloud SDKs log retries and notices on stderr; artctl reports one line of its own instead.

    Process-wide, so only for the CLI and for filesystems artctl opens itself; ``--debug``
    keeps everything.
    """
    import logging

    if debugging():
        return
    for name in CLOUD_MODULES:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def silence_cloud_warnings() -> None:
    """The CLI's output holds artctl's lines only: ignore every warning raised inside a cloud SDK
    (gcsfs' "GCS project not set", deprecations …). Installed by the CLI entry, not the library."""
    import warnings

    if debugging():
        return
    pattern = r"(" + "|".join(CLOUD_MODULES) + r")(\..*)?$"
    warnings.filterwarnings("ignore", module=pattern)


def filesystem_class(protocol: str) -> Any:
    """fsspec's filesystem class for ``protocol``, its extra checked and its import kept quiet."""
    import warnings

    require(protocol)
    quiet_cloud_sdks()
    import fsspec

    with warnings.catch_warnings():
        if not debugging():
            warnings.simplefilter("ignore")
        try:
            return fsspec.get_filesystem_class(protocol)
        except ImportError as exc:  # installed, but broken (a dependency of it missing)
            needed = EXTRAS.get(protocol.lower())
            if needed is None:
                raise
            raise _missing(protocol, *needed, str(exc)) from None


def filesystem(protocol: str, **options: Any) -> Any:
    """A new (never cached) fsspec filesystem for ``protocol`` with storage ``options``.

    Constructors warn too (gcsfs without a project): silenced like the import.
    """
    import warnings

    cls = filesystem_class(protocol)
    with warnings.catch_warnings():
        if not debugging():
            warnings.simplefilter("ignore")
        return cls(skip_instance_cache=True, **_with_wandb_endpoint(protocol, options))
