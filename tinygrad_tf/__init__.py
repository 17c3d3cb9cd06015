"""The Transformer of "Attention Is All You Need", built on the `autograd` engine and `ops`.

    from tinygrad_tf import nn, optim
    from tinygrad_tf import Trainer, TrainConfig, translate
"""
from . import nn, optim
from .config import TrainConfig
from .train import Trainer, load_translator, translate

__all__ = ["TrainConfig", "Trainer", "load_translator", "nn", "optim", "translate"]
