"""Pictures of the backward pass in progress: one `viz.graph` picture per step.

Used by `tinygrad-tf step --frames/--gif` and by `g` in `step --interactive`.
Each frame is `graph.to_dot` of the
whole graph with the node backward is at highlighted, the nodes it has been
through coloured (`highlight`, `visited`), and the gradients sent so far on
red reversed edges labelled with their norms (`show_backward` given the steps
taken). Successive frames differ only in those marks and edges, so they play
as an animation.

    frames = BackwardFrames(loss)
    for step in trace.backward_steps(loss):
        frames.visit(step)
        paths.append(frames.write_png(f"step-{step.index:03d}.png"))
    assemble_gif(paths, "backward.gif")
"""
from . import graph
from .graph import DOT_MISSING, dot_available  # noqa: F401  (for callers that check before drawing frames)

PILLOW_MISSING = "--gif needs Pillow: pip install Pillow (or the extra: pip install -e .[plot])"


class BackwardFrames:
    """The graph of `root` as backward walks it (see the module docstring)."""

    def __init__(self, root, title=None):
        self.root, self.title = root, title
        self.steps = []  # the `trace.BackwardStep`s so far; the last is the current one

    def visit(self, step):
        """Record a `trace.BackwardStep` (its node becomes the current one)."""
        self.steps.append(step)

    def to_dot(self):
        """The current frame as a `graphviz.Digraph`."""
        lines = [self.title] if self.title else []
        if self.steps:
            s = self.steps[-1]
            where = f" in {s.module}" if s.module else ""
            lines.append(f"step {s.index}: {s.label}{where}   |grad| {s.grad_output_summary.norm:.3g}")
        return graph.to_dot(self.root, show_backward=self.steps, show_values=False, title="\n".join(lines),
                            highlight=[s.tensor for s in self.steps[-1:]],
                            visited=[s.tensor for s in self.steps[:-1]])

    def write(self, path):
        """Render the current frame to `path`, in the format its extension names (svg, png, pdf)."""
        fmt = path.rsplit(".", 1)[-1].lower()
        return graph.write(self.to_dot(), path, fmt if fmt in graph.FORMATS else "svg", source=False)

    def write_png(self, path):
        """Render the current frame to a PNG file at `path` (needs Graphviz's `dot`)."""
        return graph.write(self.to_dot(), path, "png", source=False)


def assemble_gif(paths, out, duration_ms=700, last_ms=3000):
    """Join PNG frames into an animated GIF (needs Pillow); frames of other sizes are padded.

    Each frame shows for `duration_ms`, the last (every gradient in place) for
    `last_ms` before the animation starts again.
    """
    try:
        from PIL import Image
    except ImportError:
        raise RuntimeError(PILLOW_MISSING) from None
    if not paths:
        raise RuntimeError("no frames to assemble into a GIF")
    _FAST_OCTREE = getattr(getattr(Image, "Quantize", Image), "FASTOCTREE", 2)
    images = [Image.open(p).convert("RGB") for p in paths]
    width, height = max(i.width for i in images), max(i.height for i in images)
    frames = []
    for image in images:
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(image, (0, 0))
        # a fast palette of its own per frame (Pillow's default quantizer is slow on big frames)
        frames.append(canvas.quantize(colors=64, method=_FAST_OCTREE, dither=0))
    durations = [duration_ms] * (len(frames) - 1) + [max(duration_ms, last_ms)]
    frames[0].save(out, save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return out
