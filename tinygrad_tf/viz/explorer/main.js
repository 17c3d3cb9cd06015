// Stepping through backward, the controls and keys, and window.explorer.

// ---- stepping -------------------------------------------------------------------------------
function go(n) {
  state.step = Math.max(FIRST, Math.min(DATA.steps.length - 1, n));
  openAroundCurrent();
  markNodes();
  markEdges();
  stepInfo();
  const here = current();
  if (here !== null && foldedBox(here) !== null) select(here); // its box shows nothing of it: the panel does
  else if (state.selected !== null && NODES.has(state.selected)) showNode(state.selected);
  scrollToCurrent();
  return current();
}

function play() {
  if (state.timer) return pause();
  if (state.step >= DATA.steps.length - 1) go(FIRST);
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

// ---- wiring ----------------------------------------------------------------------------------------
function wire() {
  const on = (id, fn) => document.getElementById(id).addEventListener("click", fn);
  on("btn-next", () => { pause(); go(state.step + 1); });
  on("btn-prev", () => { pause(); go(state.step - 1); });
  on("btn-reset", () => { pause(); go(-1); });
  on("btn-forward", () => { pause(); go(FIRST); });
  on("btn-play", play);
  on("btn-zoom-in", () => zoom(state.zoom * 1.25));
  on("btn-zoom-out", () => zoom(state.zoom / 1.25));
  on("btn-zoom-fit", fitWidth);
  const slider = document.getElementById("step-slider");
  slider.max = String(DATA.steps.length - 1);
  slider.min = String(FIRST);
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
lossStatement();
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
  forwardStart: () => go(FIRST),
  current,
  index: () => state.step,
  play,
  pause,
  select,
  toggleCluster,
  zoom,
  readyMs: performance.now(), // when the page was ready to use, from the start of navigation
};
