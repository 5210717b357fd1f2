/* artctl ui — the lineage graph view (shared by the page and `lineage --format html`).
 *
 * Data: {root, nodes: [{id, kind: "artifact"|"run", ...}], edges: [{from, to, kind}]}; edges go
 * run→artifact for a logged version, artifact→run for a used one and artifact→artifact (kind
 * "link", dashed) from a source version to its registry links. Layout is Cytoscape.js
 * with the dagre layered layout (vendored); this file only decides what to draw:
 *  - versions (blue) and runs (green), artifact type / job type on the first label line;
 *  - a cluster node for 5+ neighbours of one kind on the same side of a node (as in W&B), with
 *    a search box in the side panel and "pull out" to show one member on its own and follow
 *    its lineage;
 *  - a click on a node opens the side preview; direction and depth controls.
 */
"use strict";
(function (global) {
  const { h, clear } = global.ArtctlDom;
  const CLUSTER_MIN = 5;
  const COLORS = { artifact: "#1f6fd1", artifactBg: "#e4efff", run: "#1f8f4e", runBg: "#e3f6ea" };

  function shortName(name) {
    const parts = String(name || "").split("/");
    return parts[parts.length - 1];
  }

  function nodeTitle(n) {
    if (n.kind === "run") return (n.name || n.run_id || n.id.slice(4));
    return shortName(n.name) + ":" + n.version;
  }

  function nodeTag(n) { return n.kind === "run" ? (n.job_type || "run") : (n.type || "artifact"); }

  function nodeLabel(n) { return nodeTag(n) + "\n" + nodeTitle(n); }

  /* Successors (`out`) and predecessors (`inn`) of every node id, from the edge list. */
  function adjacency(edges) {
    const out = new Map(), inn = new Map();
    for (const e of edges) {
      if (!out.has(e.from)) out.set(e.from, []);
      if (!inn.has(e.to)) inn.set(e.to, []);
      out.get(e.from).push(e.to);
      inn.get(e.to).push(e.from);
    }
    return { out, inn };
  }

  /* Nodes within `depth` runs of root (as `artctl lineage --depth`), following edges forward
   * (downstream) and/or backward (upstream). */
  function subgraph(data, root, direction, depth) {
    const hops = 2 * depth - (String(root).startsWith("run:") ? 1 : 0);
    const { out, inn } = adjacency(data.edges);
    const keep = new Set([root]);
    const edges = new Set();
    const walks = direction === "both" ? [true, false] : [direction === "downstream"];
    for (const forward of walks) {
      let frontier = [root];
      const seen = new Set([root]);
      for (let level = 0; level < hops && frontier.length; level++) {
        const next = [];
        for (const id of frontier) {
          for (const other of (forward ? out.get(id) : inn.get(id)) || []) {
            edges.add(forward ? id + "\u0000" + other : other + "\u0000" + id);
            keep.add(other);
            if (!seen.has(other)) { seen.add(other); next.push(other); }
          }
        }
        frontier = next;
      }
    }
    return {
      root,
      nodes: data.nodes.filter((n) => keep.has(n.id)),
      edges: data.edges.filter((e) => edges.has(e.from + "\u0000" + e.to)),
    };
  }

  /* Group 5+ same-kind neighbours on one side of a node into clusters, nearest to the root
   * first; a cluster is itself an anchor, so the 6 models logged by a cluster of 6 runs form a
   * cluster too (as in W&B). */
  function computeClusters(data, pulled, expanded) {
    const byId = new Map(data.nodes.map((n) => [n.id, n]));
    const { out, inn } = adjacency(data.edges);
    const order = [], seen = new Set([data.root]);
    let frontier = [data.root];
    while (frontier.length) {
      const next = [];
      for (const id of frontier) {
        order.push(id);
        for (const o of (out.get(id) || []).concat(inn.get(id) || [])) {
          if (!seen.has(o)) { seen.add(o); next.push(o); }
        }
      }
      frontier = next.sort();
    }
    for (const n of data.nodes) if (!seen.has(n.id)) order.push(n.id);

    const memberOf = new Map();
    const clusters = [], clusterById = new Map();
    const neighbours = (id, table) => {
      const c = clusterById.get(id);
      if (!c) return table.get(id) || [];
      return Array.from(new Set([].concat(...c.members.map((m) => table.get(m.id) || []))));
    };
    const queue = order.slice();
    for (let i = 0; i < queue.length; i++) {
      const id = queue[i];
      if (memberOf.has(id)) continue;
      for (const [side, table] of [["out", out], ["in", inn]]) {
        const groups = { artifact: [], run: [] };
        for (const other of neighbours(id, table)) {
          const node = byId.get(other);
          if (!node || other === data.root || pulled.has(other) || memberOf.has(other)) continue;
          groups[node.kind === "run" ? "run" : "artifact"].push(node);
        }
        for (const kind of ["run", "artifact"]) {
          const members = groups[kind];
          const cid = "cluster:" + side + ":" + kind + ":" + id;
          if (members.length < CLUSTER_MIN || expanded.has(cid)) continue;
          members.sort((a, b) => nodeTitle(a).localeCompare(nodeTitle(b)));
          const cluster = { id: cid, kind, side, anchor: id, members };
          clusters.push(cluster);
          clusterById.set(cid, cluster);
          for (const m of members) memberOf.set(m.id, cid);
          queue.push(cid);
        }
      }
    }
    return { clusters, memberOf };
  }

  function clusterLabel(c) {
    const tags = Array.from(new Set(c.members.map(nodeTag)));
    const what = c.kind === "run" ? "runs" : "versions";
    return c.members.length + " " + what + "\n" + (tags.length === 1 ? tags[0] : tags.length + " types");
  }

  function elementsFor(data, pulled, expanded) {
    const { clusters, memberOf } = computeClusters(data, pulled, expanded);
    const rep = (id) => memberOf.get(id) || id;
    const els = [];
    for (const n of data.nodes) {
      if (memberOf.has(n.id)) continue;
      const classes = [n.kind === "run" ? "run" : "artifact"];
      if (n.id === data.root) classes.push("root");
      if (pulled.has(n.id)) classes.push("pulled");
      if (["deleted", "expired", "missing"].includes(n.state)) classes.push("inactive");
      els.push({ group: "nodes", data: { id: n.id, label: nodeLabel(n) }, classes: classes.join(" ") });
    }
    for (const c of clusters) {
      els.push({ group: "nodes", data: { id: c.id, label: clusterLabel(c) }, classes: "cluster " + c.kind });
    }
    const seenEdges = new Set();
    for (const e of data.edges) {
      const a = rep(e.from), b = rep(e.to);
      const key = a + "\u0000" + b;
      if (a === b || seenEdges.has(key)) continue;
      seenEdges.add(key);
      els.push({ group: "edges", data: { id: "edge:" + key, source: a, target: b }, classes: e.kind === "link" ? "link" : "" });
    }
    return { els, clusters };
  }

  const STYLE = [
    { selector: "node", style: {
      "shape": "round-rectangle", "width": 150, "height": 44, "label": "data(label)",
      "text-wrap": "wrap", "text-max-width": 142, "text-valign": "center", "text-halign": "center",
      "font-size": 12, "font-family": "system-ui, sans-serif", "border-width": 2, "color": "#1b1b1b" } },
    { selector: "node.artifact", style: { "background-color": COLORS.artifactBg, "border-color": COLORS.artifact } },
    { selector: "node.run", style: { "background-color": COLORS.runBg, "border-color": COLORS.run } },
    { selector: "node.cluster", style: { "border-style": "dashed", "border-width": 3, "height": 50 } },
    { selector: "node.root", style: { "border-width": 4, "font-weight": "bold" } },
    { selector: "node.pulled", style: { "border-style": "double", "border-width": 5 } },
    { selector: "node.inactive", style: { "opacity": 0.55 } },
    { selector: "node:selected", style: { "underlay-color": "#f59e0b", "underlay-opacity": 0.5, "underlay-padding": 6,
      "underlay-shape": "round-rectangle" } },
    { selector: "edge", style: {
      "width": 1.6, "line-color": "#8a94a6", "target-arrow-color": "#8a94a6",
      "target-arrow-shape": "triangle", "curve-style": "bezier", "arrow-scale": 1.1 } },
    { selector: "edge.link", style: { "line-style": "dashed", "label": "link", "font-size": 10, "color": "#6b7280" } },
  ];

  /* The view: toolbar (direction, depth), canvas, side panel. */
  function create(opts) {
    const state = {
      data: opts.data, full: opts.data, root: opts.data.root,
      direction: opts.direction || "both", depth: opts.depth || 2,
      pulled: new Set(), expanded: new Set(), clusters: [], selected: null,
    };
    const panel = opts.panel;
    const dirSelect = h("select", { class: "direction", "aria-label": "direction",
      onchange: () => { state.direction = dirSelect.value; reload(); } },
      ["both", "upstream", "downstream"].map((d) => h("option", { value: d, text: d })));
    dirSelect.value = state.direction;
    const depthInput = h("input", { class: "depth", type: "number", min: "1", max: "10",
      value: String(state.depth), "aria-label": "depth",
      onchange: () => { state.depth = Math.max(1, Math.min(10, parseInt(depthInput.value, 10) || 1)); reload(); } });
    const fitButton = h("button", { type: "button", class: "fit", onclick: () => cy && fit(), text: "Fit" });
    const rootLabel = h("span", { class: "graph-root" });
    const toolbar = h("div", { class: "graph-toolbar" },
      h("label", null, "Direction ", dirSelect), h("label", null, "Depth ", depthInput), fitButton, rootLabel,
      h("span", { class: "legend" }, h("span", { class: "swatch artifact" }), "version",
        h("span", { class: "swatch run" }), "run", h("span", { class: "swatch cluster" }), "cluster"));
    const canvas = h("div", { class: "graph-canvas" });
    clear(opts.container).appendChild(toolbar);
    opts.container.appendChild(canvas);
    let cy = null;
    /* The side panel narrows the canvas: tell Cytoscape, and keep the graph in view. */
    if (global.ResizeObserver) {
      let pending = null;
      new global.ResizeObserver(() => {
        clearTimeout(pending);
        pending = setTimeout(() => { if (cy) { cy.resize(); fit(); } }, 60);
      }).observe(canvas);
    }

    function fit() {
      cy.fit(undefined, 30);
      if (cy.zoom() > 1.3) { cy.zoom(1.3); cy.center(); }
    }

    function byId(id) { return state.data.nodes.find((n) => n.id === id); }

    function render() {
      const { els, clusters } = elementsFor(state.data, state.pulled, state.expanded);
      state.clusters = clusters;
      const root = byId(state.root);
      rootLabel.textContent = root ? "Lineage of " + nodeTag(root) + " " + nodeTitle(root) : "";
      if (cy) cy.destroy();
      cy = global.cytoscape({ container: canvas, elements: els, style: STYLE,
        boxSelectionEnabled: false, autoungrabify: true, minZoom: 0.2, maxZoom: 2.5 });
      cy.layout({ name: "dagre", rankDir: "LR", nodeSep: 18, rankSep: 45, edgeSep: 10,
        fit: false, animate: false }).run();
      fit();
      cy.on("tap", "node", (evt) => select(evt.target.id()));
      cy.on("tap", (evt) => { if (evt.target === cy) closePanel(); });
      if (state.selected && cy.getElementById(state.selected).length) cy.getElementById(state.selected).select();
      api.cy = cy;
    }

    async function reload() {
      if (opts.fetchLineage) {
        try {
          state.data = await opts.fetchLineage(state.root, state.direction, state.depth);
        } catch (err) { showError(err); return; }
      } else {
        state.data = subgraph(state.full, state.root, state.direction, state.depth);
      }
      for (const id of Array.from(state.pulled)) await mergeLineage(id);
      render();
      if (opts.onChange) opts.onChange(state.root, state.direction, state.depth);
    }

    async function mergeLineage(id) {
      let extra;
      if (opts.fetchLineage) {
        try { extra = await opts.fetchLineage(id, state.direction, state.depth); } catch (err) { return; }
      } else {
        extra = subgraph(state.full, id, state.direction, state.depth);
      }
      const have = new Set(state.data.nodes.map((n) => n.id));
      const haveEdges = new Set(state.data.edges.map((e) => e.from + "\u0000" + e.to));
      const nodes = state.data.nodes.concat(extra.nodes.filter((n) => !have.has(n.id)));
      const edges = state.data.edges.concat(extra.edges.filter((e) => !haveEdges.has(e.from + "\u0000" + e.to)));
      state.data = { root: state.data.root, nodes, edges };
    }

    function showError(err) {
      clear(panel).appendChild(h("div", { class: "error", text: String(err && err.message || err) }));
      panel.classList.add("open");
    }

    function closePanel() { panel.classList.remove("open"); clear(panel); state.selected = null; }

    function panelHeader(title, kind) {
      return h("div", { class: "panel-head" },
        h("span", { class: "badge " + kind, text: kind }), h("h3", { text: title }),
        h("button", { type: "button", class: "close", "aria-label": "close", onclick: closePanel, text: "\u00d7" }));
    }

    async function select(id) {
      state.selected = id;
      const cluster = state.clusters.find((c) => c.id === id);
      if (cluster) { showCluster(cluster); return; }
      const node = byId(id);
      if (!node) return;
      clear(panel);
      panel.classList.add("open");
      panel.appendChild(panelHeader(nodeLabel(node).replace("\n", " "), node.kind === "run" ? "run" : "version"));
      const body = h("div", { class: "panel-body preview" });
      const actions = h("div", { class: "panel-actions" },
        id !== state.root ? h("button", { type: "button", class: "focus", text: "Show lineage from here",
          onclick: () => focus(id) }) : null,
        opts.openHref ? h("a", { class: "open-link", href: opts.openHref(node), text: "Open details" }) : null);
      panel.appendChild(actions);
      panel.appendChild(body);
      try {
        body.appendChild(opts.describe ? await opts.describe(node) : describeFields(node));
      } catch (err) {
        body.appendChild(h("div", { class: "error", text: String(err && err.message || err) }));
      }
    }

    function describeFields(node) {
      const fields = {};
      for (const k of Object.keys(node)) if (k !== "label") fields[k] = node[k];
      return global.ArtctlDom.kvTable(fields);
    }

    function showCluster(cluster) {
      clear(panel);
      panel.classList.add("open");
      panel.appendChild(panelHeader(clusterLabel(cluster).replace("\n", " \u00b7 "), "cluster"));
      const search = h("input", { type: "search", class: "cluster-search", placeholder: "Search " + cluster.members.length + " nodes\u2026",
        "aria-label": "search cluster" });
      const list = h("ul", { class: "cluster-members" });
      const expand = h("button", { type: "button", class: "expand", text: "Expand all",
        onclick: () => { state.expanded.add(cluster.id); closePanel(); render(); } });
      function fill() {
        const needle = search.value.trim().toLowerCase();
        clear(list);
        for (const m of cluster.members) {
          const text = (nodeLabel(m) + " " + m.id).toLowerCase();
          if (needle && !text.includes(needle)) continue;
          list.appendChild(h("li", { class: "member", "data-id": m.id },
            h("span", { class: "badge small " + (m.kind === "run" ? "run" : "version"), text: nodeTag(m) }),
            h("span", { class: "member-name", text: nodeTitle(m) }),
            h("button", { type: "button", class: "pull-out", title: "pull this node out of the cluster",
              onclick: () => pullOut(m.id), text: "Pull out \u2192" })));
        }
        if (!list.firstChild) list.appendChild(h("li", { class: "muted", text: "no match" }));
      }
      search.addEventListener("input", fill);
      fill();
      panel.appendChild(h("div", { class: "panel-body" }, search, expand, list));
      search.focus();
    }

    async function pullOut(id) {
      state.pulled.add(id);
      await mergeLineage(id);
      render();
      select(id);
      if (cy) cy.getElementById(id).select();
    }

    function focus(id) {
      state.root = id;
      state.pulled.clear();
      state.expanded.clear();
      closePanel();
      reload();
    }

    const api = {
      cy: null, state, select, pullOut, focus, reload,
      /* New data for the same root (repository changed): keep pulled/expanded state. */
      refresh: () => reload(),
    };
    if (!opts.fetchLineage) state.data = subgraph(state.full, state.root, state.direction, state.depth);
    render();
    return api;
  }

  global.ArtctlGraph = { create, subgraph, computeClusters, nodeLabel, CLUSTER_MIN };
})(window);
