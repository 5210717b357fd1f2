/* artctl — bootstrap of a lineage graph exported by `artctl lineage REF --format html`.
 * The graph data sits in <script type="application/json" id="artctl-lineage"> (escaped so it
 * can never close the tag); it is parsed with JSON.parse and drawn with the page's graph view.
 * No network: direction/depth filter the embedded graph, previews show the node's fields. */
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("artctl-lineage").textContent);
  const levels = data.nodes.map((n) => Math.abs(n.level || 0));
  /* --depth counts runs: from a version a run is 1 edge away, from a run 2 edges. */
  const hops = Math.max(0, ...levels) + (String(data.root).startsWith("run:") ? 1 : 0);
  const depth = data.depth || Math.max(1, Math.ceil(hops / 2));
  window.artctlGraph = window.ArtctlGraph.create({
    container: document.getElementById("graph"), panel: document.getElementById("panel"),
    data, direction: data.direction || "both", depth,
  });
})();
