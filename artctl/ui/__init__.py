"""``artctl ui``: a local web page over the repository (stdlib HTTP server + static page).

- :mod:`.data` — the JSON answers, plain functions over the library;
- :mod:`.graphdata` — lineage graphs (from :mod:`artctl.ops.lineage`) as the page draws them;
- :mod:`.changes` — the cheap "repository changed" token the page polls;
- :mod:`.server` — routing, Host checks, static files (``static/``, vendored graph libraries);
- :mod:`.routes` — the JSON API's paths and the :mod:`.data` call each answers with;
- :mod:`.auth` — the access token (query → HttpOnly cookie, or ``Authorization: Token``);
- :mod:`.serve` — binding, announcing, stopping;
- :mod:`.export` — the same graph view as one self-contained HTML file (``lineage --format html``).

See ``docs/ui.md`` for the API and the security model.
"""
