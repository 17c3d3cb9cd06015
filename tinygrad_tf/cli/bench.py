"""`tinygrad-tf bench`: our engine against PyTorch eager, single ops, a Transformer training step, memory.

The one front door of the benchmarks (`tinygrad_tf.bench`): every measurement
runs in a process of its own, the libraries taking turns for --rounds rounds.
"""
import click

from autograd import backend

from ..bench import common
from .common import Path, fail_cleanly, require_device

WHAT = ("ops", "train", "memory", "all")
CONFIG_NAMES = ("toy", "base-small", "base")


@click.command()
@click.argument("what", type=click.Choice(WHAT), default="train")
@click.option("--config", "config_name", type=click.Choice(CONFIG_NAMES + ("tiny",)), default="toy", show_default=True,
              help="Model and batch sizes: toy, base-small, base (the paper's base, meant for --device cuda); tiny is for tests.")
@click.option("--device", type=click.Choice(backend.DEVICES), default="cpu", show_default=True,
              help="cpu: NumPy against torch CPU; cuda: CuPy against torch CUDA.")
@click.option("--rounds", type=click.IntRange(1, 1000), default=3, show_default=True,
              help="Times each library is measured, each time in a fresh process, taking turns (ours, torch, ours, ...).")
@click.option("--steps", type=click.IntRange(1, 10**6), default=10, show_default=True,
              help="Timed training steps per library in each round.")
@click.option("--warmup", type=click.IntRange(1, 10**6), default=3, show_default=True,
              help="Untimed steps first, in each library's process (at least 1: its loss shows both compute the same).")
@click.option("--memory-steps", type=click.IntRange(1, 10**6), default=200, show_default=True,
              help="Steps after the first few over which memory growth is measured.")
@click.option("--repeat", type=click.IntRange(1, 10**6), default=20, show_default=True,
              help="Repetitions of each op per round (ops).")
@click.option("--torch-attention", type=click.Choice(("mha", "manual")), default="mha", show_default=True,
              help="The reference's attention: torch.nn.MultiheadAttention, or hand-written like ours.")
@click.option("--no-torch", is_flag=True, help="Only our own numbers, even when PyTorch is installed.")
@click.option("--readable", is_flag=True,
              help="Run our ops' readable forms (what a learner steps through) instead of their fast forms.")
@click.option("--out", type=Path(file_okay=False), default="benchmarks/results", show_default=True,
              help="Directory for the JSON results (<benchmark>-<config>-<device>.json).")
@click.option("--gemm-size", type=click.IntRange(16, 16384), default=None, hidden=True, help="Side of the GEMM-rate matmul.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, hidden=True, help="Seed of weights and data.")
@fail_cleanly
def bench(what, config_name, device, rounds, steps, warmup, memory_steps, repeat, torch_attention, no_torch, readable,
          out, gemm_size, seed):
    """Benchmark against PyTorch eager: WHAT is ops, train (default), memory or all.

    \b
    ops     forward+backward of single ops (time ratio ours/torch, < 1 = ours faster)
    train   a Transformer training step against the same model in torch:
            tokens/s of each, their ratio, and the share of the GEMM rate
    memory  peak RSS of a step and RSS growth
    Each library (and the GEMM rate) runs in a process of its own, so neither's
    threads slow the other; the libraries take turns for --rounds rounds and
    the tables show the median over rounds with the range. Our side runs the
    ops' fast forms, as training does; --readable measures the readable ones.
    """
    require_device(device)
    config = common.get_config(config_name)
    _, note = common.libraries(not no_torch)
    if note and not no_torch:
        click.secho(note, fg="yellow", err=True)
    if config_name == "base" and device == "cpu":
        click.secho("note: the base config is meant for --device cuda; on a CPU each step takes a while", err=True)
    log = _logger()
    forms, suffix = ("readable", "-readable") if readable else ("fast", "")
    written = []
    if what in ("ops", "all"):
        from ..bench import ops as ops_bench

        rows, ops_note = ops_bench.run(repeat, rounds, device, use_torch=not no_torch, log=log, forms=forms)
        click.echo(f"ops  forward + backward: median over {rounds} round(s) of the median of {repeat}, "
                   "each library in its own process (ours/torch < 1 = ours faster)\n")
        click.echo(ops_bench.format_rows(rows, ops_note))
        click.echo()
        written.append(common.write_result(out, "ops" + suffix, device, ops_bench.to_json(rows, repeat, rounds, device, ops_note)))
    if what in ("train", "all"):
        from ..bench import train_step

        result = train_step.run(config, device, steps=steps, warmup=warmup, rounds=rounds, attention=torch_attention,
                                seed=seed, gemm_size=gemm_size, use_torch=not no_torch, log=log, forms=forms)
        click.echo(train_step.format_result(result))
        click.echo()
        written.append(common.write_result(out, f"train-{config.name}{suffix}", device, result))
    if what in ("memory", "all"):
        from ..bench import memory

        result = memory.run(config, device, steps=memory_steps, warmup=warmup, rounds=rounds, attention=torch_attention,
                            seed=seed, use_torch=not no_torch, log=log, forms=forms)
        click.echo(memory.format_result(result))
        click.echo()
        written.append(common.write_result(out, f"memory-{config.name}{suffix}", device, result))
    for path in written:
        click.echo(f"wrote {path}")


def _logger():
    def log(line):
        click.secho(f"  {line}", dim=True, err=True)

    return log
