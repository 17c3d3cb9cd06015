"""A Transformer training step, ours against a PyTorch eager model of the same architecture, in one run.

    python benchmarks/train_bench.py [--config toy|base-small|base] [--device cpu|cuda] [--steps 30]
                                     [--memory-steps 200 | --no-memory] [--out benchmarks/results]

Prints the step table (median step time, tokens/s of each library, the ratio,
FLOPs over the measured GEMM rate) and the memory table (peak RSS of a step,
RSS growth; each library in a fresh process), and writes
train-<config>-<device>.json and memory-<config>-<device>.json under --out.
The work is in `tinygrad_tf.bench` (the same as `tinygrad-tf bench train` /
`tinygrad-tf bench memory`); the reference model is
`tinygrad_tf/bench/torch_reference.py`.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from tinygrad_tf.bench import get_config, memory, train_step, write_result  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="toy", choices=("toy", "base-small", "base", "tiny"))
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--steps", type=int, default=30, help="timed steps per library")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--memory-steps", type=int, default=200)
    parser.add_argument("--no-memory", action="store_true", help="skip the memory benchmark")
    parser.add_argument("--torch-attention", default="mha", choices=("mha", "manual"))
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    args = parser.parse_args()
    config = get_config(args.config)

    def log(line):
        print(f"  {line}", file=sys.stderr, flush=True)

    result = train_step.run(config, args.device, steps=args.steps, warmup=args.warmup, attention=args.torch_attention, log=log)
    print(train_step.format_result(result), end="\n\n", flush=True)
    paths = [write_result(args.out, f"train-{config.name}", args.device, result)]
    if not args.no_memory:
        result = memory.run(config, args.device, steps=args.memory_steps, warmup=args.warmup,
                            attention=args.torch_attention, log=log)
        print(memory.format_result(result), end="\n\n")
        paths.append(write_result(args.out, f"memory-{config.name}", args.device, result))
    for path in paths:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
