"""The benchmark suite behind `tinygrad-tf bench` and `benchmarks/*.py`.

- `ops`: forward + backward of single ops against PyTorch.
- `train_step`: a Transformer training step against a PyTorch eager model of
  the same architecture (`tinygrad_tf.interop.torch_model`), interleaved in one run.
- `memory`: peak RSS of a step and RSS growth over many steps, each library in
  a fresh subprocess.
- `roofline`: the matmul FLOPs of a training step and this machine's measured
  GEMM rate.

PyTorch is optional: without it every benchmark still reports our numbers.
Nothing here imports torch (or CuPy) until a benchmark asks for it.
"""
from .common import CONFIGS, BenchConfig, get_config, machine_info, torch_or_none, write_result  # noqa: F401
