"""The autograd engine: Tensor, recording, backward, gradient checking.

    from autograd import Tensor, no_grad, enable_grad, gradcheck, detect_anomaly
"""
from .anomaly import AnomalyError, detect_anomaly
from .backend import cuda_available
from .engine import backward_steps, topological_order
from .function import Context, Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck
from .random import manual_seed
from .scope import current_module, mark, module_scope
from .tensor import Tensor

__all__ = [
    "AnomalyError", "Context", "Function", "GradcheckError", "Tensor", "backward_steps",
    "cuda_available", "current_module", "detect_anomaly", "enable_grad", "gradcheck",
    "is_grad_enabled", "manual_seed", "mark", "module_scope", "no_grad", "set_grad_enabled",
    "topological_order",
]
