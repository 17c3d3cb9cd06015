"""Reference gradients of an op at given arrays: from the engine's readable op, and by finite differences.

`forward` is a function of Tensors built with ops (`lambda x: ops.softmax(x, 0)`);
`dy` is the gradient that reaches its output, so both give d(Σ dy · forward)/d(input).
"""
import numpy as np

import ops
from autograd import Tensor, no_grad
from autograd.gradcheck import numeric_gradient

STEP = 1e-6  # central differences in float64: error about STEP² times the third derivative


def engine_gradients(forward, arrays, dy):
    """(output, (gradient of each array)) from the engine's readable forms, in float64."""
    tensors = [Tensor(a, requires_grad=True, dtype="float64") for a in arrays]
    with ops.fast.readable_only():
        out = forward(*tensors)
        out.backward(Tensor(dy, dtype="float64"))
    return out.numpy(), tuple(t.grad.numpy() for t in tensors)


def numeric_gradients(forward, arrays, dy, step=STEP):
    """(gradient of each array) of Σ dy · forward(arrays) by central differences, one element at a time."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]

    def objective():
        with no_grad(), ops.fast.readable_only():
            return float((forward(*(Tensor(a, dtype="float64") for a in arrays)).numpy() * dy).sum())

    return tuple(numeric_gradient(objective, array, step) for array in arrays)
