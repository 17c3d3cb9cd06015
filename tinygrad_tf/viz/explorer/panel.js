// The step bar and the side panel: a node's facts, value, gradient and step; a box's members;
// the decoding view and the help.

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
  document.getElementById("step-count").textContent = state.step < -1 ?
    `forward ${computed()} / ${FORWARD.length}` : `step ${state.step + 1} / ${total}`;
  document.getElementById("step-slider").value = String(state.step);
  if (state.step < -1) return forwardInfo(box);
  if (state.step < 0) {
    box.append(`Forward pass done: loss L = ${fmt(DATA.loss.value)} (${DATA.loss.op || "output"}, stated above). ` +
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

function forwardInfo(box) {
  const here = current();
  if (here === null) {
    box.append("Before the forward pass: only the inputs, parameters and constants exist. Press → to compute " +
      "the ops one by one (each lights up green with its value), then on to the backward pass.");
    return;
  }
  const n = NODES.get(here);
  box.append(el("span", { class: "where" }, `forward: ${nodeName(n)}${n.module ? " in " + n.module : ""}`),
    ` computes ${shapeText(n.shape)} from `, ...inputsOf(here).flatMap((e, k) => [k ? ", " : "", nodeLink(e.source)]));
  box.append(el("br"), n.value !== null && n.shape.length === 0 ? `value ${fmt(n.value)}` :
    `value: ${summaryText(n.summary)}`);
}

// ---- what the page walks from, and what to know first ----------------------------------------
function lossStatement() {
  const L = DATA.loss;
  const box = document.getElementById("loss-statement");
  box.replaceChildren(el("b", {}, "loss: "), L.words || `the output of ${L.op || "the graph"}`,
    L.formula ? el("div", { class: "formula" }, L.formula) : null,
    el("div", {}, `value after the forward pass: ${fmt(L.value)}`));
  const warnings = document.getElementById("warnings");
  warnings.replaceChildren(...(DATA.warnings || []).map((w) => el("div", { class: "warning" }, "warning: " + w)));
}

function lossView(n) {
  if (n.id !== DATA.loss.node) return [];
  return [el("h3", {}, "this is the loss"), el("div", {}, DATA.loss.words || ""),
    DATA.loss.formula ? el("div", { class: "formula" }, DATA.loss.formula) : null,
    el("div", { class: "muted" }, "backward starts here with gradient 1: dL/dL = 1.")];
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
  panel.replaceChildren(...[ // views list null for a part they leave out; replaceChildren would print it as "null"
    el("h2", {}, n.title, " ", n.role ? el("span", { class: "role" }, n.role) : null), ...foldedNote(id),
    ...lossView(n),
    ...conceptView(n),
    facts([["kind", n.kind], ["op", n.op], ["role", n.role], ["module", n.module || "(outside every module)"],
      ["name", n.name], ["shape", `${shapeText(n.shape)} ${n.dtype}`], ["backward", stepLink], ["id", n.id]]),
    el("h3", {}, "forward value"), ...(isComputed(id) ? tensorView(n.value, n.summary, n.shape, n.axes) :
      [el("div", { class: "muted" }, `not computed yet: the forward pass reaches it at forward step ` +
        `${forwardAt.get(id) + 1}`)]),
    el("h3", {}, "gradient (of the loss with respect to this tensor)"), ...gradientView(n, step, reached),
    ...ruleView(n), ...stepView(n, step, reached), ...inputsView(n)].filter((part) => part !== null));
}

function conceptView(n) {
  // The tour's picture of the concept this node plays (Q, K, V, the scores, the mask, ...).
  const c = n.concept;
  if (!c) return [];
  const picture = c.href ? el("a", { href: c.href, target: "_blank", title: "open at full size" },
    el("img", { class: "concept", src: c.href, alt: c.title })) :
    el("div", { class: "muted" }, `(tinygrad-tf tour --out DIR, then explore --tour DIR, shows ${c.file} here)`);
  return [el("details", { class: "concept", open: "" }, el("summary", {}, `In the tour: ${c.title}`),
    el("div", { class: "explain" }, c.caption), picture)];
}

function gradientView(n, step, reached) {
  if (step === null) return [el("div", { class: "muted" }, "none: no gradient flows to this tensor")];
  if (!reached) return [el("div", { class: "muted" }, `not yet: backward reaches it at step ${step + 1}`)];
  return [el("div", { class: "explain" }, "Each cell is ∂L/∂(that value): raising the value by a small ε changes " +
    "the loss L by about (the cell's number)·ε. Hover a cell for both numbers."),
    ...gradientNotes(n).map((t) => el("div", { class: "explain note" }, t)),
    ...tensorView(n.grad, n.grad_summary, n.shape, n.axes, n.value)];
}

const TINY = 1e-6; // a gradient norm below this is float32 rounding around a true 0

function gradientNotes(n) {
  // Why some gradients are exactly 0 or tiny, said where the learner meets them.
  const notes = [];
  const s = n.grad_summary;
  if (n.value !== null && n.grad !== null) {
    const values = flatten(n.value, []).map(num), grads = flatten(n.grad, []).map(num);
    const zeroWeights = values.filter((v, k) => v === 0 && grads[k] !== 0).length;
    if (n.role === "attention weights" && zeroWeights) notes.push(`${zeroWeights} weights are exactly 0 (masked ` +
      "positions). They still get a gradient here, but softmax sends nothing back through them: its backward " +
      "multiplies by the weight, which is 0, so the scores behind them get exactly 0.");
    const masked = values.filter((v, k) => v === -Infinity && grads[k] === 0).length;
    if (masked) notes.push(`The ${masked} −∞ entries (masked) get a gradient of exactly 0: after the softmax ` +
      "their weight is 0 whatever their score, so the loss does not depend on them.");
  }
  if (s && s.norm === 0) notes.push("This gradient is exactly 0 everywhere: no path from here changes the loss.");
  else if (s && s.norm < TINY) {
    notes.push(`This gradient is tiny (norm ${fmt(s.norm)}): rounding noise around a true 0.`);
    if (n.name && n.name.endsWith("k_proj.bias")) notes.push("K's bias adds the same number q·b to every score " +
      "in a query's row, and softmax ignores a constant added to a whole row, so the loss cannot depend on it.");
  }
  return notes;
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

function foldedNote(id) {
  const box = foldedBox(id);
  if (box === null) return [];
  return [el("div", { class: "explain note" }, `Drawn inside the box ${DRAWN[box].module}: this page draws ` +
    `modules deeper than ${DATA.collapse} levels as one box, so this op has no mark of its own. ` +
    "explore --collapse 9 draws every op.")];
}

function showBox(elementId) {
  const info = DRAWN[elementId];
  const panel = document.getElementById("node-panel");
  panel.replaceChildren(el("h2", {}, info.module, " ", el("span", { class: "role" }, "module (collapsed)")),
    el("div", { class: "muted" }, `${info.nodes.length} nodes drawn as one box (this page was made with --collapse ${DATA.collapse}; ` +
      "explore --collapse 9 draws each of them). Click one for its values:"),
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
    key("#a5d6a7"), "computed now (forward pass)", key("#ffa726"), "where backward is now",
    key("#b9dcf0"), "already visited", el("br"),
    "◀◀ forward walks the forward pass first, op by op (ops not computed yet are faint); then backward. ",
    "red dashed arrows: gradients sent back so far, labelled with their norm. ",
    "Keys: → next, ← previous, space play/pause, Home reset. Click a node for its values, ",
    "a module's background to fold it (click the folded box to open it again; stepping into a folded module ",
    "opens it until the step leaves). A purple box is a module the page itself draws as one: click it for its ops."));
  if (!state.selected) document.getElementById("node-panel").append(el("div", { class: "muted" },
    "Click a node of the graph to see its op, role, shape, forward value and gradient."));
}
