"""One exception hierarchy for the whole library.

Every failure a user can cause or meet is an :class:`ArtctlError`; the CLI renders it as one
line (``error: …`` plus an optional hint) in exactly one place (``artctl.cli.main``). Errors also
inherit the matching built-in so Python callers can catch ``LookupError``, ``ValueError`` …
"""

from __future__ import annotations

import re
from typing import Any


class ArtctlError(Exception):
    """Base of all artctl errors. ``hint`` is the next thing a user should try.

    ``exit_code`` is 1 for an operation that failed and 2 for input that is invalid (a usage
    error, as click's); ``code`` names the class for scripts (``--json``'s ``error.code``).
    """

    exit_code = 1
    code = "error"

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:  # InvalidInput -> "invalid_input"
            cls.code = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if hint and hasattr(self, "add_note"):  # Python >= 3.11
            # A Python caller's traceback shows the hint below the message, as the CLI does.
            self.add_note(f"hint: {hint}")

    def __str__(self) -> str:
        return self.message

    def details(self) -> dict[str, Any] | None:
        """What ``--json`` prints beside the error: the work done before it (usually none)."""
        return None


class RepositoryNotFound(ArtctlError, FileNotFoundError):
    """No ``.artifacts/`` above the working directory."""


class RepositoryFormatError(ArtctlError):
    """The repository's format version is unknown or its files are malformed."""


class InvalidName(ArtctlError, ValueError):
    """An artifact name, alias, version or project that does not follow the rules."""

    exit_code = 2


class InvalidInput(ArtctlError, ValueError):
    """Malformed user input: JSON, durations, sizes, paths."""

    exit_code = 2


class UnsafePath(InvalidInput):
    """A manifest path that would escape the root (``..``, absolute, NUL, symlink).

    Exit 1, not 2: such paths come from manifests and remotes (refused data) as often as from
    the command line."""

    exit_code = 1


class ArtifactNotFound(ArtctlError, LookupError):
    """Unknown artifact, version or alias."""


class NotFound(ArtctlError, LookupError):
    """Something looked up by a valid key is not there: a config key not set, a path not in a
    draft (exit 1, as ``git config`` of an unset key; not invalid input)."""


class ObjectNotFound(ArtctlError, LookupError):
    """A blob or manifest that should be in the store is missing."""


class IntegrityError(ArtctlError):
    """Stored bytes whose digest does not match their name."""


class SourceChanged(IntegrityError):
    """A file changed (was truncated, rewritten or replaced) while artctl was reading it."""


class Conflict(ArtctlError):
    """The operation contradicts existing state (type mismatch, alias held, concurrent edit)."""


class LinkError(Conflict, ValueError):
    """A registry link used against its rules: a TTL on a linked version or on its linked
    source, deleting a source that is linked, unlinking a version that is no link (W&B raises
    ValueError for these)."""


class LockTimeout(Conflict, TimeoutError):
    """Another process holds a lock for longer than we are willing to wait."""


class ReadOnly(ArtctlError, PermissionError):
    """A write through a read-only view of versions (the ``artctl://`` filesystem)."""


class RemoteError(ArtctlError, OSError):
    """A remote could not be reached or answered with an error."""


class CredentialNotSet(RemoteError):
    """A remote's ``env:VAR`` option names a variable this environment lacks: the remote cannot
    be used here (commands that skip unreachable remotes, like ``cache cleanup`` from cron,
    skip it too), and it is the user's setup to fix (exit 2)."""

    exit_code = 2


class MissingExtra(ArtctlError, ImportError):
    """A URL needs a cloud backend this install lacks (``pip install 'artctl[s3]'``)."""


class ContentMismatch(IntegrityError, ValueError):
    """Files on disk differ from a version's manifest (``Artifact.verify``; W&B raises ValueError)."""


class ReferenceChanged(IntegrityError):
    """Data behind a reference changed since it was logged, and the old state is gone."""


class UntrustedReference(ArtctlError, PermissionError):
    """A reference that came from a remote and would read this machine's files or network
    (file://, loopback, link-local), or that carries no recorded state to verify."""


class RunError(ArtctlError):
    """Unknown run, a run already finished, or a run used in a way that breaks lineage."""


class ArtctlWarning(UserWarning):
    """Base of artctl's warnings: something works but should be fixed. The CLI prints each as
    one ``warning: …`` line; Python callers can filter them with :mod:`warnings`."""


class CredentialWarning(ArtctlWarning):
    """A config file holds a credential in plain text (written by an older artctl)."""
