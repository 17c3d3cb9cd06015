"""`tinygrad-tf step`: walk the backward pass of a tiny model one node at a time."""
import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field

import click
import numpy as np

import ops
from autograd import Tensor, manual_seed

from .. import nn, outputs
from ..viz import frames as backward_frames
from ..viz import trace
from ..viz.specimens import make_module
from .common import GIF, Path, fail_cleanly, refuse_sizes_the_model_lacks, require_divisible

MODELS = ("attention", "mlp", "encoder-layer")
LOSSES = ("mse", "cross-entropy")
_HELP_KEYS = ("type a key, then Enter: Enter alone: next  p: print arrays  g: draw the backward so far  "
              "q: quit")
GRAPHS_DIR = "step-graphs"  # where `g` keeps its pictures without --frames (in the current directory)


@dataclass
class Setup:
    """A tiny model with its input, ready for one forward and backward."""

    description: str
    root: nn.Module
    forward: object  # () -> (list of (label, Tensor or array, note), loss Tensor)
    values: list = field(default_factory=list)


def _tensor(rng, shape, dtype, requires_grad=False, name=None):
    t = Tensor(rng.standard_normal(shape), dtype=dtype, requires_grad=requires_grad)
    t.name = name
    return t


def _loss(kind, out, rng, dtype):
    """The loss of `out` against a seeded random target: (loss, target, description)."""
    if kind == "mse":
        target = _tensor(rng, out.shape, dtype)
        return ops.mse_loss(out, target), target, "mse_loss(output, target)"
    targets = Tensor(rng.integers(0, out.shape[-1], size=out.shape[:-1]))
    return ops.cross_entropy(out, targets), targets, "cross_entropy(output as logits, target classes)"


def build(model, d_model, heads, seq_len, seed, dtype="float32", loss="mse", composed=False):
    """The model named `model` ("attention", "mlp", "encoder-layer"), seeded, with its input.

    `composed` runs Linear and LayerNorm as their primitive ops (`nn.set_fused`).

    Returns a `Setup` whose `forward()` returns the values worth printing and the loss.
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    manual_seed(seed)
    rng = np.random.default_rng(seed)
    root = make_module(model, d_model, heads, 2 * d_model, child="layer")
    if model == "attention":
        description = f"MultiHeadAttention(d_model={d_model}, heads={heads}), causal self-attention"
    elif model == "mlp":
        description = f"MLP: Linear({d_model}, {2 * d_model}) -> relu -> Linear({2 * d_model}, {d_model})"
    else:
        description = f"EncoderLayer(d_model={d_model}, heads={heads}, d_ff={2 * d_model}), post-norm"
    root.to(dtype=np.dtype(dtype)).eval()
    nn.set_fused(root, not composed)
    shape = (seq_len, d_model) if model == "mlp" else (1, seq_len, d_model)
    x = _tensor(rng, shape, dtype, requires_grad=True, name="x")

    def forward():
        values = [("x (input)", x, "")]
        if model == "attention":
            mask = ops.causal_mask(seq_len)
            out = root.self_attn(x, x, x, mask)
            values += [("mask", mask, "causal: True = may attend"),
                       ("attention weights", root.self_attn.attention_weights, "(batch, heads, q_len, k_len)")]
        elif model == "mlp":
            hidden = ops.relu(root.linear1(x))
            out = root.linear2(hidden)
            values.append(("hidden", hidden, "relu(linear1(x))"))
        else:
            out = root.layer(x)
            values.append(("attention weights", root.layer.self_attn.attention_weights, "(batch, heads, q_len, k_len)"))
        value, target, how = _loss(loss, out, rng, dtype)
        values += [("output", out, ""), ("target", target, ""), ("loss", value, how)]
        return values, value

    return Setup(f"{description}, seq_len {seq_len}, seed {seed}, {dtype}, {loss} loss", root, forward)


# ---- printing ---------------------------------------------------------------

def _array(value, full=False):
    a = value.numpy() if isinstance(value, Tensor) else np.asarray(value)
    threshold = sys.maxsize if full else 64
    return np.array2string(a, precision=4, suppress_small=True, threshold=threshold, edgeitems=2,
                           max_line_width=100)


def _indent(text, spaces=4):
    pad = " " * spaces
    return "\n".join(pad + line if line.strip() else "" for line in text.splitlines())


def _shape(shape):
    return str(tuple(shape))


def _norm(x):
    return f"{x:.3e}"


COLUMNS = (("#", 3, ">"), ("op", 24, "<"), ("role", 26, "<"), ("module", 28, "<"), ("shape", 14, "<"),
           ("|grad out|", 10, ">"))


def _header(check):
    cells = [f"{name:{align}{width}}" for name, width, align in COLUMNS]
    cells.append(f"{'|grads to inputs|':<32}")
    cells.append("accumulated")
    if check:
        cells.append("rel. error")
    return click.style("  ".join(cells), bold=True)


def _op_label(step):
    """The op; for a leaf `accumulate_grad(name)`, the name shortened by the module column."""
    if step.is_leaf and step.name:
        name = step.name
        if step.module and name.startswith(step.module + "."):
            name = name[len(step.module) + 1:]
        return f"{step.op}({name})"
    return step.op


def _row(step, error=None, check=False):
    """The step's row of the table, and under an op's row its backward rule."""
    index, op, module, shape, norm = (
        str(step.index), _op_label(step), step.module or "-", _shape(step.output_shape), _norm(step.grad_output_summary.norm))
    cells = [f"{index:>3}"]
    cells.append(click.style(f"{op:<24}", fg="green" if step.is_leaf else "cyan", bold=not step.is_leaf))
    cells.append(click.style(f"{step.role or '-':<26}", fg="magenta"))
    cells.append(click.style(f"{module:<28}", fg="blue"))
    cells.append(f"{shape:<14}")
    cells.append(f"{norm:>10}")
    sent = "-" if step.is_leaf else ", ".join("-" if s is None else f"{s.norm:.2e}" for s in step.grad_input_summaries)
    cells.append(f"{sent:<32}")
    marker = f"summed x{step.paths}" if step.accumulated else ""
    cells.append(click.style(f"{marker:<11}", fg="yellow", bold=True) if marker or check else "")
    if check:
        if error is None:
            cells.append(click.style("-", dim=True))
        else:
            colour = "green" if error < 1e-4 else "yellow" if error < 1e-2 else "red"
            cells.append(click.style(f"{error:.1e}", fg=colour))
    row = "  ".join(cells).rstrip()
    if step.rule and not step.is_leaf:
        row += "\n" + click.style(f"      backward: {step.rule}", dim=True)
    return row


def _print_arrays(step):
    click.echo(click.style(f"  step {step.index}: {step.label}" + (f" in {step.module}" if step.module else ""), bold=True))
    click.echo(f"  value {_shape(step.output_shape)}:\n{_indent(_array(step.tensor, full=True))}")
    click.echo(f"  grad_output ({step.grad_output_summary}):\n{_indent(_array(step.grad_output, full=True))}")
    for i, (g, s) in enumerate(zip(step.grad_inputs, step.grad_input_summaries)):
        shape = step.input_shapes[i]
        if g is None:
            click.echo(f"  grad to input {i}{'' if shape is None else ' ' + _shape(shape)}: none")
        else:
            click.echo(f"  grad to input {i} {_shape(g.shape)} ({s}):\n{_indent(_array(g, full=True))}")


def _render_graph(picture, directory, index):
    """`g`: draw the backward pass so far (current node, visited nodes, gradients sent) and say where."""
    if not backward_frames.dot_available():
        click.echo(f"  g: {backward_frames.DOT_MISSING}")
        return
    path = os.path.abspath(os.path.join(directory(), f"backward-step-{index:03d}.svg"))
    try:
        with outputs.writing(path) as tmp:
            picture.write(tmp)
    except (RuntimeError, ImportError, OSError) as e:  # the renderer's own errors (e.g. dot missing) as one line
        click.echo(f"  g: could not draw the graph: {e}")
        return
    click.echo(f"  g: the backward pass so far is drawn in {path} (it stays there after you quit)")


def _check_sample(step):
    """Elements of each input to check by central differences: all up to 1,000, fewer where the op is large.

    Each element costs two runs of the op, so the sample shrinks as the op's
    arrays grow: about 2 * 10^7 array elements touched per step, so that
    --check at the largest sizes takes seconds per step, not minutes.
    """
    work = math.prod(step.output_shape) + sum(math.prod(s) for s in step.input_shapes if s is not None)
    return max(10, min(1000, 2 * 10**7 // max(work, 1)))


# ---- the command --------------------------------------------------------------

@click.command()
@click.argument("model", type=click.Choice(MODELS))
@click.option("--d-model", type=click.IntRange(1, 512), default=8, show_default=True, help="Model width.")
@click.option("--heads", type=click.IntRange(1, 64), default=2, show_default=True, help="Attention heads (must divide --d-model).")
@click.option("--seq-len", type=click.IntRange(1, 256), default=4, show_default=True, help="Sequence length (rows of the MLP input).")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True, help="Seed of the weights, input and target.")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float32", show_default=True,
              help="Precision of weights and gradients.")
@click.option("--loss", "loss_kind", type=click.Choice(LOSSES), default="mse", show_default=True,
              help="Loss against a random target.")
@click.option("--composed", is_flag=True, help="Walk Linear and LayerNorm as their primitive ops (matmul, add, mean, ...).")
@click.option("--interactive", "-i", is_flag=True,
              help="Wait at each step: Enter next, p print arrays, g graph (kept in --frames, else ./step-graphs), "
                   "q quit.")
@click.option("--check", is_flag=True, help="Relative error of each step against central differences of its op "
                                            "(over a sample of the elements of a large op).")
@click.option("--frames", type=Path(file_okay=False), default=None, help="Write one PNG per step into DIR.")
@click.option("--gif", type=GIF, default=None, help="Assemble the step pictures into an animated GIF (FILE.gif).")
@fail_cleanly
def step(model, d_model, heads, seq_len, seed, dtype, loss_kind, composed, interactive, check, frames, gif):
    """Walk the backward pass of a tiny seeded MODEL one node at a time.

    MODEL is attention (multi-head self-attention with a causal mask), mlp
    (two Linear layers with relu) or encoder-layer. The forward values are
    printed first, then one row per backward step: the op and the module that
    made it, the shape of its output, the norm of the gradient arriving there,
    the norms of the gradients it sends to its inputs, and whether that
    gradient was summed from several uses.
    """
    if frames or gif:
        if not backward_frames.dot_available():
            raise click.ClickException(backward_frames.DOT_MISSING)
    if gif:
        try:
            import PIL  # noqa: F401
        except ImportError:
            raise click.ClickException(backward_frames.PILLOW_MISSING) from None
    if frames:
        os.makedirs(frames, exist_ok=True)
    refuse_sizes_the_model_lacks(model)
    if model != "mlp":
        require_divisible(d_model, heads)

    setup = build(model, d_model, heads, seq_len, seed, dtype, loss_kind, composed)
    click.echo(click.style(f"{model}: {setup.description}", bold=True))
    values, loss = setup.forward()

    click.echo(click.style("\nforward", bold=True, underline=True))
    for name, p in setup.root.named_parameters():
        click.echo(f"  {click.style(f'{name:<36}', fg='blue')} parameter {_shape(p.shape)}")
    for label, value, note in values:
        shape = _shape(value.shape)
        head = f"  {click.style(label, fg='magenta', bold=True)} {shape}" + (f"  {note}" if note else "")
        click.echo(head)
        click.echo(_indent(_array(value)))

    scratch = {}

    def scratch_dir():
        """Where a --gif's frames go without --frames: a folder removed when the walk ends."""
        if frames:
            return frames
        if "dir" not in scratch:
            scratch["dir"] = tempfile.mkdtemp(prefix="tinygrad-tf-step-")
        return scratch["dir"]

    def graphs_dir():
        """Where `g` keeps its pictures: --frames, else ./step-graphs (made on the first `g`)."""
        directory = frames or GRAPHS_DIR
        os.makedirs(directory, exist_ok=True)
        return directory

    picture = backward_frames.BackwardFrames(loss, title=f"backward through {model}")
    frame_paths = []
    click.echo(click.style("\nbackward", bold=True, underline=True) + "  (one row per node, in the order backward runs)")
    click.echo(click.style(
        "  |grad out|: norm of the gradient arriving at the node; |grads to inputs|: norm of what it sends to each\n"
        "  input (- where an input needs none); summed xN: that gradient added up from N uses"
        + ("; rel. error: against central differences of the op alone" if check else ""), dim=True))
    click.echo(_header(check))
    if interactive:
        click.echo(click.style(f"  {_HELP_KEYS}", dim=True))
    stopped = None
    count = 0
    steps = trace.backward_steps(loss)
    try:
        for s in steps:
            count += 1
            error = trace.check_step(s, max_elements=_check_sample(s)) if check else None
            click.echo(_row(s, error, check))
            picture.visit(s)
            if frames or gif:
                frame_paths.append(_write_frame(picture, os.path.join(scratch_dir(), f"step-{s.index:03d}.png")))
            if interactive and not _wait(s, picture, graphs_dir):
                stopped = s.index
                break
        _report(setup, count, stopped, frames, frame_paths, gif)
    finally:
        steps.close()
        if "dir" in scratch:  # the GIF's frames were only for this session
            shutil.rmtree(scratch["dir"], ignore_errors=True)


def _report(setup, count, stopped, frames, frame_paths, gif):
    """What the walk left: the parameters' gradients, the frames and the animation written."""
    if stopped is not None:
        click.echo(f"stopped at step {stopped}; parameters reached so far have their .grad")
    else:
        click.echo(f"\n{count} steps; every parameter now holds the gradient that backward() gives:")
        for name, p in setup.root.named_parameters():
            s = trace.summary(p.grad)
            text = "no gradient" if s is None else f"|grad| {s.norm:.3e}"
            click.echo(f"  {name:<36} {text}")
    if frames and frame_paths:
        click.echo(f"{len(frame_paths)} frames written to {frames}")
    if gif:
        gif = GIF.written_as(gif)
        with outputs.writing(gif) as tmp:
            backward_frames.assemble_gif(frame_paths, tmp)
        click.echo(f"animation written to {gif}")


def _write_frame(picture, path):
    """One step's picture as a PNG, written whole or not at all (an older frame of that name stays until then)."""
    with outputs.writing(path) as tmp:
        picture.write_png(tmp)
    return path


def _wait(s, picture, directory):
    """Read commands for step `s` from stdin; False when the user quits."""
    while True:
        click.echo("  key + Enter > ", nl=False)
        line = sys.stdin.readline() if sys.stdin is not None else ""  # `<&-`: no input at all
        if line == "":  # end of input: stop waiting, finish the walk
            click.echo("")
            return True
        if not sys.stdin.isatty():  # piped commands: echo them, as a terminal would
            click.echo(line.rstrip("\n"))
        command = line.strip().lower()
        if command == "":
            return True
        if command in ("q", "quit"):
            return False
        if command in ("p", "print"):
            _print_arrays(s)
        elif command in ("g", "graph"):
            _render_graph(picture, directory, s.index)
        else:
            click.echo(f"  unknown command {command!r}: {_HELP_KEYS}")
