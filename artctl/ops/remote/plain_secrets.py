"""The warning about a remote credential an older artctl wrote to a config file in plain text.

artctl now refuses to store a credential (:mod:`artctl.repository.credentials`: it comes from
the cloud's chain or an ``env:VAR`` value); a config file written before that may still hold
one. Every use of such a remote warns once, with the command that moves the secret out.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from artctl.backend.url import split_url
from artctl.errors import CredentialWarning
from artctl.ops.remote.layers import option_variable, url_variable
from artctl.repository.credentials import chain_hint, leaves

if TYPE_CHECKING:
    from artctl.ops.remote.config import RemoteSpec


def warn_plain_secrets(spec: RemoteSpec) -> None:
    """A :class:`~artctl.errors.CredentialWarning` when a config file holds a credential of
    ``spec`` in plain text (written by an older artctl), with the command that moves it out.

    The warning's text is the same for every use of the remote, so Python's warning registry
    shows it once per command (the CLI) or once per process (the library).
    """
    if not spec.plain_secrets:
        return
    keys = [key for key, _layer in spec.plain_secrets]
    layers = {layer for _key, layer in spec.plain_secrets}
    files = sorted("the user config" if layer == "user" else ".artifacts/config.toml" for layer in layers)
    if layers == {"repository"}:
        command, variables = _readd_command(spec, keys)
        fix = f"run `{command}` with {' and '.join(variables)} set"
    else:
        unset = " && ".join(f"artctl config --user --unset remote.{spec.name}.options.{k}" for k in keys)
        fix = f"run `{unset}` and set {' '.join(option_variable(spec.name, k) for k in keys)}"
    warnings.warn(
        CredentialWarning(
            f"remote {spec.name} keeps the credential {', '.join(keys)} in plain text in "
            f"{' and '.join(files)} (written by an older artctl); {fix}, or leave it to "
            f"{chain_hint(split_url(spec.url)[0])}"
        ),
        stacklevel=3,
    )


def _readd_command(spec: RemoteSpec, secrets: list[str]) -> tuple[str, list[str]]:
    """``artctl remote add NAME URL --force -o …`` that keeps the other options and reads each
    of ``secrets`` from a variable named after the remote and the key; and those variables."""
    import shlex

    from artctl.repository.config_values import format_value

    stored = ("repository", "user")
    kept = [
        f"-o {shlex.quote(f'{k}={format_value(v)}')}"
        for k, v in leaves(spec.options)
        if k not in secrets and spec.sources.get(f"options.{k}") in stored
    ]
    prefix = url_variable(spec.name)[len("ARTCTL_REMOTE_") : -len("URL")]
    variables = [prefix + k.upper().replace(".", "_").replace("-", "_") for k in secrets]
    moved = [f"-o {k}=env:{var}" for k, var in zip(secrets, variables, strict=True)]
    command = f"artctl remote add {spec.name} {shlex.quote(spec.url)} --force {' '.join(kept + moved)}"
    return command, variables
