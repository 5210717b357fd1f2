"""The public Python API, with the names W&B users know.

    import artctl
    with artctl.init(project="proj", job_type="prepare") as run:
        art = artctl.Artifact("mnist", type="dataset")
        art.add_dir("data/")
        run.log_artifact(art, aliases=["best"])
    artctl.Api().artifact("proj/mnist:latest").download(root="out/")

The implementation lives in ``artifact`` (Artifact; with ``staging``, ``artifact_files``,
``artifact_links``, ``artifact_lineage``, ``artifact_fields``), ``collection``
(ArtifactCollection, ArtifactType), ``run`` and ``session`` (Run, init), ``query`` (Api),
``filesystem`` (the ``artctl://`` fsspec filesystem) and ``workspace`` (finding or creating the
repository); this module is the public surface.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from artctl.api.artifact import Artifact, ArtifactPath
    from artctl.api.artifact_fields import ArtifactTTL
    from artctl.api.collection import ArtifactCollection, ArtifactType
    from artctl.api.query import Api
    from artctl.api.run import Run
    from artctl.api.session import init, login
    from artctl.errors import RunError

# Imported on first use: ``fsspec.open("artctl://…")`` loads ``artctl.api.filesystem`` through
# this package, and a read must not pay for the whole write-side API (issue 18's bench).
_LAZY = {
    "Artifact": "artctl.api.artifact",
    "ArtifactPath": "artctl.api.artifact",
    "ArtifactTTL": "artctl.api.artifact_fields",
    "ArtifactCollection": "artctl.api.collection",
    "ArtifactType": "artctl.api.collection",
    "Api": "artctl.api.query",
    "Run": "artctl.api.run",
    "init": "artctl.api.session",
    "login": "artctl.api.session",
    "RunError": "artctl.errors",
}

__all__ = [
    "Api",
    "Artifact",
    "ArtifactCollection",
    "ArtifactPath",
    "ArtifactTTL",
    "ArtifactType",
    "Run",
    "init",
    "login",
    "RunError",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'artctl.api' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
