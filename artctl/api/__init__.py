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

from artctl.api.artifact import Artifact, ArtifactPath
from artctl.api.artifact_fields import ArtifactTTL
from artctl.api.collection import ArtifactCollection, ArtifactType
from artctl.api.query import Api
from artctl.api.run import Run
from artctl.api.session import init
from artctl.errors import RunError

__all__ = [
    "Api",
    "Artifact",
    "ArtifactCollection",
    "ArtifactPath",
    "ArtifactTTL",
    "ArtifactType",
    "Run",
    "init",
    "RunError",
]
