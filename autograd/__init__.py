"""The autograd engine: Tensor, recording, backward, gradient checking.

    from autograd import Tensor, no_grad, enable_grad, gradcheck, detect_anomaly

`core.py` is the whole idea, read top to bottom; the other files are the
machinery it calls, each named for its job.
"""
from .anomaly import AnomalyError, detect_anomaly
from .backend import cuda_available
from .core import Context, Function, Step, Tensor, backward_steps, topological_order
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck
from .random import manual_seed
from .scope import current_module, mark, module_scope

__all__ = [
    "AnomalyError", "Context", "Function", "GradcheckError", "Step", "Tensor", "backward_steps",
    "cuda_available", "current_module", "detect_anomaly", "enable_grad", "gradcheck",
    "is_grad_enabled", "manual_seed", "mark", "module_scope", "no_grad", "set_grad_enabled",
    "topological_order",
]
