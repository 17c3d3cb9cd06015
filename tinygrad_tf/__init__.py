"""The Transformer of "Attention Is All You Need", built on the `autograd` engine and `ops`.

    from tinygrad_tf import nn, optim
    from tinygrad_tf import Trainer, TrainConfig, translate
"""
from . import nn, optim
from .config import TrainConfig
from .train import Trainer, load_translator, translate
from .viz.display import register_notebook_views

register_notebook_views()  # inside Jupyter: a Tensor shows as a small HTML table (nothing happens elsewhere)

__all__ = ["TrainConfig", "Trainer", "load_translator", "nn", "optim", "translate"]
