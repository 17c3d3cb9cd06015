"""The benchmark suite behind `tinygrad-tf bench`.

- `ops`: forward + backward of single ops against PyTorch.
- `train_step`: a Transformer training step against a PyTorch eager model of
  the same architecture (`tinygrad_tf.interop.torch_model`).
- `memory`: peak RSS of a step and RSS growth over many steps.
- `roofline`: the matmul FLOPs of a training step and this machine's GEMM rate.

Every measurement runs in a process of its own, the libraries taking turns
round after round (`isolated`), so neither library's threads slow the other
and the GEMM rate is the rate of a GEMM alone. PyTorch is optional: without
it every benchmark still reports our numbers. This process never imports torch
(or CuPy); the workers do.
"""
from .common import CONFIGS, BenchConfig, get_config, libraries, machine_info, write_result  # noqa: F401
