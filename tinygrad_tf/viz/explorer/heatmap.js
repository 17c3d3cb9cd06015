// Heatmaps of tensors on canvases, with the value under the pointer in a tooltip.

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

function heatmaps(values, shape, axes, forward) {
  const wrap = el("div", { class: "heatmaps" });
  const flat = flatten(values, []);
  const isBool = flat.length > 0 && typeof flat[0] === "boolean";
  const scale = flat.reduce((m, v) => (Number.isFinite(num(v)) ? Math.max(m, Math.abs(num(v))) : m), 0);
  const all = slices(values, shape);
  all.slice(0, MAX_SLICES).forEach((s) => wrap.append(heatmap(s, shape, scale, isBool, axes, forward)));
  const scaleText = isBool ? "green = True" : (scale === 0 ? "all zero (white)" :
    `colour: blue −${fmt(scale)} … white 0 … red +${fmt(scale)}`) +
    (flat.some((v) => typeof v === "string") ? "; grey: ±inf / nan" : "");
  const notes = [scaleText];
  if (all.length > MAX_SLICES) notes.push(`first ${MAX_SLICES} of ${all.length} slices shown`);
  return el("div", {}, wrap, el("div", { class: "muted" }, notes.join("; ")));
}

function heatmap(slice, shape, scale, isBool, axes, forward) {
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
  canvas.addEventListener("mousemove", (ev) => hoverCell(ev, slice, shape, axes, left, top, cell, forward));
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

function at(values, index) {
  return index.reduce((v, i) => (Array.isArray(v) ? v[i] : v), values);
}

function hoverCell(ev, slice, shape, axes, left, top, cell, forward) {
  const r = ev.target.getBoundingClientRect();
  const j = Math.floor((ev.clientX - r.left - left) / cell), i = Math.floor((ev.clientY - r.top - top) / cell);
  if (i < 0 || j < 0 || i >= slice.rows.length || j >= slice.rows[0].length) return hideTooltip();
  const index = shape.length === 0 ? [] : shape.length === 1 ? [j] : [...slice.index, i, j];
  let text = `[${index.join(", ")}] = ${fmt(slice.rows[i][j])}`;
  if (axes) text += `\nquery "${axes.rows[i]}" → key "${axes.cols[j]}"`;
  if (forward !== undefined && forward !== null) {
    const g = fmt(slice.rows[i][j]);
    text += `\nvalue ${fmt(at(forward, index))}, gradient ${g}: raising the value by ε changes the loss by about ${g}·ε`;
  }
  const tip = document.getElementById("tooltip");
  tip.textContent = text;
  tip.style.display = "block";
  tip.style.left = ev.clientX + 12 + "px";
  tip.style.top = ev.clientY + 12 + "px";
}

function hideTooltip() {
  document.getElementById("tooltip").style.display = "none";
}

function tensorView(values, summary, shape, axes, forward) {
  const count = shape.reduce((a, b) => a * b, 1);
  const parts = [el("div", { class: "summary" }, summaryText(summary))];
  if (values === null) {
    parts.push(el("div", { class: "muted" }, `${count} elements: more than the page's limit of ${DATA.value_limit}, ` +
      "so only the summary is embedded"));
  } else if (shape.length === 0) {
    parts.push(el("div", { class: "summary" }, `value ${fmt(values)}`));
  } else {
    parts.push(heatmaps(values, shape, axes, forward));
  }
  return parts;
}
