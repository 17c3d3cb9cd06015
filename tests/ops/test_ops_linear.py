"""linear (fused and composed) against NumPy, torch.nn.functional.linear and gradcheck."""
import numpy as np
import pytest

import ops
from autograd import Tensor
from helpers import check_gradcheck, check_numpy_forward, helper_test_op

FUSED = [True, False]
SHAPES = [(5, 4), (2, 3, 4), (4,), (2, 1, 3, 4)]  # x: rows, a batch of rows, one vector, more leading axes


def np_linear(x, w, b=None):
    out = x @ w.T
    return out if b is None else out + b


@pytest.mark.parametrize("fused", FUSED)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_linear_with_bias(fused, shape, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    fn = lambda x, w, b: ops.linear(x, w, b, fused=fused)  # noqa: E731
    inputs = [shape, (3, 4), (3,)]
    check_numpy_forward(inputs, fn, np_linear, device)
    check_gradcheck(inputs, fn, device)
    helper_test_op(inputs, fn, torch.nn.functional.linear, device)


@pytest.mark.parametrize("fused", FUSED)
def test_linear_without_bias(fused, device, torch):
    helper_test_op([(2, 3, 4), (6, 4)], lambda x, w: ops.linear(x, w, fused=fused),
                   torch.nn.functional.linear, device)


@pytest.mark.parametrize("flags", [(True, False, False), (False, True, False), (False, False, True)], ids=str)
def test_linear_gradient_to_some_inputs_only(flags, device, torch):
    helper_test_op([(2, 3, 4), (5, 4), (5,)], ops.linear, torch.nn.functional.linear, device, requires_grad=flags)


def test_linear_float32(device, torch):
    helper_test_op([(8, 6, 16), (32, 16), (32,)], ops.linear, torch.nn.functional.linear, device,
                   dtype=np.float32, atol=1e-5, rtol=1e-4)


def test_fused_and_composed_agree_to_second_order(device):
    """The same values, gradients, and gradients of a gradient (create_graph)."""
    rng = np.random.default_rng(0)
    arrays = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)
    g = rng.standard_normal((2, 3, 5))
    results = []
    for fused in FUSED:
        x, w, b = (Tensor(a, requires_grad=True, dtype="float64", device=device) for a in arrays)
        out = ops.linear(x, w, b, fused=fused)
        loss = (ops.tanh(out) * Tensor(g, dtype="float64", device=device)).sum()
        loss.backward(create_graph=True)
        grad_x, grad_w, grad_b = x.grad, w.grad, b.grad
        x.grad = w.grad = b.grad = None
        ((grad_x * grad_x).sum() + (grad_w * grad_w).sum() + (grad_b * grad_b).sum()).backward()
        results.append([out.numpy(), grad_x.numpy(), grad_w.numpy(), grad_b.numpy(),
                        x.grad.numpy(), w.grad.numpy(), b.grad.numpy()])
    for fused_value, composed_value in zip(*results):
        np.testing.assert_allclose(fused_value, composed_value, atol=1e-10)


def test_weight_gradient_keeps_the_weight_layout():
    """(out, in) and C-contiguous, like the weight, so the optimizer's update runs on plain memory."""
    x = Tensor(np.ones((4, 3, 8)), requires_grad=True)
    w = Tensor(np.ones((6, 8)), requires_grad=True)
    ops.linear(x, w, Tensor(np.zeros(6), requires_grad=True)).sum().backward()
    assert w.grad.shape == (6, 8) and w.grad.data.flags.c_contiguous


def test_a_wider_bias_widens_the_result_as_the_composed_form_does():
    x, w = Tensor(np.ones((2, 3)), dtype="float32"), Tensor(np.ones((4, 3)), dtype="float32")
    b = Tensor(np.full(4, 0.1), dtype="float64")
    fused, composed = ops.linear(x, w, b), ops.linear(x, w, b, fused=False)
    assert fused.dtype == composed.dtype == np.float64
    np.testing.assert_array_equal(fused.numpy(), composed.numpy())


def test_linear_of_no_rows(device):
    x = Tensor(np.zeros((0, 4)), requires_grad=True, device=device)
    w = Tensor(np.ones((3, 4)), requires_grad=True, device=device)
    out = ops.linear(x, w, Tensor(np.ones(3), requires_grad=True, device=device))
    assert out.shape == (0, 3)
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros((3, 4)))


@pytest.mark.parametrize("x, w, b, message", [
    ((2, 5), (3, 4), (3,), r"linear: .*input \(2, 5\), weight \(3, 4\)"),
    ((2, 4), (4,), None, r"linear: .*weight \(4,\)"),
    ((2, 4), (3, 4), (4,), r"linear: bias must have shape \(3,\), got input \(2, 4\), weight \(3, 4\), bias \(4,\)"),
    ((), (3, 4), None, r"linear: .*input \(\)"),
])
def test_bad_shapes_name_linear_and_the_shapes(x, w, b, message):
    args = [Tensor(np.ones(x)), Tensor(np.ones(w))] + ([] if b is None else [Tensor(np.ones(b))])
    for fused in FUSED:
        with pytest.raises(ValueError, match=message):
            ops.linear(*args, fused=fused)
