"""artctl: version datasets, models and results as named artifacts in a local repository.

The W&B-style entry points (``init``, ``Artifact``, ``Api``, ``Run``) are imported lazily so
that ``import artctl`` and ``artctl --version`` stay fast. ``artctl.run`` is the active run
(W&B's ``wandb.run``): the one ``artctl.init()`` started, until it finishes; else None.
``artctl.open(ref, path)`` opens one file of a version (the ``artctl://`` filesystem).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from artctl.api import (
        Api,
        Artifact,
        ArtifactCollection,
        ArtifactPath,
        ArtifactTTL,
        ArtifactType,
        Run,
        init,
        login,
    )
    from artctl.api.filesystem import open
    from artctl.api.repo import Repo

_LAZY = {
    "Api": "api",
    "Artifact": "api",
    "ArtifactPath": "api",
    "Run": "api",
    "init": "api",
    "login": "api",
    "ArtifactTTL": "api",
    "ArtifactCollection": "api",
    "ArtifactType": "api",
    "Repo": "api.repo",
    "open": "api.filesystem",
}

__all__ = [
    "Api",
    "Artifact",
    "ArtifactCollection",
    "ArtifactPath",
    "ArtifactTTL",
    "ArtifactType",
    "Repo",
    "Run",
    "init",
    "login",
    "open",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name == "run":  # changes as runs start and finish: never cached in globals()
        from artctl.api.run import active_run

        return active_run()
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'artctl' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
