"""Remotes: push, pull and clone over a backend (file://, S3, GCS, Azure …). See docs/remotes.md.

Modules, one job each: ``config`` (named remotes in config.toml, and the backend of each),
``protocol`` (remote layout and conditional-write records), ``inventory`` (which blobs a
remote holds), ``transfer`` (what push, pull and clone share), ``push``, ``send`` (blobs to a
remote), ``pull``, ``fetch`` (manifests, runs and blobs from a remote), ``clone``, ``sync``
(renumbering the local registry after the remote's), ``source`` (lazy fetch for ``get``),
``check`` and ``confirm`` (are the remote copies there). The storage itself is
:mod:`artctl.backend`.
"""
