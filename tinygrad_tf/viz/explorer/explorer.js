// The backprop explorer's script: reads the embedded graph data and steps through backward.
//
// Data: <script type="application/json" id="tinygrad-tf-graph"> (see tinygrad_tf/viz/explorer).
// Step -1 is "forward done, backward not started"; step k (0-based) is the k-th node backward
// visits, in the engine's order. window.explorer drives the page from a test or the console.
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("tinygrad-tf-graph").textContent);
  const GRAPH = document.getElementById("graph");
  const SVG = GRAPH.querySelector("svg");
  const NODES = new Map(DATA.nodes.map((n) => [n.id, n]));
  const DRAWN = DATA.drawing.nodes; // element id -> {nodes, kind, cluster, module}
  const EDGES = DATA.drawing.edges; // element id -> {source, target, uses, backward, sent_at}
  const MAX_SLICES = 8; // heatmaps shown per tensor (its leading indices), the rest summarised
  const PLAY_MS = 650;
  const state = { step: -1, selected: null, timer: null, zoom: 1, collapsed: new Set() };

  const nodeElements = new Map(
    [...SVG.querySelectorAll("g.node[data-node-id]")].map((g) => [g.dataset.nodeId, g]));
  const edgeElements = new Map([...SVG.querySelectorAll("g.edge[data-edge]")].map((g) => [g.dataset.edge, g]));
  const clusterElements = new Map(
    [...SVG.querySelectorAll("g.cluster[data-cluster]")].map((g) => [g.dataset.cluster, g]));

  // ---- numbers -------------------------------------------------------------------------
  function num(v) {
    if (typeof v === "number") return v;
    if (typeof v === "boolean") return v ? 1 : 0;
    if (v === "inf") return Infinity;
    if (v === "-inf") return -Infinity;
    return NaN;
  }

  function fmt(v) {
    if (typeof v === "boolean") return v ? "True" : "False";
    const x = num(v);
    if (!Number.isFinite(x)) return Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
    if (x === 0) return "0";
    const a = Math.abs(x);
    return a >= 1e4 || a < 1e-3 ? x.toExponential(2) : x.toPrecision(4).replace(/\.?0+$/, "");
  }

  function shapeText(shape) {
    return shape.length === 0 ? "scalar" : "(" + shape.join(", ") + (shape.length === 1 ? ",)" : ")");
  }

  function summaryText(s) {
    return s ? `norm ${fmt(s.norm)}, min ${fmt(s.min)}, max ${fmt(s.max)}, mean ${fmt(s.mean)}` : "";
  }

  function flatten(values, out) {
    if (Array.isArray(values)) values.forEach((v) => flatten(v, out));
    else out.push(values);
    return out;
  }

  // ---- small DOM helpers ------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    });
    children.flat().forEach((c) => { if (c !== null && c !== undefined) e.append(c); });
    return e;
  }

  function nodeLink(id) {
    const n = NODES.get(id);
    return el("a", { class: "node-link", onclick: () => select(id) }, nodeName(n));
  }

  function nodeName(n) {
    return n.role ? `${n.title} [${n.role}]` : n.title;
  }

  // ---- the drawn graph: marks for the current step ------------------------------------------
  function stepOf(nodeId) {
    const n = NODES.get(nodeId);
    return n && n.step !== null && n.step !== undefined ? n.step : null;
  }

  function current() {
    return state.step >= 0 ? DATA.steps[state.step].node : null;
  }

  function markOf(nodeIds) {
    const here = current();
    if (here !== null && nodeIds.includes(here)) return "current";
    if (nodeIds.some((id) => stepOf(id) !== null && stepOf(id) < state.step)) return "visited";
    return null;
  }

  function setMark(g, mark) {
    g.classList.toggle("current", mark === "current");
    g.classList.toggle("visited", mark === "visited");
  }

  function markNodes() {
    nodeElements.forEach((g, id) => setMark(g, markOf(DRAWN[id].nodes)));
    SVG.querySelectorAll("g.collapsed-box").forEach((g) => setMark(g, markOf(g.dataset.nodeIds.split(" "))));
  }

  function markEdges() {
    edgeElements.forEach((g, id) => {
      const e = EDGES[id];
      if (!e.backward) return;
      g.classList.toggle("pending", e.sent_at === null || e.sent_at > state.step);
      g.classList.toggle("fresh", e.sent_at === state.step);
    });
  }

  function scrollToCurrent() {
    const id = current();
    if (id === null) return;
    let g = nodeElements.get(DATA.drawn_as[id]);
    if (!g || g.classList.contains("hidden")) g = SVG.querySelector("g.collapsed-box.current");
    if (g) g.scrollIntoView({ block: "center", inline: "center" });
  }

  // ---- the step bar ---------------------------------------------------------------------
  function checkBadge(check, isLeaf) {
    if (check === "nan") return el("span", { class: "check bad" }, "finite-difference check: nan ✗");
    if (typeof check !== "number") {
      const why = isLeaf ? "a leaf's step only adds into .grad" : "nothing to check";
      return el("span", { class: "check none" }, `finite-difference check: — (${why})`);
    }
    const level = check < 1e-4 ? "good" : check < 1e-2 ? "fair" : "bad";
    return el("span", { class: `check ${level}`, title: "relative error of this step's gradients against central " +
      "differences of its op alone (float64)" }, `finite-difference check: rel. error ${check.toExponential(1)}` +
      (level === "good" ? " ✓" : level === "bad" ? " ✗" : ""));
  }

  function inputsOf(nodeId) {
    return DATA.edges.filter((e) => e.target === nodeId).sort((a, b) => a.input_index - b.input_index);
  }

  function stepInfo() {
    const box = document.getElementById("step-info");
    box.replaceChildren();
    const total = DATA.steps.length;
    document.getElementById("step-count").textContent = `step ${state.step + 1} / ${total}`;
    document.getElementById("step-slider").value = String(state.step);
    if (state.step < 0) {
      box.append(`Forward pass done: loss = ${fmt(DATA.loss.value)} (${DATA.loss.op || "output"}). ` +
        `Press → (or next) to walk backward from the loss, one node at a time; click a node for its values.`);
      return;
    }
    const s = DATA.steps[state.step];
    const n = NODES.get(s.node);
    const where = s.module ? ` in ${s.module}` : "";
    box.append(el("span", { class: "where" }, `${nodeName(n)}${where}`));
    box.append(` — gradient arriving: ${shapeText(n.shape)}, norm ${fmt(s.grad_output.norm)}`);
    if (s.paths > 1) box.append(el("span", { class: "summed" }, `summed from ${s.paths} uses`));
    const sent = s.grad_inputs.map((g, i) => g ? `${NODES.get(inputsOf(s.node).find((e) => e.input_index === i)
      ?.source)?.title ?? "input " + i}: norm ${fmt(g.norm)}` : null).filter((t) => t);
    box.append(el("br"));
    if (s.op === "accumulate_grad") box.append(`leaf: the gradient is added into ${n.name || "its"} .grad`);
    else box.append(sent.length ? `sends back to ${sent.join("; ")}` : "sends nothing back (no input needs a gradient)");
    box.append(checkBadge(s.check, s.op === "accumulate_grad"));
  }

  // ---- heatmaps -------------------------------------------------------------------------------
  function colour(v, scale, isBool) {
    if (isBool) return v ? "#2e7d32" : "#ffffff";
    const x = num(v);
    if (!Number.isFinite(x)) return "#9e9e9e";
    const t = scale > 0 ? Math.max(-1, Math.min(1, x / scale)) : 0;
    const [r, g, b] = t >= 0 ? [255, 255 - 190 * t, 255 - 205 * t] : [255 + 205 * t, 255 + 140 * t, 255];
    return `rgb(${r | 0},${g | 0},${b | 0})`;
  }

  function slices(values, shape) {
    // [{index: leading indices, rows: 2-D array}] over the last two axes
    if (shape.length === 0) return [{ index: [], rows: [[values]] }];
    if (shape.length === 1) return [{ index: [], rows: [values] }];
    if (shape.length === 2) return [{ index: [], rows: values }];
    return values.flatMap((sub, i) => slices(sub, shape.slice(1)).map((s) => ({ index: [i, ...s.index], rows: s.rows })));
  }

  function heatmaps(values, shape, axes) {
    const wrap = el("div", { class: "heatmaps" });
    const flat = flatten(values, []);
    const isBool = flat.length > 0 && typeof flat[0] === "boolean";
    const scale = flat.reduce((m, v) => (Number.isFinite(num(v)) ? Math.max(m, Math.abs(num(v))) : m), 0);
    const all = slices(values, shape);
    all.slice(0, MAX_SLICES).forEach((s) => wrap.append(heatmap(s, shape, scale, isBool, axes)));
    const scaleText = isBool ? "green = True" : `colour: blue −${fmt(scale)} … white 0 … red +${fmt(scale)}` +
      (flat.some((v) => typeof v === "string") ? "; grey: ±inf / nan" : "");
    const notes = [scaleText];
    if (all.length > MAX_SLICES) notes.push(`first ${MAX_SLICES} of ${all.length} slices shown`);
    return el("div", {}, wrap, el("div", { class: "muted" }, notes.join("; ")));
  }

  function heatmap(slice, shape, scale, isBool, axes) {
    const rows = slice.rows.length, cols = slice.rows[0].length;
    const cell = Math.max(3, Math.min(26, Math.floor(380 / Math.max(cols, 1)), Math.floor(300 / Math.max(rows, 1))));
    const ctx0 = document.createElement("canvas").getContext("2d");
    ctx0.font = "11px sans-serif";
    const left = axes ? Math.ceil(Math.max(...axes.rows.map((t) => ctx0.measureText(t).width))) + 6 : 0;
    const top = axes ? Math.ceil(Math.max(...axes.cols.map((t) => ctx0.measureText(t).width))) + 6 : 0;
    const canvas = el("canvas", { width: left + cols * cell, height: top + rows * cell });
    const ctx = canvas.getContext("2d");
    ctx.font = "11px sans-serif";
    ctx.fillStyle = "#37414d";
    if (axes) drawAxes(ctx, axes, left, top, cell);
    slice.rows.forEach((row, i) => row.forEach((v, j) => {
      ctx.fillStyle = colour(v, scale, isBool);
      ctx.fillRect(left + j * cell, top + i * cell, cell, cell);
    }));
    ctx.strokeStyle = "#c5ccd6";
    ctx.strokeRect(left + 0.5, top + 0.5, cols * cell - 1, rows * cell - 1);
    canvas.addEventListener("mousemove", (ev) => hoverCell(ev, slice, shape, axes, left, top, cell));
    canvas.addEventListener("mouseleave", hideTooltip);
    const caption = slice.index.length ? `[${slice.index.join(", ")}, :, :]` + sliceNames(shape) : "";
    return el("div", { class: "heatmap" }, caption ? el("div", { class: "caption" }, caption) : null, canvas);
  }

  function sliceNames(shape) {
    return shape.length === 4 ? " (batch, head)" : "";
  }

  function drawAxes(ctx, axes, left, top, cell) {
    ctx.textBaseline = "middle";
    ctx.textAlign = "right";
    axes.rows.forEach((t, i) => ctx.fillText(t, left - 4, top + (i + 0.5) * cell));
    ctx.save();
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "left";
    axes.cols.forEach((t, j) => ctx.fillText(t, -top + 4, left + (j + 0.5) * cell));
    ctx.restore();
  }

  function hoverCell(ev, slice, shape, axes, left, top, cell) {
    const r = ev.target.getBoundingClientRect();
    const j = Math.floor((ev.clientX - r.left - left) / cell), i = Math.floor((ev.clientY - r.top - top) / cell);
    if (i < 0 || j < 0 || i >= slice.rows.length || j >= slice.rows[0].length) return hideTooltip();
    const index = shape.length === 0 ? [] : shape.length === 1 ? [j] : [...slice.index, i, j];
    let text = `[${index.join(", ")}] = ${fmt(slice.rows[i][j])}`;
    if (axes) text += `\nquery "${axes.rows[i]}" → key "${axes.cols[j]}"`;
    const tip = document.getElementById("tooltip");
    tip.textContent = text;
    tip.style.display = "block";
    tip.style.left = ev.clientX + 12 + "px";
    tip.style.top = ev.clientY + 12 + "px";
  }

  function hideTooltip() {
    document.getElementById("tooltip").style.display = "none";
  }

  function tensorView(values, summary, shape, axes) {
    const count = shape.reduce((a, b) => a * b, 1);
    const parts = [el("div", { class: "summary" }, summaryText(summary))];
    if (values === null) {
      parts.push(el("div", { class: "muted" }, `${count} elements: more than the page's limit of ${DATA.value_limit}, ` +
        "so only the summary is embedded"));
    } else if (shape.length === 0) {
      parts.push(el("div", { class: "summary" }, `value ${fmt(values)}`));
    } else {
      parts.push(heatmaps(values, shape, axes));
    }
    return parts;
  }

  // ---- the side panel --------------------------------------------------------------------------
  function facts(rows) {
    return el("table", { class: "facts" },
      rows.filter(([, v]) => v !== null && v !== undefined && v !== "").map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, v))));
  }

  function showNode(id) {
    const n = NODES.get(id);
    const panel = document.getElementById("node-panel");
    const step = stepOf(id);
    const reached = step !== null && step <= state.step;
    const stepLink = step === null ? "never (no gradient flows here)" :
      el("a", { class: "node-link", onclick: () => go(step) }, `step ${step + 1}`);
    panel.replaceChildren(
      el("h2", {}, n.title, " ", n.role ? el("span", { class: "role" }, n.role) : null),
      facts([["kind", n.kind], ["op", n.op], ["role", n.role], ["module", n.module || "(outside every module)"],
        ["name", n.name], ["shape", `${shapeText(n.shape)} ${n.dtype}`], ["backward", stepLink], ["id", n.id]]),
      el("h3", {}, "forward value"), ...tensorView(n.value, n.summary, n.shape, n.axes),
      el("h3", {}, "gradient (of the loss with respect to this tensor)"), ...gradientView(n, step, reached),
      ...ruleView(n), ...stepView(n, step, reached), ...inputsView(n));
  }

  function gradientView(n, step, reached) {
    if (step === null) return [el("div", { class: "muted" }, "none: no gradient flows to this tensor")];
    if (!reached) return [el("div", { class: "muted" }, `not yet: backward reaches it at step ${step + 1}`)];
    return tensorView(n.grad, n.grad_summary, n.shape, n.axes);
  }

  function ruleView(n) {
    if (!n.rule) return [];
    return [el("h3", {}, "local backward rule"), el("div", { class: "rule" }, n.rule)];
  }

  function stepView(n, step, reached) {
    if (step === null || !reached) return [];
    const s = DATA.steps[step];
    const rows = [el("div", {}, `gradient summed from ${s.paths} use${s.paths === 1 ? "" : "s"}`)];
    inputsOf(n.id).forEach((e) => {
      const g = s.grad_inputs[e.input_index];
      rows.push(el("div", {}, "→ ", nodeLink(e.source), g ? `: norm ${fmt(g.norm)}` : ": no gradient"));
    });
    rows.push(checkBadge(s.check, s.op === "accumulate_grad"));
    return [el("h3", {}, `backward step ${step + 1}: sent to the inputs`), ...rows];
  }

  function inputsView(n) {
    const users = DATA.edges.filter((e) => e.source === n.id);
    const ins = inputsOf(n.id);
    if (!ins.length && !users.length) return [];
    return [el("h3", {}, "neighbours"),
      ins.length ? el("div", {}, "inputs: ", ...ins.flatMap((e, k) => [k ? ", " : "", nodeLink(e.source)])) : null,
      users.length ? el("div", {}, "used by: ", ...users.flatMap((e, k) => [k ? ", " : "", nodeLink(e.target)])) : null];
  }

  function showBox(elementId) {
    const info = DRAWN[elementId];
    const panel = document.getElementById("node-panel");
    panel.replaceChildren(el("h2", {}, info.module, " ", el("span", { class: "role" }, "module (collapsed)")),
      el("div", { class: "muted" }, `${info.nodes.length} nodes drawn as one box; click one for its values:`),
      el("ol", { class: "members" }, info.nodes.map((id) => el("li", {}, nodeLink(id),
        ` ${shapeText(NODES.get(id).shape)}`))));
  }

  function select(id) {
    state.selected = id;
    SVG.querySelectorAll("g.selected").forEach((g) => g.classList.remove("selected"));
    const g = nodeElements.get(DATA.drawn_as[id] ?? id);
    if (g) g.classList.add("selected");
    if (DRAWN[id] && DRAWN[id].nodes.length > 1 && !NODES.has(id)) showBox(id);
    else showNode(id);
  }

  // ---- collapsing clusters in place -------------------------------------------------------------
  function inside(path, outer) {
    return path !== null && path !== undefined && (path === outer || path.startsWith(outer + "."));
  }

  function applyCollapse() {
    SVG.querySelectorAll("g.collapsed-box").forEach((g) => g.remove());
    SVG.querySelectorAll("#graph .hidden").forEach((g) => g.classList.remove("hidden"));
    const outer = [...state.collapsed].filter((p) => ![...state.collapsed].some((q) => q !== p && inside(p, q)));
    const hidden = new Set();
    outer.forEach((path) => {
      const members = [];
      nodeElements.forEach((g, id) => {
        if (inside(DRAWN[id].cluster, path)) { g.classList.add("hidden"); hidden.add(id); members.push(...DRAWN[id].nodes); }
      });
      clusterElements.forEach((g, p) => { if (inside(p, path)) g.classList.add("hidden"); });
      drawBox(path, members);
    });
    edgeElements.forEach((g, id) => {
      if (hidden.has(EDGES[id].source) && hidden.has(EDGES[id].target)) g.classList.add("hidden");
    });
    markNodes();
  }

  function drawBox(path, members) {
    const cluster = clusterElements.get(path);
    const box = cluster.getBBox();
    const ns = "http://www.w3.org/2000/svg";
    const g = document.createElementNS(ns, "g");
    g.setAttribute("class", "collapsed-box");
    g.dataset.nodeIds = members.join(" ");
    g.dataset.cluster = path;
    const rect = document.createElementNS(ns, "rect");
    Object.entries({ x: box.x, y: box.y, width: box.width, height: box.height, rx: 6 }).forEach(([k, v]) => rect.setAttribute(k, v));
    const lines = [path, `${members.length} nodes`, "click to expand"].map((line, k) => {
      const text = document.createElementNS(ns, "text");
      text.setAttribute("x", box.x + box.width / 2);
      text.setAttribute("y", box.y + Math.min(box.height / 2 - 14, 24) + 15 * k);
      text.setAttribute("text-anchor", "middle");
      text.textContent = line;
      return text;
    });
    const title = document.createElementNS(ns, "title");
    title.textContent = `${path} collapsed: click to expand`;
    g.append(title, rect, ...lines);
    g.addEventListener("click", () => toggleCluster(path));
    cluster.parentNode.append(g);
  }

  function toggleCluster(path) {
    if (!clusterElements.has(path)) throw new Error(`no module cluster ${path}`);
    if (state.collapsed.has(path)) state.collapsed.delete(path);
    else state.collapsed.add(path);
    applyCollapse();
  }

  // ---- stepping -------------------------------------------------------------------------------
  function go(n) {
    state.step = Math.max(-1, Math.min(DATA.steps.length - 1, n));
    markNodes();
    markEdges();
    stepInfo();
    if (state.selected !== null && NODES.has(state.selected)) showNode(state.selected);
    scrollToCurrent();
    return current();
  }

  function play() {
    if (state.timer) return pause();
    if (state.step >= DATA.steps.length - 1) go(-1);
    document.getElementById("btn-play").classList.add("on");
    state.timer = setInterval(() => {
      if (state.step >= DATA.steps.length - 1) pause();
      else go(state.step + 1);
    }, PLAY_MS);
  }

  function pause() {
    clearInterval(state.timer);
    state.timer = null;
    document.getElementById("btn-play").classList.remove("on");
  }

  // ---- zoom --------------------------------------------------------------------------------------
  const natural = { width: parseFloat(SVG.getAttribute("width")), height: parseFloat(SVG.getAttribute("height")) };

  function zoom(factor) {
    state.zoom = Math.max(0.2, Math.min(4, factor));
    SVG.setAttribute("width", `${natural.width * state.zoom}pt`);
    SVG.setAttribute("height", `${natural.height * state.zoom}pt`);
  }

  function fitWidth() {
    zoom(Math.min(1, (GRAPH.clientWidth - 16) / (natural.width * 4 / 3)));
  }

  // ---- the decoding view and help ------------------------------------------------------------------
  function decodingView() {
    const panel = document.getElementById("decoding-panel");
    if (!DATA.decoding) return;
    const src = DATA.tokens && DATA.tokens.src ? DATA.tokens.src.join(" ") : "";
    panel.append(el("h3", {}, "greedy decoding: top probabilities at each output step"),
      el("div", { class: "muted" }, `source: ${src}`));
    DATA.decoding.forEach((s, t) => panel.append(el("div", { class: "decode-step" },
      el("div", {}, `step ${t + 1}: chose "${s.token}"`),
      s.top.map(([tok, p]) => el("div", { class: `bar-row${tok === s.token ? " chosen" : ""}` },
        el("span", { class: "tok" }, tok), el("span", { class: "bar", style: `width:${Math.max(1, p * 200)}px` }),
        el("span", { class: "p" }, p.toFixed(3)))))));
  }

  function helpView() {
    const key = (c) => el("span", { class: "key", style: `background:${c}` });
    document.getElementById("help-panel").append(el("h3", {}, "how to read it"), el("div", { class: "muted" },
      key("#ffa726"), "where backward is now", key("#b9dcf0"), "already visited", el("br"),
      "red dashed arrows: gradients sent back so far, labelled with their norm. ",
      "Keys: → next, ← previous, space play/pause, Home reset. Click a node for its values, ",
      "a module's background to collapse it (click the box to expand)."));
    if (!state.selected) document.getElementById("node-panel").append(el("div", { class: "muted" },
      "Click a node of the graph to see its op, role, shape, forward value and gradient."));
  }

  // ---- wiring ----------------------------------------------------------------------------------------
  function wire() {
    const on = (id, fn) => document.getElementById(id).addEventListener("click", fn);
    on("btn-next", () => { pause(); go(state.step + 1); });
    on("btn-prev", () => { pause(); go(state.step - 1); });
    on("btn-reset", () => { pause(); go(-1); });
    on("btn-play", play);
    on("btn-zoom-in", () => zoom(state.zoom * 1.25));
    on("btn-zoom-out", () => zoom(state.zoom / 1.25));
    on("btn-zoom-fit", fitWidth);
    const slider = document.getElementById("step-slider");
    slider.max = String(DATA.steps.length - 1);
    slider.addEventListener("input", () => { pause(); go(Number(slider.value)); });
    document.addEventListener("keydown", onKey);
    nodeElements.forEach((g, id) => g.addEventListener("click", (ev) => {
      ev.stopPropagation();
      select(DRAWN[id].nodes.length === 1 ? DRAWN[id].nodes[0] : id);
    }));
    clusterElements.forEach((g, path) => g.addEventListener("click", () => toggleCluster(path)));
  }

  function onKey(ev) {
    if (ev.target instanceof HTMLInputElement) return; // the slider moves itself (its input event steps)
    const actions = { ArrowRight: () => go(state.step + 1), ArrowLeft: () => go(state.step - 1), Home: () => go(-1),
      " ": play, "+": () => zoom(state.zoom * 1.25), "-": () => zoom(state.zoom / 1.25) };
    const action = actions[ev.key];
    if (!action) return;
    ev.preventDefault();
    if (ev.key !== " ") pause();
    action();
  }

  wire();
  decodingView();
  helpView();
  go(-1);
  fitWidth();
  GRAPH.scrollTop = 0;

  window.explorer = {
    data: DATA,
    step: go,
    next: () => go(state.step + 1),
    prev: () => go(state.step - 1),
    reset: () => go(-1),
    current,
    index: () => state.step,
    play,
    pause,
    select,
    toggleCluster,
    zoom,
    readyMs: performance.now(), // when the page was ready to use, from the start of navigation
  };
})();
