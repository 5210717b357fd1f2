/* artctl ui — DOM helpers shared by the page and the exported lineage file.
 *
 * Every name, alias, description and metadata value is user input: it only ever reaches the
 * page through text nodes (h() turns non-Node children into document.createTextNode), never
 * through innerHTML. Links to outside the page are accepted for http(s) only.
 */
"use strict";
(function (global) {
  function h(tag, props) {
    const el = document.createElement(tag);
    if (props) {
      for (const key of Object.keys(props)) {
        const value = props[key];
        if (value === undefined || value === null || value === false) continue;
        if (key === "class") el.className = value;
        else if (key === "text") el.textContent = String(value);
        else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
        else if (key === "href") el.setAttribute("href", safeHref(value));
        else el.setAttribute(key, String(value));
      }
    }
    for (let i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }

  function append(el, child) {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child)) { child.forEach((c) => append(el, c)); return; }
    el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }

  /* Internal hash links, or http(s) URLs; anything else (javascript:, data:) becomes "#". */
  function safeHref(url) {
    const text = String(url);
    if (text.startsWith("#")) return text;
    if (/^https?:\/\//i.test(text)) return text;
    return "#";
  }

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

  function humanSize(n) {
    if (n === null || n === undefined) return "-";
    let v = Number(n);
    for (const unit of ["B", "KiB", "MiB", "GiB", "TiB"]) {
      if (Math.abs(v) < 1024 || unit === "TiB") return unit === "B" ? v.toFixed(0) + " B" : v.toFixed(1) + " " + unit;
      v /= 1024;
    }
    return v.toFixed(1) + " TiB";
  }

  function shortTime(text) {
    if (!text) return "-";
    return String(text).slice(0, 16).replace("T", " ");
  }

  /* A key/value table; values that are objects are shown as formatted JSON text. */
  function kvTable(obj, cls) {
    const rows = Object.keys(obj || {}).sort().map((k) => {
      const v = obj[k];
      const shown = v !== null && typeof v === "object" ? JSON.stringify(v, null, 2) : String(v);
      return h("tr", null, h("th", { text: k }), h("td", null, h("span", { class: "value", text: shown })));
    });
    if (!rows.length) return h("p", { class: "muted", text: "none" });
    return h("table", { class: cls || "kv" }, h("tbody", null, rows));
  }

  global.ArtctlDom = { h, clear, append, safeHref, humanSize, shortTime, kvTable };
})(window);
