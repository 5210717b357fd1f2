/* artctl ui — the page: hash routes over the JSON API of `artctl ui`.
 *
 *   #/                        artifacts by project and type, name search
 *   #/artifact/NAME           versions with aliases, sizes, dates, TTL, state
 *   #/version/REF[/TAB]       overview (metadata, description, edits) · files · diff · lineage
 *   #/runs, #/run/ID[/TAB]    runs with inputs, outputs, config, status · lineage
 *   #/lineage/NODE            the lineage graph of a version (artifact:…) or run (run:…)
 *
 * All data goes into the DOM as text (ArtctlDom.h); the page polls /api/changed and re-renders
 * the current view when the repository changes.
 */
"use strict";
(function () {
  const { h, clear, humanSize, shortTime, kvTable } = window.ArtctlDom;
  const main = document.getElementById("main");
  const panel = document.getElementById("panel");
  const statusEl = document.getElementById("status");
  const app = { info: null, token: null, filters: { q: "", project: "", type: "" }, graph: null, renderSeq: 0, after: [] };
  window.artctlApp = app;

  async function api(path, params) {
    const url = new URL(path, window.location.origin);
    for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
    const res = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await res.json().catch(() => ({ error: "bad answer from server (" + res.status + ")" }));
    if (!res.ok) throw Object.assign(new Error(body.error + (body.hint ? " (" + body.hint + ")" : "")), { status: res.status });
    return body;
  }

  async function send(method, path, body) {
    const res = await fetch(path, { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const answer = await res.json().catch(() => ({ error: "bad answer from server (" + res.status + ")" }));
    if (!res.ok) throw new Error(answer.error + (answer.hint ? " (" + answer.hint + ")" : ""));
    return answer;
  }

  const enc = encodeURIComponent;
  const link = {
    artifact: (name) => "#/artifact/" + enc(name),
    version: (ref, tab) => "#/version/" + enc(ref) + (tab ? "/" + tab : ""),
    run: (id, tab) => "#/run/" + enc(id) + (tab ? "/" + tab : ""),
    lineage: (node) => "#/lineage/" + enc(node),
    node: (n) => (n.kind === "run" ? link.run(n.run_id || n.id.slice(4)) : link.version(n.name + ":" + n.version)),
  };

  function closePanel() { panel.classList.remove("open"); clear(panel); }

  function setNav(which) {
    for (const a of document.querySelectorAll("[data-nav]")) a.classList.toggle("active", a.dataset.nav === which);
  }

  function chips(aliases, versionName) {
    return (aliases || []).map((a) => h("span", { class: "chip" + (a === "latest" || a === versionName ? "" : " custom"), text: a }));
  }

  // -- views ---------------------------------------------------------------------------------
  async function viewArtifacts() {
    setNav("artifacts");
    const f = app.filters;
    const data = await api("/api/artifacts", { q: f.q, project: f.project, type: f.type });
    const search = h("input", { type: "search", id: "artifact-search", placeholder: "Search by name\u2026", value: f.q, "aria-label": "search artifacts" });
    const project = h("select", { id: "project-filter", "aria-label": "project" }, h("option", { value: "", text: "all projects" }),
      data.projects.map((p) => h("option", { value: p, text: p })));
    const type = h("select", { id: "type-filter", "aria-label": "type" }, h("option", { value: "", text: "all types" }),
      data.types.map((t) => h("option", { value: t, text: t })));
    project.value = f.project; type.value = f.type;
    let timer = null;
    search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => { f.q = search.value; route(true); }, 150); });
    project.addEventListener("change", () => { f.project = project.value; route(); });
    type.addEventListener("change", () => { f.type = type.value; route(); });
    const groups = new Map();
    for (const a of data.artifacts) {
      const key = a.project + "\u0000" + a.type;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(a);
    }
    const sections = [];
    for (const [key, rows] of groups) {
      const [proj, kind] = key.split("\u0000");
      sections.push(h("h2", null, proj, " \u00b7 ", h("span", { class: "muted", text: kind })));
      sections.push(h("table", { class: "list artifacts" },
        h("thead", null, h("tr", null, ["Name", "Versions", "Latest", "Size", "Updated"].map((t) => h("th", { text: t })))),
        h("tbody", null, rows.map((a) => h("tr", { class: "row", "data-name": a.name, onclick: () => { location.hash = link.artifact(a.name); } },
          h("td", null, h("a", { href: link.artifact(a.name), class: "artifact-link", text: a.name })),
          h("td", { text: a.versions }), h("td", { text: a.latest || "-" }),
          h("td", { text: humanSize(a.size) }), h("td", { text: shortTime(a.updated_at) }))))));
    }
    if (!sections.length) sections.push(h("p", { class: "muted", text: f.q || f.project || f.type ? "No artifact matches." : "No artifacts yet: `artctl artifact put PATH --name PROJECT/NAME --type TYPE`." }));
    return [h("h1", { text: "Artifacts" }), h("div", { class: "filters" }, search, project, type), sections];
  }

  async function viewArtifact(name) {
    setNav("artifacts");
    const data = await api("/api/artifact", { name });
    return [
      h("p", null, h("a", { href: "#/", text: "Artifacts" }), " / ", data.project),
      h("h1", null, data.name, " ", h("span", { class: "badge artifact", text: data.type })),
      h("table", { class: "list versions" },
        h("thead", null, h("tr", null, ["Version", "Aliases", "Files", "Size", "Created", "TTL", "Expires", "State"].map((t) => h("th", { text: t })))),
        h("tbody", null, data.versions.map((v) => h("tr", { class: "row", "data-version": v.version, onclick: () => { location.hash = link.version(v.ref); } },
          h("td", null, h("a", { href: link.version(v.ref), class: "version-link", text: v.version })),
          h("td", null, chips(v.aliases, v.version)), h("td", { text: v.files }), h("td", { text: humanSize(v.size) }),
          h("td", { text: shortTime(v.created_at) }), h("td", { text: v.ttl || "-" }), h("td", { text: shortTime(v.expires_at) }),
          h("td", { class: "state-" + v.state, text: v.state }))))),
    ];
  }

  function tabs(items, active) {
    return h("div", { class: "tabs" }, items.map(([key, label, href]) => h("a", { href, class: key === active ? "active" : "", "data-tab": key, text: label })));
  }

  async function viewVersion(ref, tab) {
    setNav("artifacts");
    tab = tab || "overview";
    const v = await api("/api/version", { ref });
    const head = [
      h("p", null, h("a", { href: "#/", text: "Artifacts" }), " / ", h("a", { href: link.artifact(v.name), text: v.name })),
      h("h1", null, v.name + ":" + v.version, " ", h("span", { class: "badge artifact", text: v.type }), " ", chips(v.aliases, v.version)),
      tabs([["overview", "Overview", link.version(v.ref)], ["files", "Files (" + v.files + ")", link.version(v.ref, "files")],
        ["diff", "Diff", link.version(v.ref, "diff")], ["lineage", "Lineage", link.version(v.ref, "lineage")]], tab),
    ];
    if (tab === "files") return head.concat(fileTree(v));
    if (tab === "diff") return head.concat(await diffView(v));
    if (tab === "lineage") return head.concat(lineageView(v.node));
    const fields = { digest: v.digest, files: v.files, size: humanSize(v.size) + " (" + v.size + " bytes)", created: v.created_at,
      state: v.state, ttl: v.ttl || "none", expires: v.expires_at || "never", "logged by run": v.logged_by || "-" };
    return head.concat([
      kvTable(fields),
      h("h2", { text: "Description" }),
      v.description ? h("div", { class: "description", text: v.description }) : h("p", { class: "muted", text: "none" }),
      h("h2", { text: "Metadata" }), h("div", { class: "metadata" }, kvTable(v.metadata)),
      v.logged_by ? h("p", null, "Logged by ", h("a", { href: link.run(v.logged_by), text: "run " + v.logged_by })) : null,
      v.link ? h("p", null, "Linked version of ", h("a", { href: link.version(v.link), text: v.link })) : null,
      (v.linked || []).length ? h("p", null, "Linked as ", ...v.linked.map((r, i) =>
        h("span", null, i ? ", " : "", h("a", { href: link.version(r), text: r })))) : null,
      app.info && app.info.allow_edit ? editForm(v) : null,
    ]);
  }

  function editForm(v) {
    const desc = h("textarea", { class: "edit-description", "aria-label": "description" }); desc.value = v.description || "";
    const meta = h("textarea", { class: "edit-metadata", "aria-label": "metadata" }); meta.value = JSON.stringify(v.metadata || {}, null, 2);
    const ttl = h("input", { type: "text", class: "edit-ttl", placeholder: "e.g. 30d, or empty for none", value: v.ttl || "", "aria-label": "ttl" });
    const alias = h("input", { type: "text", class: "edit-alias", placeholder: "alias, e.g. best", "aria-label": "alias" });
    const msg = h("div", { class: "edit-message", role: "status" });
    async function run(fn) {
      msg.className = "edit-message"; msg.textContent = "saving\u2026";
      try { await fn(); msg.textContent = "saved"; route(true); } catch (err) { msg.className = "edit-message error"; msg.textContent = err.message; }
    }
    const save = () => run(async () => {
      let metadata;
      try { metadata = JSON.parse(meta.value || "{}"); } catch (err) { throw new Error("metadata is not valid JSON"); }
      await send("PUT", "/api/version", { ref: v.ref, description: desc.value || null, metadata, ttl: ttl.value.trim() || null });
    });
    return h("div", { class: "edit" }, h("strong", { text: "Edit (server started with --allow-edit)" }),
      h("label", { text: "Description" }), desc, h("label", { text: "Metadata (JSON object)" }), meta,
      h("label", { text: "TTL" }), ttl, h("div", null, h("button", { type: "button", class: "save", onclick: save, text: "Save" })),
      h("label", { text: "Aliases" }),
      h("div", null, alias, " ",
        h("button", { type: "button", class: "alias-add", text: "Add alias", onclick: () => run(() => send("POST", "/api/alias", { ref: v.ref, alias: alias.value.trim(), action: "add" })) }), " ",
        h("button", { type: "button", class: "alias-remove", text: "Remove alias", onclick: () => run(() => send("POST", "/api/alias", { ref: v.ref, alias: alias.value.trim(), action: "remove" })) })),
      msg);
  }

  function fileTree(v) {
    const root = { dirs: new Map(), files: [] };
    for (const e of v.entries) {
      const parts = e.path.split("/");
      let node = root;
      for (const dir of parts.slice(0, -1)) {
        if (!node.dirs.has(dir)) node.dirs.set(dir, { dirs: new Map(), files: [], size: 0, count: 0 });
        node = node.dirs.get(dir);
        node.size += e.size; node.count += 1;
      }
      node.files.push(Object.assign({ base: parts[parts.length - 1] }, e));
    }
    function render(node) {
      const out = [];
      for (const [name, child] of [...node.dirs].sort((a, b) => a[0].localeCompare(b[0]))) {
        out.push(h("details", { class: "dir", open: "" }, h("summary", null, name + "/ ", h("span", { class: "muted", text: "(" + child.count + " files, " + humanSize(child.size) + ")" })),
          h("div", { class: "children" }, render(child))));
      }
      for (const f of node.files) {
        const where = f.ref ? (f.url ? h("a", { class: "ref", href: f.url, target: "_blank", rel: "noopener noreferrer", text: f.ref }) : h("span", { class: "ref", text: f.ref }))
          : h("span", { class: "digest", title: f.digest || "", text: (f.digest || "").slice(0, 16) });
        out.push(h("div", { class: "file", "data-path": f.path }, h("span", { class: "name", text: f.base }), h("span", { text: humanSize(f.size) }), where));
      }
      return out;
    }
    return [h("div", { class: "tree" }, render(root)),
      v.truncated ? h("p", { class: "muted", text: "Showing " + v.entries.length + " of " + v.entries_total + " files." }) : null];
  }

  async function diffView(v) {
    const others = v.other_versions || [];
    if (!others.length) return [h("p", { class: "muted", text: "No other live version to compare with." })];
    const key = "diff:" + v.name;
    const select = h("select", { class: "diff-against", "aria-label": "compare with" }, others.map((o) => h("option", { value: o, text: o })));
    const index = (name) => Number(String(name).slice(1));
    const older = others.filter((o) => index(o) < index(v.version));
    const remembered = sessionStorage.getItem(key);
    select.value = remembered && others.includes(remembered) && remembered !== v.version ? remembered
      : (older.length ? older[older.length - 1] : others[0]);
    const out = h("div", { class: "diff" });
    async function load() {
      sessionStorage.setItem(key, select.value);
      const d = await api("/api/diff", { old: v.name + ":" + select.value, new: v.ref });
      clear(out);
      const rows = [];
      for (const kind of ["added", "removed", "changed"]) {
        for (const r of d[kind]) rows.push(h("tr", { class: kind }, h("td", { text: kind }), h("td", { text: r.path }),
          h("td", { text: humanSize(r.old_size) }), h("td", { text: humanSize(r.new_size) })));
      }
      out.appendChild(rows.length ? h("table", { class: "list" }, h("thead", null, h("tr", null, ["", "Path", select.value, v.version].map((t) => h("th", { text: t })))), h("tbody", null, rows))
        : h("p", { class: "muted", text: "No difference." }));
    }
    select.addEventListener("change", () => load().catch(showError));
    await load();
    return [h("div", { class: "filters" }, h("label", null, "Compare " + v.version + " with ", select)), out];
  }

  async function viewRuns() {
    setNav("runs");
    const data = await api("/api/runs");
    return [h("h1", { text: "Runs" }),
      data.runs.length ? h("table", { class: "list runs" },
        h("thead", null, h("tr", null, ["Run", "Job type", "Status", "Started", "Inputs", "Outputs"].map((t) => h("th", { text: t })))),
        h("tbody", null, data.runs.map((r) => h("tr", { class: "row", "data-run": r.id, onclick: () => { location.hash = link.run(r.id); } },
          h("td", null, h("a", { href: link.run(r.id), text: r.name ? r.name + " (" + r.id + ")" : r.id })),
          h("td", { text: r.job_type }), h("td", { class: "status-" + r.status, text: r.status }), h("td", { text: shortTime(r.started_at) }),
          h("td", { text: r.inputs.length }), h("td", { text: r.outputs.length })))))
        : h("p", { class: "muted", text: "No runs yet: `artctl run start --job-type train`." })];
  }

  function linkList(links) {
    if (!links.length) return h("p", { class: "muted", text: "none" });
    return h("ul", null, links.map((l) => h("li", null, h("a", { href: link.version(l.ref), text: l.ref }), " ", h("span", { class: "muted", text: l.type }))));
  }

  async function viewRun(id, tab) {
    setNav("runs");
    const r = await api("/api/run", { id });
    const head = [h("p", null, h("a", { href: "#/runs", text: "Runs" })),
      h("h1", null, (r.name || r.id) + " ", h("span", { class: "badge run", text: r.job_type }), " ", h("span", { class: "chip", text: r.status })),
      tabs([["overview", "Overview", link.run(r.id)], ["lineage", "Lineage", link.run(r.id, "lineage")]], tab || "overview")];
    if (tab === "lineage") return head.concat(lineageView(r.node));
    return head.concat([
      kvTable({ id: r.id, status: r.status, "job type": r.job_type, started: r.started_at, finished: r.finished_at || "-",
        "exit code": r.exit_code === null ? "-" : r.exit_code, host: r.host || "-", "git commit": r.git_commit || "-",
        command: (r.command || []).join(" ") }),
      h("h2", { text: "Inputs (used)" }), linkList(r.inputs),
      h("h2", { text: "Outputs (logged)" }), linkList(r.outputs),
      h("h2", { text: "Config" }), h("div", { class: "config" }, kvTable(r.config)),
    ]);
  }

  async function describeNode(node) {
    if (node.kind === "run") {
      const r = await api("/api/run", { id: node.run_id || node.id.slice(4) });
      return h("div", null, kvTable({ "job type": r.job_type, status: r.status, started: r.started_at, finished: r.finished_at || "-",
        inputs: r.inputs.map((l) => l.ref).join(", ") || "-", outputs: r.outputs.map((l) => l.ref).join(", ") || "-" }),
        h("h4", { text: "Config" }), kvTable(r.config));
    }
    const v = await api("/api/version", { ref: node.name + ":" + node.version });
    return h("div", null, kvTable({ type: v.type, aliases: v.aliases.join(", "), files: v.files, size: humanSize(v.size),
      created: v.created_at, state: v.state, ttl: v.ttl || "none" }),
      v.description ? h("div", { class: "description", text: v.description }) : null,
      h("h4", { text: "Metadata" }), kvTable(v.metadata));
  }

  function lineageView(node, params) {
    const box = h("div", { class: "lineage" });
    const p = params || {};
    const fetchLineage = (id, direction, depth) => api("/api/lineage", { node: id, direction, depth });
    app.after.push(async () => {
      try {
        const data = await fetchLineage(node, p.direction || "both", p.depth || 2);
        app.graph = window.ArtctlGraph.create({ container: box, panel, data, direction: p.direction || "both", depth: Number(p.depth || 2),
          fetchLineage, describe: describeNode, openHref: link.node });
        box.dataset.ready = "1";
      } catch (err) { box.appendChild(h("div", { class: "error", text: err.message })); }
    });
    return [box];
  }

  async function viewLineage(node, params) {
    return [h("h1", { text: "Lineage" }), lineageView(node, params)];
  }

  // -- routing -------------------------------------------------------------------------------
  function showError(err) { main.appendChild(h("div", { class: "error", text: err.message || String(err) })); }

  async function route(keepFocus) {
    const seq = ++app.renderSeq;
    const [path, query] = location.hash.replace(/^#/, "").split("?");
    const parts = (path || "/").split("/").filter(Boolean).map(decodeURIComponent);
    const params = Object.fromEntries(new URLSearchParams(query || ""));
    const active = document.activeElement && document.activeElement.id;
    const caret = active && document.activeElement.selectionStart;
    closePanel();
    app.graph = null;
    app.after = [];
    let content;
    try {
      if (!parts.length) content = await viewArtifacts();
      else if (parts[0] === "artifact") content = await viewArtifact(parts[1]);
      else if (parts[0] === "version") content = await viewVersion(parts[1], parts[2]);
      else if (parts[0] === "runs") content = await viewRuns();
      else if (parts[0] === "run") content = await viewRun(parts[1], parts[2]);
      else if (parts[0] === "lineage") content = await viewLineage(parts[1], params);
      else content = [h("p", { class: "error", text: "Unknown page." })];
    } catch (err) {
      content = [h("div", { class: "error", text: err.message || String(err) }), h("p", null, h("a", { href: "#/", text: "Back to artifacts" }))];
    }
    if (seq !== app.renderSeq) return;
    clear(main);
    window.ArtctlDom.append(main, content);
    for (const hook of app.after.splice(0)) hook();
    main.dataset.view = parts[0] || "artifacts";
    document.title = "artctl \u00b7 " + (parts[1] || parts[0] || "artifacts");
    main.dataset.rendered = performance.timeOrigin + ":" + seq;  // unique per load and render (tests wait on it)
    if (keepFocus && active) {
      const el = document.getElementById(active);
      if (el) { el.focus(); if (caret !== undefined && el.setSelectionRange) try { el.setSelectionRange(caret, caret); } catch (e) { /* not a text input */ } }
    }
  }

  async function poll() {
    try {
      const res = await api("/api/changed", { since: app.token });
      statusEl.className = "status";
      if (res.changed) {
        app.token = res.token;
        statusEl.className = "status changed";
        statusEl.textContent = "repository changed \u2014 reloaded " + new Date().toLocaleTimeString();
        if (app.graph) await app.graph.refresh(); else await route(true);
        document.body.dataset.reloads = String(Number(document.body.dataset.reloads || 0) + 1);
      }
    } catch (err) {
      statusEl.className = "status offline";
      // 403: the server no longer takes this page's token (it was restarted with a new one).
      statusEl.textContent = err.status === 403 ? "access token refused: open the URL artctl ui printed"
        : "server not reachable; retrying\u2026";
    } finally {
      setTimeout(poll, app.pollMs);
    }
  }

  async function start() {
    app.pollMs = Number(new URLSearchParams(location.search).get("poll")) || 2000;
    try {
      app.info = await api("/api/info");
      app.token = app.info.token;
      const where = document.getElementById("repo-path");
      where.textContent = app.info.repository.split("/").filter(Boolean).pop() + (app.info.allow_edit ? " (editable)" : " (read-only)");
      where.title = app.info.repository;
    } catch (err) { showError(err); }
    window.addEventListener("hashchange", () => route());
    await route();
    setTimeout(poll, app.pollMs);
  }

  start();
})();
