"""Forward + backward time of single ops against PyTorch (CPU), in the same run.

    python benchmarks/ops_bench.py [--repeat 20] [--json benchmarks/results/ops.json]

Each case builds the same inputs in both libraries, runs forward, a backward
of sum(out * w) and reads the gradients, and reports the median time of each
and the ratio ours / PyTorch (< 1 means faster than PyTorch). The last rows
time the engine's own overhead on tiny tensors, where array work is nothing.
The work is in `tinygrad_tf.bench.ops` (also `tinygrad-tf bench ops`).
"""
import argparse
import json
import os
import platform
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from tinygrad_tf.bench import ops as ops_bench  # noqa: E402
from tinygrad_tf.bench.common import torch_or_none  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    rows = ops_bench.run(args.repeat, torch=torch_or_none())
    print(ops_bench.format_rows(rows))
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"machine": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                       "rows": [{"case": n, "ours_s": o, "torch_s": t, "ratio": (o / t if t else None)} for n, o, t in rows]},
                      f, indent=1)


if __name__ == "__main__":
    main()
