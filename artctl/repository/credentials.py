"""Which remote storage options are secrets, and the ``env:VAR`` indirection that keeps them out
of ``config.toml``.

A config file is copied, shared and backed up far more often than anyone thinks about the keys
in it, so artctl never writes a credential there: an option whose key looks like one (see
:func:`looks_secret`) is refused unless its value is ``env:VAR``, which is stored as written
and read from the environment each time the remote is used (:func:`resolve`). Files written by
older versions may still hold plain secrets: they keep working, and :func:`plain_secrets` finds
them so that the commands using the remote can say how to move them out.

The rule works on the key's dotted parts, each lower-cased with ``-`` as ``_``. A part is
secret-looking when it

* contains ``secret``, ``passw``, ``passphrase``, ``token``, ``credential``,
  ``connection_string`` / ``connectionstring`` / ``conn_str`` or ``private_key``;
* has ``sas``, ``pwd`` or ``creds`` as one of its ``_``-separated words;
* ends with ``key`` (``key``, ``account_key``, ``sse_customer_key``, ``apikey``) or contains
  ``access_key`` (``aws_access_key_id``).

So ``key_prefix``, ``kms_key_id``, ``account_name``, ``client_id``, ``profile``, ``anon`` and
``endpoint_url`` are not secrets. A true/false value is no secret whatever its key, nor are
gcsfs's ``token`` modes (``token=anon``, ``google_default``, ``cloud``, ``browser``, ``cache``):
they name where the credentials come from.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

from artctl.errors import CredentialNotSet, InvalidInput

#: The prefix of a value read from the environment when the remote is used.
ENV_PREFIX = "env:"
_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_PARTS = (
    "secret",
    "passw",
    "passphrase",
    "token",
    "credential",
    "connection_string",
    "connectionstring",
    "conn_str",
    "private_key",
)
_SECRET_WORDS = frozenset({"sas", "pwd", "creds"})
#: gcsfs ``token=`` values that choose a credential source rather than being one.
GCS_TOKEN_MODES = frozenset({"anon", "google_default", "cloud", "browser", "cache"})


def looks_secret(key: str) -> bool:
    """True when the (dotted) option ``key`` names a credential (module docstring)."""
    for part in key.lower().replace("-", "_").split("."):
        if any(s in part for s in _SECRET_PARTS) or _SECRET_WORDS.intersection(part.split("_")):
            return True
        if part.endswith("key") or "access_key" in part:
            return True
    return False


def env_reference(value: Any) -> str | None:
    """The variable of an ``env:VAR`` value, else None."""
    if isinstance(value, str) and value.startswith(ENV_PREFIX) and _VAR.match(value[len(ENV_PREFIX) :]):
        return value[len(ENV_PREFIX) :]
    return None


def is_plain_secret(key: str, value: Any) -> bool:
    """A value that would put a credential in a file: a secret-looking key whose value is not
    an ``env:`` reference, a boolean or a gcsfs token mode."""
    if isinstance(value, bool) or env_reference(value) is not None or not looks_secret(key):
        return False
    return not (key.rsplit(".", 1)[-1].lower() == "token" and value in GCS_TOKEN_MODES)


def leaves(options: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted key, value)`` of every leaf of nested ``options``."""
    for key, value in options.items():
        if isinstance(value, dict):
            yield from leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def plain_secrets(options: dict[str, Any]) -> list[str]:
    """The dotted keys of ``options`` that hold a credential in plain text."""
    return [key for key, value in leaves(options) if is_plain_secret(key, value)]


def chain_hint(protocol: str) -> str:
    """Where the credentials of one cloud come from without artctl storing them."""
    chains = {
        "s3": "the AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance role)",
        "gs": "GOOGLE_APPLICATION_CREDENTIALS or gcloud's application default credentials",
        "gcs": "GOOGLE_APPLICATION_CREDENTIALS or gcloud's application default credentials",
        "az": "AZURE_STORAGE_CONNECTION_STRING or azure-identity (az login, a managed identity)",
        "abfs": "AZURE_STORAGE_CONNECTION_STRING or azure-identity (az login, a managed identity)",
    }
    return chains.get(protocol, "the storage's own credential chain")


def refuse_plain_secrets(
    options: dict[str, Any], remote: str, protocol: str, *, config_key: str | None = None
) -> None:
    """Refuse, before anything is written, options that would put a credential in a config
    file; also a malformed ``env:`` value (any key), which would only fail at the first use.

    ``config_key`` is the key when ``artctl config`` writes the option (the hint then says how
    to write it there)."""
    for key, value in leaves(options):
        if isinstance(value, str) and value.startswith(ENV_PREFIX) and env_reference(value) is None:
            raise InvalidInput(
                f"option {key}={value!r} of remote {remote} does not name an environment variable",
                hint="write env:VAR, VAR made of letters, digits and '_' (e.g. env:AWS_SECRET_ACCESS_KEY)",
            )
    secrets = plain_secrets(options)
    if secrets:
        example = secrets[0]
        var = f"{remote}_{example}".upper().replace("-", "_").replace(".", "_")
        how = f"artctl config {config_key} env:{var}" if config_key else f"-o {example}=env:{var}"
        what = f"option {secrets[0]} of remote {remote} looks like a credential"
        if len(secrets) > 1:
            names = f"{', '.join(secrets[:-1])} and {secrets[-1]}"
            what = f"options {names} of remote {remote} look like credentials"
        raise InvalidInput(
            f"{what}; artctl does not write secrets to config.toml",
            hint=f"leave it to {chain_hint(protocol)}, or keep it in the environment with "
            f"{how} (read when the remote is used)",
        )


def resolve(options: dict[str, Any], remote: str, prefix: str = "") -> dict[str, Any]:
    """``options`` with every ``env:VAR`` value replaced by that variable's value (a string).

    Done each time a remote is opened, never stored; a variable that is not set is one error
    naming it and the remote.
    """
    out: dict[str, Any] = {}
    for key, value in options.items():
        if isinstance(value, dict):
            out[key] = resolve(value, remote, f"{prefix}{key}.")
            continue
        var = env_reference(value)
        if var is None:
            out[key] = value
            continue
        found = os.environ.get(var)
        if found is None:
            raise CredentialNotSet(
                f"environment variable {var} is not set (option {prefix}{key}={value} of remote {remote})",
                hint=f"set {var} in this environment, or change the option with "
                f"`artctl remote add {remote} URL --force -o {prefix}{key}=env:OTHER_VAR`",
            )
        out[key] = found
    return out
