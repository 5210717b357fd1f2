"""The public Python API, with the names W&B users know.

    import artctl
    with artctl.init(project="proj", job_type="prepare") as run:
        art = artctl.Artifact("mnist", type="dataset")
        art.add_dir("data/")
        run.log_artifact(art, aliases=["best"])
    artctl.Api().artifact("proj/mnist:latest").download(root="out/")

The implementation lives in ``artifact_api`` (Artifact, ArtifactPath), ``run_api`` (Run,
init) and ``query_api`` (Api); this module is the public surface.
"""

from __future__ import annotations

from .artifact_api import Artifact, ArtifactPath
from .errors import RunError
from .query_api import Api
from .run_api import Run, init

__all__ = ["Api", "Artifact", "ArtifactPath", "Run", "init", "RunError"]
