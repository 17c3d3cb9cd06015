"""layer_norm (fused and composed) against NumPy, torch.nn.functional.layer_norm and gradcheck."""
import numpy as np
import pytest

import ops
from autograd import Tensor
from helpers import check_gradcheck, check_numpy_forward, helper_test_op


def np_layer_norm(x, w=None, b=None, eps=1e-5):
    out = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps)
    out = out if w is None else out * w
    return out if b is None else out + b


SHAPES = [(4, 8), (2, 3, 5), (6,)]
FUSED = [True, False]


@pytest.mark.parametrize("fused", FUSED)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_layer_norm_affine(fused, shape, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    d = shape[-1]
    fn = lambda x, w, b: ops.layer_norm(x, w, b, fused=fused)  # noqa: E731
    inputs = [shape, (d,), (d,)]
    check_numpy_forward(inputs, fn, np_layer_norm, device)
    check_gradcheck(inputs, fn, device)
    helper_test_op(inputs, fn, lambda x, w, b: torch.nn.functional.layer_norm(x, (d,), w, b, eps=1e-5), device)


@pytest.mark.parametrize("fused", FUSED)
@pytest.mark.parametrize("eps", [1e-5, 0.1])
def test_layer_norm_without_affine(fused, eps, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    fn = lambda x: ops.layer_norm(x, eps=eps, fused=fused)  # noqa: E731
    check_numpy_forward([(3, 7)], fn, lambda x: np_layer_norm(x, eps=eps), device)
    check_gradcheck([(3, 7)], fn, device)
    helper_test_op([(3, 7)], fn, lambda x: torch.nn.functional.layer_norm(x, (7,), eps=eps), device)


@pytest.mark.parametrize("fused", FUSED)
@pytest.mark.parametrize("which", ["weight", "bias"])
def test_layer_norm_with_only_weight_or_bias(fused, which, device, torch):
    def fn(x, p):
        return ops.layer_norm(x, **{which: p}, fused=fused)

    def tfn(x, p):
        return torch.nn.functional.layer_norm(x, (5,), **{which: p})

    helper_test_op([(2, 4, 5), (5,)], fn, tfn, device)


@pytest.mark.parametrize("fused", FUSED)
def test_layer_norm_parameters_frozen(fused, device, torch):
    helper_test_op([(3, 6), (6,), (6,)], lambda x, w, b: ops.layer_norm(x, w, b, fused=fused),
                   lambda x, w, b: torch.nn.functional.layer_norm(x, (6,), w, b), device,
                   requires_grad=[True, False, False])


def test_fused_and_composed_agree(device):
    rng = np.random.default_rng(0)
    x, w, b, g = rng.standard_normal((3, 4, 6)), rng.standard_normal(6), rng.standard_normal(6), rng.standard_normal((3, 4, 6))
    results = []
    for fused in FUSED:
        ts = [Tensor(a, requires_grad=True, dtype="float64", device=device) for a in (x, w, b)]
        out = ops.layer_norm(*ts, fused=fused)
        (out * Tensor(g, dtype="float64", device=device)).sum().backward()
        results.append([out.numpy()] + [t.grad.numpy() for t in ts])
    for fused_value, composed_value in zip(*results):
        np.testing.assert_allclose(fused_value, composed_value, atol=1e-10)


def test_layer_norm_float32(device, torch):
    helper_test_op([(4, 16), (16,), (16,)], lambda x, w, b: ops.layer_norm(x, w, b),
                   lambda x, w, b: torch.nn.functional.layer_norm(x, (16,), w, b), device,
                   dtype=np.float32, atol=1e-5, rtol=1e-4)


def test_layer_norm_wrong_weight_shape_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"layer_norm: weight has shape \(4,\).*\(5,\).*\(2, 5\)"):
        ops.layer_norm(Tensor(np.ones((2, 5))), Tensor(np.ones(4)))
