"""``artctl lineage REF --format html``: the page's graph view as one self-contained file.

The vendored Cytoscape.js + dagre, the view's CSS/JS and the graph data are inlined, so the
file opens offline, from a mail attachment or a CI artifact, with no server. The data is
embedded as ``<script type="application/json">`` with ``<``, ``>``, ``&`` and the JS line
separators escaped, so no name or metadata value can end the tag or inject markup; the view
reads it with ``JSON.parse`` and renders text with ``textContent`` only.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

STATIC = Path(__file__).resolve().parent / "static"
SCRIPTS = ("vendor/cytoscape.min.js", "vendor/cytoscape-dagre.min.js", "dom.js", "graph.js", "export.js")


def json_for_script(document: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``."""
    text = json.dumps(document, ensure_ascii=False, sort_keys=True)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _script(path: str) -> str:
    code = (STATIC / path).read_text(encoding="utf-8")
    # No vendored file contains "</script" today; this keeps a future one from ending the tag.
    code = code.replace("</script", "<\\/script")
    return f"<script>/* {path} */\n{code}\n</script>"


def render_document(data: dict[str, Any], title: str) -> str:
    """The HTML page for graph JSON ``data`` (the shape of ``ui.graphdata.graph_json``)."""
    css = (STATIC / "app.css").read_text(encoding="utf-8")
    licences = ", ".join(
        line
        for line in (STATIC / "vendor" / "VERSIONS.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    scripts = "\n".join(_script(p) for p in SCRIPTS)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="artctl lineage --format html">
<title>{html.escape(title)}</title>
<style>
{css}
.graph-canvas {{ height: calc(100vh - 120px); }}
footer {{ padding: 4px 20px; font-size: 11px; color: #6b7280; }}
</style>
</head>
<body>
<header class="top">
  <span class="brand">artctl lineage</span><span class="muted">{html.escape(title)}</span>
</header>
<div class="layout">
  <main><div id="graph" class="lineage"></div></main>
  <aside id="panel" class="panel" aria-label="preview"></aside>
</div>
<footer>Drawn with {html.escape(licences)} (MIT licences; see artctl/ui/static/vendor/).</footer>
<script type="application/json" id="artctl-lineage">{json_for_script(data)}</script>
{scripts}
</body>
</html>
"""


def render_html(graph: Any, options: Any = None) -> str:
    """Renderer for :data:`artctl.cli.render.lineage.RENDERERS` (``graph`` is a lineage Graph)."""
    from artctl.ui.graphdata import graph_json

    data = graph_json(graph)
    return render_document(
        data,
        f"lineage of {graph.root[len('artifact:') :] if graph.root.startswith('artifact:') else graph.root}",
    )
