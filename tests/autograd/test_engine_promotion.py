"""Result dtypes of mixed-dtype arithmetic follow PyTorch's type promotion, checked against torch."""
import numpy as np
import pytest

import ops
from autograd import Tensor
from autograd.dtypes import result_type

# (name, our left operand, our right operand, torch's left, torch's right) as builders taking (Tensor, torch)
T = {
    "f32": lambda T, t: (T([1.0, 2.0]), t.tensor([1.0, 2.0])),
    "f64": lambda T, t: (T([1.0, 2.0], dtype="float64"), t.tensor([1.0, 2.0], dtype=t.float64)),
    "f16": lambda T, t: (T([1.0, 2.0], dtype="float16"), t.tensor([1.0, 2.0], dtype=t.float16)),
    "i64": lambda T, t: (T([1, 2]), t.tensor([1, 2])),
    "i32": lambda T, t: (T([1, 2], dtype="int32"), t.tensor([1, 2], dtype=t.int32)),
    "u8": lambda T, t: (T([1, 2], dtype="uint8"), t.tensor([1, 2], dtype=t.uint8)),
    "i8": lambda T, t: (T([1, 2], dtype="int8"), t.tensor([1, 2], dtype=t.int8)),
    "bool": lambda T, t: (T([True, False]), t.tensor([True, False])),
    "0d-f64": lambda T, t: (T(2.0, dtype="float64"), t.tensor(2.0, dtype=t.float64)),
    "0d-i64": lambda T, t: (T(3), t.tensor(3)),
    "float": lambda T, t: (1.5, 1.5),
    "int": lambda T, t: (2, 2),
    "True": lambda T, t: (True, True),
    "np.float64": lambda T, t: (np.float64(2.0), np.float64(2.0)),
    # torch takes no list as an operand: a list is the tensor torch.tensor(list) makes
    "int-list": lambda T, t: ([1, 2], t.tensor([1, 2])),
    "float-list": lambda T, t: ([1.5, 2.5], t.tensor([1.5, 2.5])),
}
PAIRS = [
    ("f32", "i64"), ("i64", "f32"), ("f32", "float"), ("i64", "float"), ("f64", "f32"), ("f32", "f64"),
    ("f32", "int-list"), ("int-list", "f32"), ("f32", "float-list"), ("f64", "float-list"), ("f16", "float-list"),
    ("bool", "bool"), ("bool", "int"), ("bool", "float"), ("bool", "i32"), ("bool", "f16"), ("bool", "True"),
    ("i32", "int"), ("i32", "i64"), ("u8", "i8"), ("f16", "float"), ("f16", "i64"), ("f32", "0d-f64"),
    ("i64", "0d-f64"), ("0d-f64", "0d-i64"), ("i32", "0d-i64"), ("bool", "0d-i64"), ("f32", "True"),
    ("i64", "True"), ("f32", "np.float64"), ("i64", "np.float64"), ("f32", "int"),
]
OPS = {"add": (ops.add, "add"), "mul": (ops.mul, "mul"), "div": (ops.div, "div"), "maximum": (ops.maximum, "maximum")}


def _pair(torch, device, left, right):
    dev = lambda x: x.to(device) if isinstance(x, Tensor) else x  # noqa: E731
    (a, ta), (b, tb) = T[left](Tensor, torch), T[right](Tensor, torch)
    return dev(a), dev(b), ta, tb


@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("left,right", PAIRS, ids=lambda p: str(p))
def test_result_dtype_matches_torch(op, left, right, device, torch):
    ours, name = OPS[op]
    a, b, ta, tb = _pair(torch, device, left, right)
    if not (isinstance(ta, torch.Tensor) or isinstance(tb, torch.Tensor)):
        pytest.skip("two numbers")
    if op == "maximum" and not (isinstance(ta, torch.Tensor) and isinstance(tb, torch.Tensor)):
        pytest.skip("torch.maximum takes tensors only")
    expected = getattr(torch, name)(ta, tb)
    with np.errstate(invalid="ignore"):  # bool / bool divides 0 by 0 once, as torch does (NaN)
        got = ours(a, b)
    assert str(got.dtype) == str(expected.dtype).removeprefix("torch."), (left, right)
    np.testing.assert_allclose(got.numpy().astype(np.float64), expected.double().numpy(), rtol=1e-3)


def test_result_type_alone_follows_the_tiers():
    f32, i64 = Tensor([1.0]), Tensor([1])
    assert result_type(f32, i64) == np.float32
    assert result_type(i64, 1.5) == np.float32
    assert result_type(f32, Tensor(1.0, dtype="float64")) == np.float32
    assert result_type(i64, Tensor(1.0, dtype="float64")) == np.float64
    assert result_type(Tensor([True]), 1) == np.int64


def test_gradient_through_a_promoted_operand_keeps_each_inputs_dtype(device, torch):
    x = Tensor([1.0, 2.0], requires_grad=True, device=device)                   # float32
    y = Tensor([3.0, 4.0], dtype="float64", requires_grad=True, device=device)  # float64
    out = x * y * Tensor([2, 3], device=device)
    assert out.dtype == np.float64
    out.sum().backward()
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    ty = torch.tensor([3.0, 4.0], dtype=torch.float64, requires_grad=True)
    (tx * ty * torch.tensor([2, 3])).sum().backward()
    assert x.grad.dtype == np.float32 and y.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy())


@pytest.mark.parametrize("make", [lambda x: x + "a", lambda x: "a" + x, lambda x: ops.add(x, "a")])
def test_adding_a_string_is_a_type_error_naming_add_shape_dtype_and_str(make, device):
    x = Tensor(np.ones((2, 3)), device=device)
    with pytest.raises(TypeError, match=r"add: .*Tensor of shape \(2, 3\) and dtype float32.* str"):
        make(x)


@pytest.mark.parametrize("other,name", [(None, "NoneType"), ({"a": 1}, "dict"), (1 + 2j, "complex"),
                                        (["a", "b"], "list")])
def test_other_unsupported_operands_name_the_op_and_type(other, name, device):
    x = Tensor([1.0, 2.0], device=device)
    with pytest.raises(TypeError, match=rf"mul: .*Tensor of shape \(2,\) and dtype float32.* {name}"):
        x * other


# math whose results are fractions: PyTorch computes integer and bool inputs in its default float dtype
FLOATING_OPS = {
    "exp": (ops.exp, lambda t, x: t.exp(x)),
    "log": (ops.log, lambda t, x: t.log(x)),
    "sqrt": (ops.sqrt, lambda t, x: t.sqrt(x)),
    "tanh": (ops.tanh, lambda t, x: t.tanh(x)),
    "sigmoid": (ops.sigmoid, lambda t, x: t.sigmoid(x)),
}


@pytest.mark.filterwarnings("ignore:divide by zero", "ignore:invalid value")  # 0/0 and log(0), meant
@pytest.mark.parametrize("make", ["i64", "i32", "u8", "bool"])
@pytest.mark.parametrize("name", FLOATING_OPS)
def test_math_on_integers_gives_float32_as_torch(name, make, device, torch):
    ours, theirs = T[make](lambda *a, **k: Tensor(*a, device=device, **k), torch)
    op, torch_op = FLOATING_OPS[name]
    out, expected = op(ours), torch_op(torch, theirs)
    assert out.dtype == np.float32 and expected.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)


@pytest.mark.parametrize("data", [[1, 2, 4], [True, False, True]])
def test_means_softmax_and_layer_norm_of_integers_are_float32(data, device):
    """NumPy would give float64 (or refuse, for softmax); the convention is float32, computed from the values."""
    x = Tensor(data, device=device)
    values = np.array(data, dtype=np.float64)
    checks = [(ops.mean(x), values.mean()), (ops.var(x), values.var()),
              (ops.softmax(x), np.exp(values) / np.exp(values).sum()),
              (ops.log_softmax(x), values - np.log(np.exp(values).sum())),
              (ops.layer_norm(x), (values - values.mean()) / np.sqrt(values.var() + 1e-5))]
    for out, expected in checks:
        assert out.dtype == np.float32
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)
    for raw in (np.array(data), data):  # an array or a list: as the op makes it a Tensor, then float32
        assert ops.exp(raw).dtype == ops.mean(raw).dtype == np.float32
