"""`gradcheck`: compare backward's gradients with central finite differences."""
import numpy as np

from .grad_mode import no_grad
from .core import Tensor


class GradcheckError(AssertionError):
    """Raised when an analytic gradient disagrees with the numeric one."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check the gradients of `fn` at `inputs` against central differences in float64.

    The outputs of `fn` are reduced to one number with fixed random weights,
    `L = sum_k sum(w_k * out_k)`; backward's dL/dx for every input that
    requires grad is compared with (L(x + eps) - L(x - eps)) / (2 eps), element
    by element: |analytic - numeric| <= atol + rtol * |numeric|.

    Args:
        fn: function of the inputs returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or a sequence of them (and other arguments passed as is).
            Floating inputs are promoted to float64 copies; pass float64 values
            (and float64 parameters inside `fn`) for a meaningful check.
        eps, atol, rtol: step and tolerances.
        seed: seed of the random output weights.

    Returns:
        True when every gradient matches.

    Raises:
        GradcheckError: naming the input, the worst element and both values.
    """
    inputs = tuple(
        Tensor(x, dtype=np.float64, requires_grad=x.requires_grad) if isinstance(x, Tensor) and x.dtype.kind == "f" else x
        for x in _as_tuple(inputs)
    )
    rng = np.random.default_rng(seed)
    outputs = _as_tuple(fn(*inputs))
    weights = [Tensor(rng.standard_normal(o.shape), dtype=np.float64, device=o.device) for o in outputs]

    def loss_value():
        with no_grad():
            outs = _as_tuple(fn(*inputs))
            return sum(float((o.astype(np.float64) * w).sum().item()) for o, w in zip(outs, weights))

    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for i in checked:
        inputs[i].grad = None
    loss = sum((o.astype(np.float64) * w).sum() for o, w in zip(outputs, weights))
    loss.backward()

    for i in checked:
        x = inputs[i]
        analytic = x.grad.numpy() if x.grad is not None else np.zeros(x.shape)
        numeric = numeric_gradient(loss_value, x.data, eps)
        excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if excess.size and excess.max() > 0:
            worst = np.unravel_index(int(np.argmax(excess)), x.shape)
            raise GradcheckError(
                f"gradcheck: gradient of input {i} (shape {x.shape}) is wrong at index "
                f"{tuple(int(k) for k in worst)}: analytic {analytic[worst]:.8g}, "
                f"numeric {numeric[worst]:.8g} (atol={atol}, rtol={rtol}; "
                f"{int((excess > 0).sum())} of {x.size} elements out of tolerance)"
            )
    return True


def numeric_gradient(value, array, eps=1e-6, indices=None):
    """d value() / d array by central differences: (value(x + eps e_j) - value(x - eps e_j)) / (2 eps).

    Args:
        value: a function of no arguments returning a number computed from `array`.
        array: a contiguous array, perturbed in place one element at a time and put back.
        eps: the perturbation.
        indices: flat indices of the elements to differentiate by; None: all of them.

    Returns:
        A NumPy array of `array`'s shape, or with `indices` one value per index.
    """
    flat = array.reshape(-1)  # a view: perturbing it perturbs the array
    chosen = range(flat.size) if indices is None else indices
    numeric = np.zeros(len(chosen))
    for k, j in enumerate(chosen):
        original = flat[j].item()
        flat[j] = original + eps
        plus = value()
        flat[j] = original - eps
        minus = value()
        flat[j] = original
        numeric[k] = (plus - minus) / (2 * eps)
    return numeric.reshape(array.shape) if indices is None else numeric
