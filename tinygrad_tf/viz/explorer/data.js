// The page's data and state, and small helpers every other file uses.
//
// The explorer's script files are joined in order into one script, inside one function (SCRIPTS in
// __init__.py), so they share these names. Data: <script type="application/json" id="tinygrad-tf-graph">.
// Step -1 is "forward done, backward not started"; step k (0-based) is the k-th node backward visits,
// in the engine's order. window.explorer (main.js) drives the page from a test or the console.
const DATA = JSON.parse(document.getElementById("tinygrad-tf-graph").textContent);
const GRAPH = document.getElementById("graph");
const SVG = GRAPH.querySelector("svg");
const NODES = new Map(DATA.nodes.map((n) => [n.id, n]));
const DRAWN = DATA.drawing.nodes; // element id -> {nodes, kind, cluster, module}
const EDGES = DATA.drawing.edges; // element id -> {source, target, uses, backward, sent_at}
const MAX_SLICES = 8; // heatmaps shown per tensor (its leading indices), the rest summarised
const PLAY_MS = 650;
const state = { step: -1, selected: null, timer: null, zoom: 1, collapsed: new Set(),
  opened: new Set() }; // opened: folded modules opened because the current step is inside
// The forward pass comes first on the same timeline: steps -F-1 .. -2 compute the ops one by one (F of them),
// step -1 is "forward done, backward not started", steps 0 .. B-1 are backward's.
const FORWARD = DATA.forward || [];
const FIRST = -FORWARD.length - 1;
const forwardAt = new Map(FORWARD.map((id, k) => [id, k])); // op node id -> its forward step (0-based)

function computed() {
  // how many ops the forward pass has computed at the current step
  return state.step >= -1 ? FORWARD.length : state.step - FIRST;
}

function isComputed(nodeId) {
  return !forwardAt.has(nodeId) || forwardAt.get(nodeId) < computed();
}

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
