"""``artctl://`` — an fsspec filesystem over artifact versions: read them where the data is used.

    import pandas as pd
    df = pd.read_csv("artctl://proj/iris:v3/train.csv")
    df = pd.read_parquet("artctl://proj/iris/train.parquet",           # alias: latest
                         storage_options={"repo": "s3://bucket/team", "remote_options": {...}})

A path is ``[entity/]project/name[:alias]/path/in/artifact``; the alias defaults to ``latest``.
The name ends at the component that carries ``:alias``; without one it is ``project/name`` (an
entity-qualified name needs its alias: ``ent/proj/ds:latest/x``). Paths this filesystem returns
keep the version prefix as it was written.

Storage options (registered through the ``fsspec.specs`` entry point):

``repo``
    a path (a directory holding ``.artifacts/``, or that directory), the name of a configured
    remote, or a remote URL (``s3://…``, ``gs://…``, ``file://…``) read without a clone. Default:
    the repository around the working directory, or ``ARTCTL_DIR``. A URL's ``FORMAT`` is read
    alongside the first version's registry requests: one that is no artctl remote is refused at
    the first read (a repository path at once).
``remote_options``
    fsspec storage options for a remote URL (as ``artctl remote add -o``); a configured
    remote uses its own.
``cache``
    (default True) put blobs fetched from a remote, read entirely and verified, in the local
    store (the repository of the working directory when ``repo`` is a URL), where ``cache
    cleanup`` counts them.
``allow_local_refs``
    follow references of a pulled version that point at this machine (as ``get --allow-local-refs``).

Read-only: every write raises :class:`~artctl.errors.ReadOnly` (a PermissionError). A version is
resolved once per filesystem instance (a long job keeps reading the version it started with);
``invalidate_cache()`` resolves aliases again. Reads are lazy and ranged (``ops/lazy_read.py``);
a file read sequentially to its end through :meth:`open` is verified against its BLAKE3 there.
When a run is active (``artctl.init()`` or ``ARTCTL_RUN``), opening or reading a file records
its version as used by that run, once.

The package: ``tree`` (paths and a resolved version's index), ``file`` (the file object) and
``spec`` (the filesystem class, ``open``); where ``repo=`` points is ``ops/read_target.py``.
"""

from __future__ import annotations

from artctl.api.filesystem.file import ArtctlFile
from artctl.api.filesystem.spec import ArtctlFileSystem, open, read_only
from artctl.api.filesystem.tree import VersionTree, split_path

__all__ = ["ArtctlFile", "ArtctlFileSystem", "VersionTree", "open", "read_only", "split_path"]
