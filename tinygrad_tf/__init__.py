"""The Transformer of "Attention Is All You Need", built on the `autograd` engine and `ops`.

    from tinygrad_tf import nn, optim
    from tinygrad_tf import Trainer, TrainConfig, translate

Importing the package loads nothing else: `nn` and `optim` are loaded when
imported, and the training application behind Trainer, TrainConfig, translate
and load_translator (data, decoding, checkpoints, sacreBLEU, tokenizers) when
one of them is first used (PEP 562's module `__getattr__`).
"""
import importlib
import sys

__version__ = "0.1.0"

_LAZY = {"Trainer": ".train", "load_translator": ".train", "translate": ".train", "TrainConfig": ".config",
         "nn": None, "optim": None}  # name -> the module it comes from (None: the submodule of that name)

__all__ = ["TrainConfig", "Trainer", "load_translator", "nn", "optim", "translate"]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    source = _LAZY[name]
    value = importlib.import_module(f".{name}" if source is None else source, __name__)
    value = value if source is None else getattr(value, name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


if "IPython" in sys.modules:  # inside Jupyter: a Tensor and a Module show as small HTML tables (never imports IPython)
    from .notebook import register_views

    register_views()
