"""``artctl ui``: a local web page over the repository (stdlib HTTP server + static page).

- :mod:`.data` — the JSON answers, plain functions over the library;
- :mod:`.server` — routing, Host checks, static files (``static/``, vendored graph libraries);
- :mod:`.serve` — binding, announcing, stopping;
- :mod:`.export` — the same graph view as one self-contained HTML file (``lineage --format html``).

See ``docs/ui.md`` for the API and the security model.
"""
