"""Exercise: the backward of the matrix product C = A @ B.

For C = A·B each element is C[i, j] = Σ_k A[i, k] B[k, j], so with dC the
gradient of the loss with respect to C:

    dA = dC · Bᵀ        dB = Aᵀ · dC

Batched operands (..., n, k) @ (..., k, m) do this per matrix (Bᵀ swaps the
last two axes). Where an operand was broadcast over the leading axes (a
missing axis, or an axis of size 1 stretched to match the other operand), its
gradient is summed over those axes, so that dA has A's shape and dB has B's.

Check it with:  tinygrad-tf exercise check matmul matmul.py
"""
import numpy as np


def matmul_backward(a, b, dc):
    """Gradients of C = a @ b, given dC.

    Args:
        a: array (..., n, k), at least two axes.
        b: array (..., k, m), at least two axes; the leading axes broadcast with a's.
        dc: the gradient of the loss with respect to C, shape (..., n, m).

    Returns:
        (da, db) with da.shape == a.shape and db.shape == b.shape.
    """
    da = dc @ np.swapaxes(b, -1, -2)  # (..., n, k), over the broadcast leading axes
    db = np.swapaxes(a, -1, -2) @ dc  # (..., k, m)

    def summed_to(grad, shape):  # sum over the leading axes broadcasting added or stretched
        grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
        stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
        return grad.sum(axis=stretched, keepdims=True)

    return summed_to(da, a.shape), summed_to(db, b.shape)
