"""Tensor construction, dtype rules, attributes and conversions; no_grad / enable_grad."""
import numpy as np
import pytest

import autograd
import ops
from autograd import Tensor, enable_grad, is_grad_enabled, no_grad


# ---- dtype rules ---------------------------------------------------------------------------------
@pytest.mark.parametrize("data,expected", [
    ([1.0, 2.0], np.float32),
    (np.array([1.0, 2.0], dtype=np.float64), np.float32),
    (np.array([1.0], dtype=np.float16), np.float32),
    (3.5, np.float32),
    ([1, 2, 3], np.int64),
    (np.array([1, 2], dtype=np.int32), np.int64),
    (np.array([1, 2], dtype=np.uint8), np.int64),
    (7, np.int64),
    ([True, False], np.bool_),
    (np.array([True]), np.bool_),
], ids=repr)
def test_default_dtypes_follow_the_data(data, expected, device):
    t = Tensor(data, device=device)
    assert t.dtype == expected
    np.testing.assert_array_equal(t.numpy(), np.asarray(data).astype(expected))


@pytest.mark.parametrize("dtype", ["float64", np.float64, "float32", "int32", "int64", "bool"])
def test_dtype_argument_is_honoured(dtype, device):
    assert Tensor([1, 0, 2], dtype=dtype, device=device).dtype == np.dtype(dtype)


def test_float64_numpy_array_does_not_promote_float32_ops(device):
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True, device=device)
    a = np.array([0.5, 0.25, 2.0])  # float64
    for y in (x + a, a + x, x * a, a * x, x - a, a - x, x / a, a / x, x ** np.float64(2.0),
              np.float64(2.0) * x, ops.maximum(x, a), ops.where(x.numpy() > 1.5, x, a)):
        assert isinstance(y, Tensor), type(y)
        assert y.dtype == np.float32, y
        assert y.requires_grad


def test_numpy_array_on_the_left_stays_in_the_graph(device):
    x = Tensor([1.0, 2.0], requires_grad=True, dtype="float64", device=device)
    a = np.array([3.0, 4.0])
    ((a / x + a * x).sum() - a @ x).backward()
    np.testing.assert_allclose(x.grad.numpy(), -a / np.array([1.0, 2.0]) ** 2 + a - a)


def test_float64_tensors_stay_float64(device):
    x = Tensor([1.0, 2.0], dtype="float64", requires_grad=True, device=device)
    y = (x * 2.5 + 1).exp().sum()
    assert y.dtype == np.float64
    y.backward()
    assert x.grad.dtype == np.float64


def test_astype_casts_the_gradient_back(device):
    x = Tensor([1.0, 2.0], requires_grad=True, device=device)
    y = x.astype("float64") * Tensor([3.0, 4.0], dtype="float64", device=device)
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])


# ---- attributes and conversions ---------------------------------------------------------------------
def test_attributes(device):
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    t = Tensor(a, device=device)
    assert t.shape == (2, 3, 4) and isinstance(t.shape, tuple)
    assert t.ndim == 3 and t.size == 24 and len(t) == 2
    assert t.dtype == np.float32 and t.device == device
    assert t.T.shape == (4, 3, 2)
    np.testing.assert_array_equal(t.T.numpy(), a.T)
    assert isinstance(t.numpy(), np.ndarray)
    np.testing.assert_array_equal(t.numpy(), a)
    np.testing.assert_array_equal(np.asarray(t), a)
    assert t.tolist() == a.tolist()
    assert t.is_leaf and t.grad_fn is None and not t.requires_grad


def test_data_is_the_backend_array_and_writable_in_place(device):
    t = Tensor(np.zeros((2, 2)), requires_grad=True, device=device)
    xp = np if device == "cpu" else __import__("cupy")
    assert isinstance(t.data, xp.ndarray)
    t.data[...] = 3.0          # a parameter update
    t.data[0, 1] = -1.0
    np.testing.assert_array_equal(t.numpy(), [[3.0, -1.0], [3.0, 3.0]])
    (t * t).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [[6.0, -2.0], [6.0, 6.0]])


def test_constructor_copies_and_numpy_returns_a_copy(device):
    a = np.ones(3)
    t = Tensor(a, device=device)
    a[0] = 5.0
    assert t.numpy()[0] == 1.0
    t.numpy()[1] = 7.0
    assert t.numpy()[1] == 1.0


def test_grad_is_settable(device):
    x = Tensor([1.0, 2.0], requires_grad=True, device=device)
    (x * 2).sum().backward()
    assert isinstance(x.grad, Tensor)
    x.grad = None
    assert x.grad is None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_item_and_scalar_conversions(device):
    t = Tensor([[2.5]], device=device)
    assert t.item() == 2.5 and isinstance(t.item(), float)
    assert float(t) == 2.5 and int(Tensor(3, device=device)) == 3
    assert bool(Tensor(True, device=device))
    assert Tensor(4, device=device).item() == 4 and isinstance(Tensor(4, device=device).item(), int)
    with pytest.raises(ValueError, match=r"item.*3 elements.*\(3,\)"):
        Tensor([1.0, 2.0, 3.0], device=device).item()


def test_detach_shares_memory_and_leaves_the_graph(device):
    x = Tensor([1.0, 2.0], requires_grad=True, device=device)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    d.data[0] = 100.0
    assert y.numpy()[0] == 100.0
    (d * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [100.0, 4.0])


def test_to_same_device_and_round_trip(device):
    x = Tensor([1.0, 2.0], requires_grad=True, device=device)
    assert x.to(device) is x
    y = x.to("cpu").to(device)
    assert y.device == device and y.requires_grad and y.is_leaf
    np.testing.assert_array_equal(y.numpy(), x.numpy())


def test_to_cuda_and_back():
    if not autograd.cuda_available():
        pytest.skip("no GPU")
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x.to("cuda")
    assert y.device == "cuda" and y.requires_grad
    (y * y).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [2.0, 4.0])
    assert y.grad.device == "cuda"
    assert Tensor(y).device == "cuda" and Tensor(y, device="cpu").device == "cpu"


def test_repr_shows_shape_dtype_device_and_op(device):
    x = Tensor(np.ones((100, 100)), requires_grad=True, device=device)
    r = repr(x)
    assert "(100, 100)" in r and "float32" in r and device in r and "requires_grad=True" in r
    y = ops.softmax(x * 2)
    r = repr(y)
    assert "(100, 100)" in r and "softmax" in r and device in r
    assert "int64" in repr(Tensor([1, 2], device=device))


def test_requires_grad_only_on_leaves():
    y = Tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False


def test_tensor_from_tensor_copies(device):
    x = Tensor([1.0, 2.0], device=device)
    y = Tensor(x, dtype="float64")
    y.data[0] = 9.0
    assert x.numpy()[0] == 1.0 and y.dtype == np.float64 and y.device == device


# ---- no_grad / enable_grad ---------------------------------------------------------------------------
def test_no_grad_context_records_nothing_and_restores(device):
    x = Tensor([1.0, 2.0], requires_grad=True, device=device)
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        y = x * 2
        with enable_grad():
            assert is_grad_enabled()
            z = x * 3
        assert not is_grad_enabled()
    assert is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None


def test_no_grad_restores_after_an_exception():
    with pytest.raises(KeyError):
        with no_grad():
            raise KeyError("boom")
    assert is_grad_enabled()


def test_no_grad_and_enable_grad_as_decorators(device):
    x = Tensor([1.0], requires_grad=True, device=device)

    @no_grad()
    def infer(t):
        assert not is_grad_enabled()
        return train(t) if t.numpy()[0] < 0 else t * 2

    @enable_grad()
    def train(t):
        assert is_grad_enabled()
        return t * 2

    assert not infer(x).requires_grad
    assert is_grad_enabled()
    with no_grad():
        assert train(x).requires_grad
        assert not is_grad_enabled()
    assert is_grad_enabled()
    assert infer(Tensor([-1.0], requires_grad=True, device=device)).requires_grad
    assert is_grad_enabled()


def test_no_grad_decorated_function_called_recursively_restores_state():
    @no_grad()
    def depth(n):
        assert not is_grad_enabled()
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(3) == 3
    assert is_grad_enabled()


def test_grad_mode_leaves_backward_unaffected(device):
    x = Tensor([1.0, 2.0], requires_grad=True, device=device)
    y = (x * x).sum()
    with no_grad():
        y.backward()  # a graph recorded earlier still backpropagates
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
