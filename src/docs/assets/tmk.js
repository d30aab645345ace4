// tmk docs: the page's behaviour. Reads window.TMK_DATA (written by `tmk docs generate`: nodes
// with columns, SQL, status and a precomputed layered layout; edges; column lineage as each
// column's upstream columns) and draws a sidebar, search, node pages, and a canvas lineage graph
// that draws only what is in view, filtered with dbt's selector syntax (select.js). No
// framework, no network.
(function () {
  "use strict";
  const DATA = window.TMK_DATA || { nodes: [], edges: [] };
  const NODES = DATA.nodes;
  const TYPES = ["model", "source", "seed", "snapshot", "test"];
  const TYPE_RANK = { model: 3, source: 2, seed: 1, snapshot: 1 };
  const COLOURS = { model: "#4458d8", source: "#0e9a6c", seed: "#0b8fb0", snapshot: "#8a46d6", test: "#c27a0e" };
  const $ = (id) => document.getElementById(id);
  const esc = (text) => String(text == null ? "" : text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

  // ---- Indexes -------------------------------------------------------------------------
  const byId = new Map();
  NODES.forEach((node, i) => byId.set(node.id, i));
  // The drawn graph's edges (tests are not drawn; the selector walks through them).
  const { parents, children } = window.TmkSelector.adjacency(NODES.length, DATA.edges);
  // Column lineage: key "node|column" (column lower-cased) → upstream keys; downstream reversed.
  const colKey = (node, column) => node + "|" + String(column).toLowerCase();
  const upstreamOf = new Map();
  const downstreamOf = new Map();
  NODES.forEach((node, i) => {
    for (const column of node.cols) {
      if (!column.up) continue;
      const key = colKey(i, column.n);
      const ups = column.up.map(([p, c]) => colKey(p, c));
      upstreamOf.set(key, ups);
      for (const up of ups) {
        if (!downstreamOf.has(up)) downstreamOf.set(up, []);
        downstreamOf.get(up).push(key);
      }
    }
  });
  const columnOf = (key) => {
    const [n, c] = key.split("|");
    return NODES[+n].cols.find((col) => col.n.toLowerCase() === c);
  };
  const columnName = (key) => {
    const found = columnOf(key);
    return found ? found.n : key.split("|")[1];
  };
  // How a column is computed (identity, expression, aggregate, window, constant, stored).
  const transformChip = (column) => column && column.tr ? `<span class="chip" title="how it is computed">${esc(column.tr)}</span>` : "";
  const hasLineage = upstreamOf.size > 0;

  // ---- Routing: #node=<unique id>&col=<column>&select=<selector>&exclude=<selector> -------
  // The hash is the whole view: the node page, its column, and the graph's selection (absent:
  // the node's +node+ neighbourhood, or everything on the overview), so a link reopens it.
  // Selectors keep `+ : , @ / *` readable; `+` is not a space here, unlike in a query string.
  function route() {
    const params = new Map();
    for (const part of location.hash.slice(1).split("&")) {
      const eq = part.indexOf("=");
      if (eq <= 0) continue;
      try { params.set(part.slice(0, eq), decodeURIComponent(part.slice(eq + 1))); } catch { /* a mangled link: ignore the part */ }
    }
    const param = (key) => params.get(key) ?? null;
    return { node: param("node"), col: param("col"), select: param("select"), exclude: param("exclude"), q: param("q") };
  }
  const encode = (value) => encodeURIComponent(value).replace(/%(2B|3A|2C|40|2F|2A)/g, (escaped) => decodeURIComponent(escaped));
  // The hash of a node page (with a column), and of a graph selection {select, exclude}.
  function href(id, col, view) {
    const parts = [];
    if (id) parts.push("node=" + encode(id));
    if (col) parts.push("col=" + encode(col));
    if (view) parts.push("select=" + encode(view.select));
    if (view && view.exclude) parts.push("exclude=" + encode(view.exclude));
    return "#" + parts.join("&");
  }

  // ---- Header and sidebar ------------------------------------------------------------------
  function header() {
    $("project").textContent = DATA.project || "";
    document.title = (DATA.project ? DATA.project + " · " : "") + "tmk docs";
    if (DATA.run_at) $("run-info").textContent = "last run " + DATA.run_at.replace("T", " ").slice(0, 16) + " UTC";
    $("graph-legend").innerHTML = TYPES.filter((t) => t !== "test")
      .map((t) => `<span><i style="background:${COLOURS[t]}"></i>${t}</span>`).join("");
  }

  const SIDEBAR_CHUNK = 400;
  function sidebar() {
    const groups = {};
    NODES.forEach((node, i) => (groups[node.t] = groups[node.t] || []).push(i));
    const nav = $("sidebar");
    nav.innerHTML = "";
    for (const type of TYPES) {
      const members = (groups[type] || []).sort((a, b) => NODES[a].n.localeCompare(NODES[b].n));
      if (!members.length) continue;
      const details = document.createElement("details");
      details.open = type !== "test";
      details.dataset.type = type;
      details.innerHTML = `<summary>${type}s<span class="count">${members.length}</span></summary><ul></ul>`;
      const list = details.querySelector("ul");
      let shown = 0;
      const more = document.createElement("button");
      more.className = "more";
      more.type = "button";
      const fill = () => {
        const next = members.slice(shown, shown + SIDEBAR_CHUNK);
        list.insertAdjacentHTML("beforeend", next.map((i) => {
          const node = NODES[i];
          return `<li><a href="${href(node.id)}" data-id="${esc(node.id)}" title="${esc(node.id)}"><span class="dot ${esc(node.st || "")}"></span>${esc(node.n)}</a></li>`;
        }).join(""));
        shown += next.length;
        more.textContent = `Show ${Math.min(SIDEBAR_CHUNK, members.length - shown)} more of ${members.length - shown}`;
        more.hidden = shown >= members.length;
      };
      more.addEventListener("click", fill);
      fill();
      details.appendChild(more);
      nav.appendChild(details);
    }
  }
  function markSidebar(id) {
    for (const a of document.querySelectorAll("#sidebar a.current")) a.classList.remove("current");
    if (!id) return;
    const a = document.querySelector(`#sidebar a[data-id="${CSS.escape(id)}"]`);
    if (a) { a.classList.add("current"); a.scrollIntoView({ block: "nearest" }); }
  }

  // ---- Search ----------------------------------------------------------------------------
  const haystacks = NODES.map((node) => ({
    name: node.n.toLowerCase(),
    id: node.id.toLowerCase(),
    path: (node.f || "").toLowerCase(),
    text: (node.d || "").replace(/<[^>]+>/g, " ").toLowerCase(),
    cols: node.cols.map((c) => c.n.toLowerCase()),
    tags: (node.tags || []).map((t) => t.toLowerCase()),
  }));
  function search(query) {
    const q = query.trim().toLowerCase();
    if (!q) return [];
    const hits = [];
    haystacks.forEach((h, i) => {
      let score = 0, why = "";
      if (h.name === q) score = 100;
      else if (h.name.startsWith(q)) score = 60;
      else if (h.name.includes(q)) score = 40;
      else if (h.id.includes(q) || h.path.includes(q)) { score = 25; why = NODES[i].f || NODES[i].id; }
      if (!score) {
        const col = h.cols.find((c) => c.includes(q));
        if (col) { score = col === q ? 20 : 15; why = "column " + NODES[i].cols[h.cols.indexOf(col)].n; }
      }
      if (!score && h.tags.some((t) => t.includes(q))) { score = 12; why = "tag " + NODES[i].tags.join(", "); }
      if (!score) {
        const at = h.text.indexOf(q);
        if (at >= 0) { score = 8; why = "…" + h.text.slice(Math.max(0, at - 30), at + 50).trim() + "…"; }
      }
      if (score) {
        // Tests' names repeat their model's and columns': they come after what they test.
        score = NODES[i].t === "test" ? score / 4 : score + (TYPE_RANK[NODES[i].t] || 0);
        hits.push({ i, score, why: why || NODES[i].f || NODES[i].id });
      }
    });
    hits.sort((a, b) => b.score - a.score || NODES[a.i].n.length - NODES[b.i].n.length || NODES[a.i].n.localeCompare(NODES[b.i].n));
    return hits.slice(0, 60);
  }
  let searchActive = 0;
  function showSearch() {
    const box = $("search-results");
    const query = $("search").value;
    if (!query.trim()) { box.hidden = true; box.innerHTML = ""; return; }
    const hits = search(query);
    searchActive = 0;
    box.innerHTML = hits.length
      ? hits.map((hit, k) => {
        const node = NODES[hit.i];
        return `<li data-id="${esc(node.id)}" class="${k === 0 ? "active" : ""}"><span class="badge ${node.t}">${node.t}</span><span class="name">${esc(node.n)}</span><span class="why">${esc(hit.why)}</span></li>`;
      }).join("")
      : `<li class="empty">Nothing matches “${esc(query)}”.</li>`;
    box.hidden = false;
  }
  function openSearchHit(li) {
    if (!li || !li.dataset.id) return;
    location.hash = href(li.dataset.id);
    $("search-results").hidden = true;
    $("search").blur();
  }
  function wireSearch() {
    let timer = 0;
    const input = $("search");
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(showSearch, 60); });
    input.addEventListener("focus", () => { if (input.value.trim()) showSearch(); });
    input.addEventListener("keydown", (event) => {
      const items = [...document.querySelectorAll("#search-results li[data-id]")];
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!items.length) return;
        items[searchActive].classList.remove("active");
        searchActive = (searchActive + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
        items[searchActive].classList.add("active");
        items[searchActive].scrollIntoView({ block: "nearest" });
      } else if (event.key === "Enter") {
        clearTimeout(timer);
        showSearch();
        openSearchHit(document.querySelectorAll("#search-results li[data-id]")[searchActive]);
      } else if (event.key === "Escape") {
        $("search-results").hidden = true;
        input.blur();
      }
    });
    $("search-results").addEventListener("mousedown", (event) => openSearchHit(event.target.closest("li")));
    input.addEventListener("blur", () => setTimeout(() => ($("search-results").hidden = true), 150));
    document.addEventListener("keydown", (event) => {
      if (event.key === "/" && !/INPUT|TEXTAREA/.test(document.activeElement.tagName)) { event.preventDefault(); input.focus(); input.select(); }
    });
  }

  // ---- Selection: dbt's --select/--exclude (select.js), drawn without tests ----------------
  const inGraph = NODES.map((node) => node.L !== undefined);
  const selector = window.TmkSelector.create(DATA);
  // The term that selects node i by itself: its name, or source:<source>.<table>.
  const nodeTerm = (i) => (NODES[i].t === "source" ? "source:" : "") + NODES[i].n;

  // ---- The graph ---------------------------------------------------------------------------
  const NODE_W = 190, NODE_H = 30, COL_GAP = 90, ROW_GAP = 14, COL_ROW = 19;
  const canvas = $("graph");
  const ctx = canvas.getContext("2d");
  const G = {
    visible: [],            // node indices shown
    pos: new Map(),         // node index → {x, y, h}
    edges: [],              // [parent, child] both shown
    colEdges: [],           // [fromKey, toKey] in column mode
    rows: new Map(),        // node index → column keys listed under its name (column mode)
    selected: -1,
    column: null,           // "node|col" in column mode
    scale: 1, tx: 0, ty: 0,
    bounds: { x0: 0, y0: 0, x1: 1, y1: 1 },
    queued: false,
    hover: -1,
  };

  function layoutVisible(indices, rows) {
    // Columns keep the generate-time layers (compacted), rows keep its order (compacted),
    // each column centred: a subset of the whole graph looks like the whole graph.
    const byLayer = new Map();
    for (const i of indices) {
      const L = NODES[i].L;
      if (!byLayer.has(L)) byLayer.set(L, []);
      byLayer.get(L).push(i);
    }
    const layers = [...byLayer.keys()].sort((a, b) => a - b);
    G.pos = new Map();
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    layers.forEach((L, column) => {
      const members = byLayer.get(L).sort((a, b) => NODES[a].o - NODES[b].o);
      const heights = members.map((i) => NODE_H + (rows.get(i) || []).length * COL_ROW);
      const total = heights.reduce((s, h) => s + h + ROW_GAP, -ROW_GAP);
      let y = -total / 2;
      members.forEach((i, k) => {
        const x = column * (NODE_W + COL_GAP);
        G.pos.set(i, { x, y, h: heights[k] });
        x0 = Math.min(x0, x); x1 = Math.max(x1, x + NODE_W);
        y0 = Math.min(y0, y); y1 = Math.max(y1, y + heights[k]);
        y += heights[k] + ROW_GAP;
      });
    });
    G.bounds = indices.length ? { x0, y0, x1, y1 } : { x0: 0, y0: 0, x1: 1, y1: 1 };
  }

  function show(indices, options) {
    const opts = options || {};
    G.visible = [...indices].filter((i) => inGraph[i]);
    G.rows = opts.rows || new Map();
    G.column = opts.column || null;
    G.colEdges = opts.colEdges || [];
    layoutVisible(G.visible, G.rows);
    const shown = new Set(G.visible);
    G.edges = [];
    for (const [p, c] of DATA.edges) if (shown.has(p) && shown.has(c)) G.edges.push([p, c]);
    canvas.dataset.nodes = JSON.stringify(G.visible.map((i) => NODES[i].id).sort());
    canvas.dataset.edges = JSON.stringify(G.edges.map(([p, c]) => NODES[p].id + " -> " + NODES[c].id).sort());
    canvas.dataset.columnEdges = JSON.stringify(G.colEdges.map(([a, b]) => keyLabel(a) + " -> " + keyLabel(b)).sort());
    const total = inGraph.filter(Boolean).length;
    const tests = opts.tests || 0;
    $("graph-count").textContent = `${G.visible.length} of ${total} nodes` + (tests ? ` · ${tests} tests` : "") + (G.column ? ` · column ${keyLabel(G.column)}` : "");
    fit();
  }
  function keyLabel(key) {
    const [n] = key.split("|");
    return NODES[+n].id + "." + columnName(key);
  }

  function resize() {
    const ratio = window.devicePixelRatio || 1;
    const rect = canvas.getBoundingClientRect();
    canvas.width = Math.max(1, Math.round(rect.width * ratio));
    canvas.height = Math.max(1, Math.round(rect.height * ratio));
    draw();
  }
  function fit() {
    const rect = canvas.getBoundingClientRect();
    const b = G.bounds;
    const w = Math.max(1, b.x1 - b.x0), h = Math.max(1, b.y1 - b.y0);
    G.scale = Math.min(1.2, Math.max(0.02, Math.min((rect.width - 60) / w, (rect.height - 50) / h)));
    G.tx = rect.width / 2 - (b.x0 + w / 2) * G.scale;
    G.ty = rect.height / 2 - (b.y0 + h / 2) * G.scale;
    draw();
  }
  function draw() {
    if (G.queued) return;
    G.queued = true;
    requestAnimationFrame(paint);
  }
  function rowY(i, key) {
    const p = G.pos.get(i);
    const k = (G.rows.get(i) || []).indexOf(key);
    return k < 0 ? p.y + NODE_H / 2 : p.y + NODE_H + k * COL_ROW + COL_ROW / 2;
  }
  function paint() {
    const started = performance.now();
    paintNodes();
    canvas.dataset.paintMs = (performance.now() - started).toFixed(1);
  }
  function paintNodes() {
    G.queued = false;
    const ratio = window.devicePixelRatio || 1;
    const s = G.scale;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(ratio * s, 0, 0, ratio * s, ratio * G.tx, ratio * G.ty);
    // The world rectangle in view: only what meets it is drawn.
    const vx0 = -G.tx / s, vy0 = -G.ty / s;
    const vx1 = vx0 + canvas.width / ratio / s, vy1 = vy0 + canvas.height / ratio / s;
    const detailed = s >= 0.38;
    const sel = G.selected;
    // Edges.
    const near = [];
    ctx.lineWidth = Math.max(1, 1.2 / s) * (detailed ? 1 : 0.8);
    ctx.strokeStyle = G.column ? "rgba(120,130,160,.25)" : detailed ? "rgba(120,130,160,.55)" : "rgba(120,130,160,.28)";
    ctx.beginPath();
    for (const edge of G.edges) {
      const a = G.pos.get(edge[0]), b = G.pos.get(edge[1]);
      const ax = a.x + NODE_W, ay = a.y + NODE_H / 2, bx = b.x, by = b.y + NODE_H / 2;
      if (Math.max(ax, bx) < vx0 || Math.min(ax, bx) > vx1 || Math.max(ay, by) < vy0 || Math.min(ay, by) > vy1) continue;
      if (edge[0] === sel || edge[1] === sel) { near.push(edge); continue; }
      curve(ax, ay, bx, by);
    }
    ctx.stroke();
    if (near.length) {
      ctx.strokeStyle = "#4458d8";
      ctx.lineWidth = Math.max(1.6, 2 / s);
      ctx.beginPath();
      for (const [p, c] of near) { const a = G.pos.get(p), b = G.pos.get(c); curve(a.x + NODE_W, a.y + NODE_H / 2, b.x, b.y + NODE_H / 2); }
      ctx.stroke();
    }
    // Column edges (column mode).
    if (G.colEdges.length) {
      ctx.strokeStyle = "#e0662b";
      ctx.lineWidth = Math.max(1.5, 1.8 / s);
      ctx.beginPath();
      for (const [from, to] of G.colEdges) {
        const fi = +from.split("|")[0], ti = +to.split("|")[0];
        const a = G.pos.get(fi), b = G.pos.get(ti);
        if (!a || !b) continue;
        curve(a.x + NODE_W, rowY(fi, from), b.x, rowY(ti, to));
      }
      ctx.stroke();
    }
    // Nodes.
    ctx.textBaseline = "middle";
    ctx.font = "600 12.5px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
    for (const i of G.visible) {
      const p = G.pos.get(i);
      if (p.x > vx1 || p.x + NODE_W < vx0 || p.y > vy1 || p.y + p.h < vy0) continue;
      const node = NODES[i];
      const colour = COLOURS[node.t] || "#888";
      if (!detailed) {
        ctx.fillStyle = i === sel ? "#161b2e" : colour;
        ctx.fillRect(p.x, p.y, NODE_W, p.h);
        continue;
      }
      roundRect(p.x, p.y, NODE_W, p.h, 7);
      ctx.fillStyle = i === sel ? "#eef0fe" : i === G.hover ? "#f7f8ff" : "#ffffff";
      ctx.fill();
      ctx.lineWidth = i === sel ? 2.2 : 1;
      ctx.strokeStyle = i === sel ? "#4458d8" : "#cfd4de";
      ctx.stroke();
      ctx.fillStyle = colour;
      roundRect(p.x, p.y, 6, p.h, 3);
      ctx.fill();
      if (node.st) {
        ctx.fillStyle = /error|fail/.test(node.st) ? "#d23c3c" : node.st === "skipped" ? "#8a93a6" : node.st === "warn" ? "#c27a0e" : "#1d9a55";
        ctx.beginPath(); ctx.arc(p.x + NODE_W - 11, p.y + NODE_H / 2, 3.5, 0, 7); ctx.fill();
      }
      ctx.fillStyle = "#1d2433";
      ctx.font = "600 12.5px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
      ctx.fillText(clip(node.n, NODE_W - 34), p.x + 14, p.y + NODE_H / 2);
      const rows = G.rows.get(i);
      if (rows) {
        ctx.font = "12px ui-monospace, Menlo, Consolas, monospace";
        rows.forEach((key, k) => {
          const y = p.y + NODE_H + k * COL_ROW;
          if (key === G.column) { ctx.fillStyle = "#ffe7d9"; ctx.fillRect(p.x + 7, y, NODE_W - 8, COL_ROW); }
          ctx.fillStyle = "#9a3f12";
          ctx.fillText(clip(columnName(key), NODE_W - 26), p.x + 16, y + COL_ROW / 2);
        });
      }
    }
  }
  function curve(ax, ay, bx, by) {
    const dx = Math.max(30, (bx - ax) / 2);
    ctx.moveTo(ax, ay);
    ctx.bezierCurveTo(ax + dx, ay, bx - dx, by, bx, by);
  }
  function roundRect(x, y, w, h, r) {
    ctx.beginPath();
    ctx.moveTo(x + r, y);
    ctx.arcTo(x + w, y, x + w, y + h, r);
    ctx.arcTo(x + w, y + h, x, y + h, r);
    ctx.arcTo(x, y + h, x, y, r);
    ctx.arcTo(x, y, x + w, y, r);
    ctx.closePath();
  }
  const clipped = new Map();
  function clip(text, width) {
    const key = ctx.font + "|" + width + "|" + text;
    if (clipped.has(key)) return clipped.get(key);
    let out = text;
    if (ctx.measureText(text).width > width) {
      let lo = 0, hi = text.length;
      while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (ctx.measureText(text.slice(0, mid) + "…").width <= width) lo = mid; else hi = mid - 1; }
      out = text.slice(0, lo) + "…";
    }
    clipped.set(key, out);
    return out;
  }
  function nodeAt(clientX, clientY) {
    const rect = canvas.getBoundingClientRect();
    const x = (clientX - rect.left - G.tx) / G.scale, y = (clientY - rect.top - G.ty) / G.scale;
    for (const i of G.visible) {
      const p = G.pos.get(i);
      if (x >= p.x && x <= p.x + NODE_W && y >= p.y && y <= p.y + p.h) return i;
    }
    return -1;
  }
  // Where a shown node is on screen (for tests and keyboard users): its centre in client pixels.
  function screenPosition(id) {
    const i = byId.get(id);
    const p = G.pos.get(i);
    if (!p) return null;
    const rect = canvas.getBoundingClientRect();
    return { x: rect.left + G.tx + (p.x + NODE_W / 2) * G.scale, y: rect.top + G.ty + (p.y + NODE_H / 2) * G.scale };
  }
  function wireGraph() {
    let drag = null;
    canvas.addEventListener("mousedown", (event) => { drag = { x: event.clientX, y: event.clientY, tx: G.tx, ty: G.ty, moved: false }; });
    window.addEventListener("mousemove", (event) => {
      if (drag) {
        const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
        if (Math.abs(dx) + Math.abs(dy) > 3) { drag.moved = true; canvas.classList.add("dragging"); }
        G.tx = drag.tx + dx; G.ty = drag.ty + dy;
        draw();
        return;
      }
      if (event.target !== canvas) return;
      const i = nodeAt(event.clientX, event.clientY);
      const tip = $("graph-tip");
      if (i !== G.hover) { G.hover = i; draw(); }
      if (i >= 0) {
        const rect = canvas.parentNode.getBoundingClientRect();
        tip.hidden = false;
        tip.textContent = `${NODES[i].t} · ${NODES[i].n}` + (NODES[i].m && NODES[i].m !== NODES[i].t ? ` · ${NODES[i].m}` : "");
        tip.style.left = event.clientX - rect.left + 14 + "px";
        tip.style.top = event.clientY - rect.top + 12 + "px";
        canvas.style.cursor = "pointer";
      } else { tip.hidden = true; canvas.style.cursor = ""; }
    });
    window.addEventListener("mouseup", (event) => {
      if (!drag) return;
      const moved = drag.moved;
      drag = null;
      canvas.classList.remove("dragging");
      if (moved || event.target !== canvas) return;
      const i = nodeAt(event.clientX, event.clientY);
      if (i >= 0) openNode(NODES[i].id, drawn);
    });
    canvas.addEventListener("dblclick", (event) => {
      const i = nodeAt(event.clientX, event.clientY);
      if (i >= 0) { $("selector").value = "+" + nodeTerm(i) + "+"; applySelector(); }
    });
    canvas.addEventListener("wheel", (event) => {
      event.preventDefault();
      const rect = canvas.getBoundingClientRect();
      const mx = event.clientX - rect.left, my = event.clientY - rect.top;
      const factor = Math.exp(-event.deltaY * (event.deltaMode === 1 ? 0.05 : 0.0015));
      const scale = Math.min(3, Math.max(0.02, G.scale * factor));
      G.tx = mx - (mx - G.tx) * (scale / G.scale);
      G.ty = my - (my - G.ty) * (scale / G.scale);
      G.scale = scale;
      draw();
    }, { passive: false });
    new ResizeObserver(resize).observe(canvas);
    $("graph-fit").addEventListener("click", fit);
    $("graph-all").addEventListener("click", () => { $("selector").value = ""; $("exclude").value = ""; applySelector(); });
    $("graph-size").addEventListener("click", () => { document.body.classList.toggle("graph-large"); });
    for (const box of [$("selector"), $("exclude")]) {
      box.addEventListener("keydown", (event) => { if (event.key === "Enter") applySelector(); });
      box.addEventListener("change", applySelector);
    }
  }
  // The boxes' selection becomes the view through the hash (a link to it reopens it).
  function applySelector() {
    const next = href(route().node, null, { select: $("selector").value.trim(), exclude: $("exclude").value.trim() });
    if (location.hash === next) render(); else location.hash = next;
  }
  // The selection drawn ({select, exclude}); null before the first and in column mode.
  let drawn = null;
  // Show the selection `view` in the boxes and draw it, unless it is what is drawn.
  function showView(view) {
    $("selector").value = view.select;
    $("exclude").value = view.exclude;
    if (drawn && drawn.select === view.select && drawn.exclude === view.exclude) { draw(); return; }
    drawn = null;
    let result;
    try {
      result = selector.evaluate(view.select, view.exclude);
    } catch (error) {
      const known = error instanceof window.TmkSelector.SelectorError;
      if (!known) console.error(error);
      selectorMessage("error", known ? error.message : `the page could not evaluate this selector (${error.message}); please report it`, error.hint, error.input);
      return;
    }
    const tests = [...result.nodes].filter((i) => !inGraph[i]).length;
    show(result.nodes, { tests });
    drawn = view;
    const notices = result.notices.slice();
    if (tests && !G.visible.length) notices.push(testsOnly(view.select, tests));
    selectorMessage("notice", notices.join("; "));
  }
  // Why a selection of tests draws nothing, and what would draw the nodes they test.
  function testsOnly(text, count) {
    const example = /^[^\s,@+\d][^\s,]*$/.test(text) ? `\`1+${text}\`` : "`1+` in front of a term";
    return `the selection holds ${count} test${count === 1 ? "" : "s"} and the graph does not draw tests: ${example} draws the nodes they test`;
  }
  // The line under the boxes: an error (the box at fault marked) or notices; none when empty.
  function selectorMessage(kind, text, hint, input) {
    const box = $("selector-message");
    box.hidden = !text;
    box.dataset.kind = kind;
    box.querySelector(".text").textContent = (input === "exclude" ? "exclude: " : "") + text;
    box.querySelector(".hint").textContent = hint ? "hint: " + hint : "";
    $("selector").classList.toggle("invalid", kind === "error" && input !== "exclude");
    $("exclude").classList.toggle("invalid", kind === "error" && input === "exclude");
  }
  // The column's lineage: every upstream and downstream column, with their distance.
  function columnClosure(key) {
    const up = [], down = [];
    const walkColumns = (start, next, out) => {
      const seen = new Set([start]);
      let frontier = [start];
      for (let depth = 1; frontier.length; depth++) {
        const found = [];
        for (const k of frontier) for (const j of next.get(k) || []) if (!seen.has(j)) { seen.add(j); found.push(j); out.push([j, depth]); }
        frontier = found;
      }
    };
    walkColumns(key, upstreamOf, up);
    walkColumns(key, downstreamOf, down);
    return { up, down };
  }
  function showColumn(key) {
    const { up, down } = columnClosure(key);
    const keys = [key, ...up.map(([k]) => k), ...down.map(([k]) => k)];
    const rows = new Map();
    for (const k of keys) {
      const i = +k.split("|")[0];
      if (!rows.has(i)) rows.set(i, []);
      if (!rows.get(i).includes(k)) rows.get(i).push(k);
    }
    const inView = new Set(keys);
    const colEdges = [];
    for (const k of inView) for (const u of upstreamOf.get(k) || []) if (inView.has(u)) colEdges.push([u, k]);
    drawn = null;
    selectorMessage("notice", "");
    show(rows.keys(), { rows, column: key, colEdges });
    return { up, down };
  }

  // ---- Node pages --------------------------------------------------------------------------
  const KEYWORDS = /\b(select|from|where|and|or|not|as|on|join|left|right|inner|outer|full|cross|group|by|order|having|limit|with|union|all|distinct|case|when|then|else|end|in|is|null|over|partition|coalesce|sum|count|min|max|avg|cast|using|insert|into|create|table|view|lateral|exists|between|like|ilike|true|false|asc|desc|row_number|rank|interval|filter)\b/gi;
  function highlight(sql) {
    // Tokenise once: Jinja, comments and strings first, keywords in what is left.
    const parts = String(sql || "").split(/({{[\s\S]*?}}|{%[\s\S]*?%}|{#[\s\S]*?#}|--[^\n]*|\/\*[\s\S]*?\*\/|'(?:[^']|'')*')/);
    return parts.map((part, k) => {
      if (k % 2 === 0) return esc(part).replace(KEYWORDS, '<span class="k">$1</span>');
      if (part.startsWith("{")) return `<span class="j">${esc(part)}</span>`;
      if (part.startsWith("'")) return `<span class="s">${esc(part)}</span>`;
      return `<span class="c">${esc(part)}</span>`;
    }).join("");
  }
  function badge(text, cls) { return `<span class="badge ${esc(cls || text)}">${esc(text)}</span>`; }
  function nodeLink(i) { return `<a href="${href(NODES[i].id)}">${esc(NODES[i].n)}</a>`; }
  function seconds(value) { return value == null ? "" : value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(2)} s`; }

  function overviewPage() {
    const counts = {};
    const statuses = {};
    for (const node of NODES) {
      counts[node.t] = (counts[node.t] || 0) + 1;
      if (node.st) statuses[node.st] = (statuses[node.st] || 0) + 1;
    }
    const cards = TYPES.filter((t) => counts[t]).map((t) => `<div class="card"><b>${counts[t]}</b><span>${t}s</span></div>`).join("");
    const run = Object.keys(statuses).length
      ? `<h2>Last run</h2><div class="cards">${Object.entries(statuses).map(([s, n]) => `<div class="card"><b>${n}</b>${badge(s)}</div>`).join("")}</div>`
      : "";
    $("detail").innerHTML = `<h1>${esc(DATA.project || "Project")}</h1>
      <div class="meta"><span>generated ${esc((DATA.generated_at || "").replace("T", " ").slice(0, 19))} UTC</span></div>
      <h2>Contents</h2><div class="cards">${cards}</div>${run}
      <h2>Overview</h2><div class="description">${DATA.overview || '<p class="none">No <code>__overview__</code> docs block. Pick a node on the left, search with <kbd>/</kbd>, or filter the graph with a selector such as <code>+orders+</code>.</p>'}</div>`;
  }

  function nodePage(i, col) {
    const node = NODES[i];
    const status = node.st ? badge(node.st) + (node.dt != null ? ` <span class="badge">${seconds(node.dt)}</span>` : "") : "";
    const tags = (node.tags || []).map((t) => `<span class="tag">${esc(t)}</span>`).join(" ");
    const meta = [
      node.rel ? `<span>relation <code>${esc(node.rel)}</code></span>` : "",
      node.f ? `<span>file <code>${esc(node.f)}</code></span>` : "",
      node.pkg ? `<span>package <code>${esc(node.pkg)}</code></span>` : "",
    ].join("");
    let html = `<h1>${esc(node.n)} ${badge(node.t)} ${node.m && node.m !== node.t ? badge(node.m, "") : ""} ${status} ${tags}</h1>
      <div class="meta">${meta}</div>`;
    if (node.msg && /error|fail|warn/.test(node.st || "")) html += `<p class="message">${esc(node.msg)}</p>`;
    if (node.on !== undefined) html += `<h2>Tests</h2><p>${nodeLink(node.on)}</p>`;
    html += `<h2>Description</h2><div class="description">${node.d || '<p class="none">No description.</p>'}</div>`;
    if (node.t !== "test") {
      html += `<h2>Columns</h2><div id="column-lineage-slot"></div>`;
      html += node.cols.length
        ? `<table class="columns"><thead><tr><th>Column</th><th>Type</th><th>Description</th><th>Tests</th></tr></thead><tbody>${node.cols.map((c) => `<tr data-col="${esc(c.n)}">
            <td><button type="button" class="column" data-col="${esc(c.n)}" title="Show where this column comes from and goes">${esc(c.n)}</button>${upstreamOf.has(colKey(i, c.n)) || downstreamOf.has(colKey(i, c.n)) ? '<span class="lineage-hint">⇄</span>' : ""}</td>
            <td class="type">${esc(c.ty || "")}</td><td><div class="description">${c.d || ""}</div></td>
            <td>${(c.tests || []).map((t) => `<span class="chip">${esc(t)}</span>`).join("")}</td></tr>`).join("")}</tbody></table>`
        : '<p class="none">No columns known: declare them in YAML, or run <code>tmk docs generate</code> with the database reachable.</p>';
      if (node.tests.length) {
        html += `<h2>Data tests</h2><ul class="tests">${node.tests.map((t) => `<li>${NODES[t].st ? badge(NODES[t].st) : '<span class="badge">not run</span>'} ${nodeLink(t)}</li>`).join("")}</ul>`;
      }
      const ups = parents[i], downs = children[i];
      html += `<h2>Depends on</h2>${ups.length ? `<div class="node-list">${ups.map(nodeLink).join("")}</div>` : '<p class="none">Nothing.</p>'}`;
      html += `<h2>Referenced by</h2>${downs.length ? `<div class="node-list">${downs.map(nodeLink).join("")}</div>` : '<p class="none">Nothing.</p>'}`;
    }
    const hasSql = node.sql || node.raw;
    if (hasSql) {
      html += `<h2>Code</h2><div class="tabs">${node.sql ? '<button type="button" data-tab="sql" class="on">Compiled</button>' : ""}<button type="button" data-tab="raw" class="${node.sql ? "" : "on"}">Source</button></div><pre class="sql" id="code">${highlight(node.sql || node.raw)}</pre>`;
    }
    const detail = $("detail");
    detail.innerHTML = html;
    detail.scrollTop = 0;
    for (const button of detail.querySelectorAll(".tabs button")) {
      button.addEventListener("click", () => {
        for (const other of detail.querySelectorAll(".tabs button")) other.classList.toggle("on", other === button);
        $("code").innerHTML = highlight(button.dataset.tab === "sql" ? node.sql : node.raw);
      });
    }
    for (const button of detail.querySelectorAll("button.column")) {
      button.addEventListener("click", () => { location.hash = href(node.id, button.dataset.col); });
    }
    if (col) columnPanel(i, col);
  }

  function columnPanel(i, col) {
    const key = colKey(i, col);
    for (const row of document.querySelectorAll("table.columns tr.selected")) row.classList.remove("selected");
    const row = document.querySelector(`table.columns tr[data-col="${CSS.escape(col)}"]`);
    if (row) row.classList.add("selected");
    const { up, down } = showColumn(key);
    const list = (entries, side) => entries.length
      ? `<ol class="${side}">${entries.map(([k, depth]) => {
        const n = +k.split("|")[0];
        const name = columnName(k);
        return `<li data-col="${esc(NODES[n].id + "." + name)}"><span class="depth">${side === "upstream" ? "←" : "→"}${depth}</span><a href="${href(NODES[n].id, name)}">${esc(NODES[n].n)}.<b>${esc(name)}</b></a> ${transformChip(columnOf(k))}</li>`;
      }).join("")}</ol>`
      : `<p class="none">${side === "upstream" ? (hasLineage ? "No upstream columns known (a source, a literal, or SQL tmk could not read)." : "Column lineage was not computed.") : "Nothing downstream reads it."}</p>`;
    const slot = $("column-lineage-slot");
    if (!slot) return;
    slot.innerHTML = `<div id="column-lineage"><button type="button" class="close" title="Close">✕</button>
      <h3>Lineage of <code>${esc(NODES[i].n)}.${esc(columnName(key))}</code> ${transformChip(columnOf(key))}</h3>
      ${columnOf(key) && columnOf(key).unresolved ? '<p class="none">Some of what it reads could not be traced to a column (shown: what could).</p>' : ""}
      <div class="sides"><div><h4>Upstream (${up.length})</h4>${list(up, "upstream")}</div><div><h4>Downstream (${down.length})</h4>${list(down, "downstream")}</div></div></div>`;
    slot.querySelector(".close").addEventListener("click", () => { location.hash = href(NODES[i].id); });
  }

  // ---- Navigation --------------------------------------------------------------------------
  // Open a node's page; with `view`, the graph keeps that selection.
  function openNode(id, view) {
    const next = href(id, null, view);
    if (location.hash === next) render(); else location.hash = next;
  }
  function render() {
    const { node: id, col, select, exclude } = route();
    $("graph-tip").hidden = true;
    const i = id == null ? -1 : byId.has(id) ? byId.get(id) : -1;
    markSidebar(i >= 0 ? id : null);
    if (i < 0) {
      G.selected = -1;
      overviewPage();
      showView({ select: select ?? "", exclude: exclude ?? "" });
      return;
    }
    const node = NODES[i];
    // The graph shows the node itself: a test is drawn through the node it tests.
    const focus = node.on !== undefined ? node.on : i;
    G.selected = focus;
    nodePage(i, col);
    if (!col) showView({ select: select ?? "+" + nodeTerm(focus) + "+", exclude: exclude ?? "" });
  }

  header();
  sidebar();
  wireSearch();
  wireGraph();
  window.addEventListener("hashchange", render);
  resize();
  render();
  // `#q=text` opens with the search answered (links from elsewhere, and the speed benchmark).
  const query = route().q;
  if (query) { $("search").value = query; showSearch(); }
  // The first frame is drawn now rather than on the next animation frame, so "ready" means
  // the graph is on screen; readyMs is the time since navigation started.
  paint();
  // For tests and other tools: where a node is drawn, and what a selection selects (tests too).
  function selectIds(select, exclude) {
    try {
      return { ids: [...selector.evaluate(select, exclude).nodes].map((i) => NODES[i].id).sort() };
    } catch (error) {
      return { error: error.message, hint: error.hint, column: error.column, input: error.input };
    }
  }
  window.tmkDocs = { screenPosition, select: selectIds };
  document.body.dataset.readyMs = performance.now().toFixed(0);
  document.body.dataset.ready = "true";
})();
