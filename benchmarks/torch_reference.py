"""The PyTorch reference Transformer the training benchmark compares against.

It lives in `tinygrad_tf/interop/torch_model.py` (so `tinygrad-tf bench` can
use it); this module re-exports it for scripts in benchmarks/:

    from torch_reference import TorchTransformer, from_config, load_from_ours, loss_fn
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from tinygrad_tf.interop.torch_model import (  # noqa: E402,F401
    ATTENTIONS, ManualAttention, MultiheadAttention, TorchTransformer, from_config, load_from_ours, loss_fn, torch_name,
)
