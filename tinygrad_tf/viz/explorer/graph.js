// The drawn graph: marks for the current step, clusters collapsed in place, zoom.

// ---- the drawn graph: marks for the current step ------------------------------------------
function stepOf(nodeId) {
  const n = NODES.get(nodeId);
  return n && n.step !== null && n.step !== undefined ? n.step : null;
}

function current() {
  if (state.step >= 0) return DATA.steps[state.step].node;
  if (state.step < -1 && computed() > 0) return FORWARD[computed() - 1];
  return null;
}

function markOf(nodeIds) {
  const here = current();
  if (state.step < -1) { // the forward pass: the op computed now, and the ones not computed yet
    if (here !== null && nodeIds.includes(here)) return "computing";
    return nodeIds.every((id) => !isComputed(id)) ? "unborn" : null;
  }
  if (here !== null && nodeIds.includes(here)) return "current";
  if (nodeIds.some((id) => stepOf(id) !== null && stepOf(id) < state.step)) return "visited";
  return null;
}

function setMark(g, mark) {
  ["current", "visited", "computing", "unborn"].forEach((m) => g.classList.toggle(m, mark === m));
}

function markNodes() {
  nodeElements.forEach((g, id) => setMark(g, markOf(DRAWN[id].nodes)));
  SVG.querySelectorAll("g.collapsed-box").forEach((g) => setMark(g, markOf(g.dataset.nodeIds.split(" "))));
}

function markEdges() {
  edgeElements.forEach((g, id) => {
    const e = EDGES[id];
    const target = DRAWN[e.target];
    g.classList.toggle("unborn", !e.backward && target !== undefined && target.nodes.every((n) => !isComputed(n)));
    if (!e.backward) return;
    g.classList.toggle("pending", e.sent_at === null || e.sent_at > state.step);
    g.classList.toggle("fresh", e.sent_at === state.step);
  });
}

const READABLE_TEXT_PX = 12; // when backward reaches a node, zoom in until one line of its text is this tall on screen

function scrollToCurrent() {
  const id = current();
  if (id === null) return;
  let g = nodeElements.get(DATA.drawn_as[id]);
  if (!g || g.classList.contains("hidden")) g = SVG.querySelector("g.collapsed-box.current .label");
  if (!g) return;
  const line = g.querySelector("text") || g.parentNode.querySelector("text");
  // measured again after each zoom: the browser's smallest font size makes tiny text measure taller than it scales
  for (let tries = 0; line && tries < 4; tries++) {
    const height = line.getBoundingClientRect().height;
    if (!(height > 0 && height < READABLE_TEXT_PX) || state.zoom >= MAX_ZOOM) break;
    zoom(state.zoom * Math.max(1.05, READABLE_TEXT_PX / height));
  }
  g.scrollIntoView({ block: "center", inline: "center" });
}

// ---- stepping into a folded module opens it, leaving folds it back -----------------------------
function clusterOf(nodeId) {
  const drawn = DRAWN[DATA.drawn_as[nodeId]];
  return drawn ? drawn.cluster : null;
}

function openAroundCurrent() {
  // A module the learner folded opens while the current op is inside it, and folds back once the step leaves.
  const here = current();
  const cluster = here === null ? null : clusterOf(here);
  const refold = [...state.opened].filter((p) => !inside(cluster, p));
  const open = [...state.collapsed].filter((p) => inside(cluster, p));
  if (!refold.length && !open.length) return;
  refold.forEach((p) => { state.opened.delete(p); state.collapsed.add(p); });
  open.forEach((p) => { state.collapsed.delete(p); state.opened.add(p); });
  applyCollapse();
}

function foldedBox(nodeId) {
  // The element id of the module box (drawn folded by --collapse) holding this op, or null.
  const box = DATA.drawn_as[nodeId];
  return box !== undefined && box !== nodeId && DRAWN[box] && DRAWN[box].nodes.length > 1 ? box : null;
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
  // The folded module: its area stays (faint, so the layout does not jump) and a box sized to its label
  // sits in the middle of it.
  const cluster = clusterElements.get(path);
  const area = cluster.getBBox();
  const ns = "http://www.w3.org/2000/svg";
  const g = document.createElementNS(ns, "g");
  g.setAttribute("class", "collapsed-box");
  g.dataset.nodeIds = members.join(" ");
  g.dataset.cluster = path;
  const rect = (cls, box) => {
    const r = document.createElementNS(ns, "rect");
    r.setAttribute("class", cls);
    Object.entries({ x: box.x, y: box.y, width: box.width, height: box.height, rx: 6 }).forEach(([k, v]) => r.setAttribute(k, v));
    return r;
  };
  const title = document.createElementNS(ns, "title");
  title.textContent = `${path} collapsed: click to expand`;
  const label = rect("label", area);
  g.append(title, rect("fold-area", area), label);
  const lines = [path, `${members.length} nodes`, "click to expand"].map((line, k) => {
    const text = document.createElementNS(ns, "text");
    text.setAttribute("x", area.x + area.width / 2);
    text.setAttribute("y", area.y + area.height / 2 + 16 * (k - 1) + 5);
    text.setAttribute("text-anchor", "middle");
    text.textContent = line;
    return text;
  });
  g.append(...lines);
  g.addEventListener("click", () => toggleCluster(path));
  cluster.parentNode.append(g);
  const width = Math.max(...lines.map((t) => t.getComputedTextLength())) + 20;
  Object.entries({ x: area.x + (area.width - width) / 2, y: area.y + area.height / 2 - 28, width, height: 52 })
    .forEach(([k, v]) => label.setAttribute(k, v));
}

function toggleCluster(path) {
  if (!clusterElements.has(path)) throw new Error(`no module cluster ${path}`);
  state.opened.delete(path);
  if (state.collapsed.has(path)) state.collapsed.delete(path);
  else state.collapsed.add(path);
  applyCollapse();
}

// ---- zoom --------------------------------------------------------------------------------------
const natural = { width: parseFloat(SVG.getAttribute("width")), height: parseFloat(SVG.getAttribute("height")) };

const MAX_ZOOM = 4;

function zoom(factor) {
  state.zoom = Math.max(0.2, Math.min(MAX_ZOOM, factor));
  SVG.setAttribute("width", `${natural.width * state.zoom}pt`);
  SVG.setAttribute("height", `${natural.height * state.zoom}pt`);
}

function fitWidth() {
  zoom(Math.min(1, (GRAPH.clientWidth - 16) / (natural.width * 4 / 3)));
}
