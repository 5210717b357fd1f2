"""Distributed versions: many writers ``upsert`` parts under one id, one ``finish`` commits them.

The same layout and protocol work in the local repository and on a remote (the "area"), so a
Slurm array on one machine and a CI matrix across machines behave alike (docs/remotes.md):

``drafts/distributed/<project>/<name>/<id>/``
  ``parts/<uuid>.jsonl`` — one immutable part per upsert: a header line, then manifest entries.
                          Created exclusively, after the part's objects are stored.
  ``sealed``            — created exclusively by ``finish`` *before* it lists the parts.
  ``finished.json``     — created exclusively by ``finish`` after the version is committed;
                          names the version and every part it includes.

Why seal first: an upsert writes its part, then looks for ``sealed``. If it is absent, the
part was written before the seal, so the finisher (which lists after sealing) sees it. If it is
present, the upsert cannot know, so it waits for ``finished.json`` and checks that its part is
listed — never a silently dropped part. A finisher that crashed after sealing is resumed by
running ``finish`` again, and one that crashed after ``finished.json`` is completed by it (the
parts it left are deleted). Before ``finish`` nothing under ``registry/`` exists, so readers do
not see the version; after it, upserts with that id are refused.

Modules: ``parts`` (the area where parts live, local or remote, and the part and bookkeeping
files), ``upsert`` (a writer adds one part), ``finish`` (seal, commit, record, clean up),
``commit`` (the version committed locally or on the remote).
"""
