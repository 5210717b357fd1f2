"""Zero set-up for the Python API: ``artctl.init()`` and ``Api()`` work where W&B needs nothing.

The repository is the one governing the directory (``ARTCTL_DIR``, else found by walking up,
as the CLI finds it); when there is none, one is created — in ``ARTCTL_DIR`` if that is set,
else as ``./.artifacts`` — and the creation is announced once on stderr, so a user is never
surprised by a directory appearing. The CLI keeps refusing to run outside a repository.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from artctl.api.repo import Repo
from artctl.errors import RepositoryNotFound


def open_repo(directory: str | os.PathLike[str] | None = None) -> Repo:
    """The repository around ``directory`` (default: the working directory), created if none."""
    try:
        return Repo(directory)
    except RepositoryNotFound:
        pass
    env = os.environ.get("ARTCTL_DIR")
    target = Path(env).expanduser() if env else Path(directory) if directory is not None else Path.cwd()
    repo, created = Repo.init(target)
    if created:
        print(f"artctl: created a repository in {repo.root} (no .artifacts/ here or above)", file=sys.stderr)
    return repo
