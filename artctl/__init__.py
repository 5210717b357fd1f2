"""artctl: version datasets, models and results as named artifacts in a local repository.

The W&B-style entry points (``init``, ``Artifact``, ``Api``, ``Run``) are imported lazily so
that ``import artctl`` and ``artctl --version`` stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .api import Api, Artifact, ArtifactPath, Run, init
    from .repository_ops import Repo

_LAZY = {"Api": "api", "Artifact": "api", "ArtifactPath": "api", "Run": "api", "init": "api",
         "Repo": "repository_ops"}

__all__ = ["Api", "Artifact", "ArtifactPath", "Repo", "Run", "init", "__version__"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'artctl' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
