"""Exercise: one step of Adam (Kingma & Ba, 2015), bias-corrected.

With the gradient g of step t (t counts from 1) and the running moments m, v
(both zero before the first step):

    m = β1 · m + (1 − β1) · g
    v = β2 · v + (1 − β2) · g²
    m̂ = m / (1 − β1^t)          v̂ = v / (1 − β2^t)      (the bias correction)
    param = param − lr · m̂ / (sqrt(v̂) + eps)

The defaults are PyTorch's: β = (0.9, 0.999), eps = 1e-8 (the paper's
Transformer trains with β = (0.9, 0.98), eps = 1e-9).

Check it with:  tinygrad-tf exercise check adam adam.py
"""
import numpy as np


def adam_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """One Adam update.

    Args:
        param: the parameter's values (any shape).
        grad: its gradient, param's shape.
        m, v: the first and second moments before this step, param's shape.
        t: this step's number, counting from 1.
        lr: the learning rate.
        betas: (β1, β2).
        eps: added to sqrt(v̂).

    Returns:
        (param, m, v) after the step, new arrays.
    """
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
