"""Bad input: each error is clear and names the op and the shapes or devices; detect_anomaly."""
import inspect
import os
import re
import warnings

import numpy as np
import pytest

import autograd
import ops
from autograd import AnomalyError, Tensor, detect_anomaly

HERE = re.escape(os.path.basename(__file__))


def _line_after():
    """The line number just after the caller's line (where the op under test is created)."""
    return inspect.currentframe().f_back.f_lineno + 1


def test_matmul_shape_mismatch(device):
    a, b = Tensor(np.ones((2, 3)), device=device), Tensor(np.ones((4, 5)), device=device)
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        a @ b


@pytest.mark.parametrize("name", ["sum", "mean", "var", "max", "min"])
def test_reduction_with_a_bad_axis_names_op_axis_and_shape(name, device):
    x = Tensor(np.ones((2, 3)), device=device)
    for axis in (5, (0, -3)):
        with pytest.raises((ValueError, IndexError), match=rf"{name}: axis -?\d+ is out of range .*shape \(2, 3\)"):
            getattr(x, name)(axis=axis)
    with pytest.raises(ValueError, match=rf"{name}: .*twice"):
        getattr(x, name)(axis=(1, -1))


def test_matmul_batch_mismatch(device):
    a, b = Tensor(np.ones((2, 3, 4)), device=device), Tensor(np.ones((5, 4, 2)), device=device)
    with pytest.raises(ValueError, match=r"matmul.*batch.*\(2, 3, 4\).*\(5, 4, 2\)"):
        ops.matmul(a, b)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum"])
def test_broadcast_mismatch_names_op_and_shapes(op, device):
    a, b = Tensor(np.ones((2, 3)), device=device), Tensor(np.ones(4), device=device)
    with pytest.raises(ValueError, match=rf"^{op}:.*\(2, ?3\).*\(4,\)"):
        getattr(ops, op)(a, b)


def test_broadcast_mismatch_with_operator(device):
    with pytest.raises(ValueError, match=r"add.*\(2, 3\), \(3, 2\)"):
        Tensor(np.ones((2, 3)), device=device) + Tensor(np.ones((3, 2)), device=device)


def test_backward_on_non_scalar_without_grad(device):
    y = Tensor(np.ones((2, 3)), requires_grad=True, device=device) * 2
    with pytest.raises(RuntimeError, match=r"backward.*shape \(2, 3\).*grad"):
        y.backward()


def test_backward_with_grad_of_wrong_shape(device):
    y = Tensor(np.ones((2, 3)), requires_grad=True, device=device) * 2
    with pytest.raises(ValueError, match=r"backward.*\(3,\).*\(2, 3\)"):
        y.backward(np.ones(3))


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (Tensor([1.0]) * 2).sum().backward()


@pytest.mark.parametrize("make", [lambda x: (x * x).sum(), lambda x: x.exp().sum(), lambda x: ops.softmax(x).sum() * 1.0,
                                  lambda x: ops.layer_norm(x.reshape(1, 3)).sum()])
def test_second_backward_through_freed_graph(make, device):
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True, device=device)
    y = make(x)
    y.backward()
    with pytest.raises(RuntimeError, match=r"backward through op '\w+' a second time.*retain_graph=True"):
        y.backward()


def test_requires_grad_on_integer_tensor(device):
    with pytest.raises(TypeError, match=r"floating-point.*int64.*\(3,\)"):
        Tensor([1, 2, 3], requires_grad=True, device=device)
    t = Tensor([True, False], device=device)
    with pytest.raises(TypeError, match=r"floating-point.*bool"):
        t.requires_grad = True


# ---- devices -------------------------------------------------------------------------------------------
def test_unknown_device_string():
    with pytest.raises(ValueError, match=r"unknown device 'tpu'.*cpu.*cuda"):
        Tensor([1.0], device="tpu")
    with pytest.raises(ValueError, match=r"unknown device 'gpu'"):
        Tensor([1.0]).to("gpu")


@pytest.mark.skipif(autograd.cuda_available(), reason="CuPy and a GPU are present")
def test_cuda_without_cupy_or_gpu_says_how_to_install():
    with pytest.raises(RuntimeError, match=r"cuda.*pip install -e \.\[cuda\]"):
        Tensor([1.0], device="cuda")
    with pytest.raises(RuntimeError, match=r"pip install -e \.\[cuda\]"):
        Tensor([1.0]).to("cuda")


@pytest.mark.skipif(not autograd.cuda_available(), reason="needs CuPy and a GPU")
@pytest.mark.parametrize("op", [ops.add, ops.matmul, ops.mul])
def test_mixed_devices_name_both(op):
    a = Tensor(np.ones((2, 2)))
    b = Tensor(np.ones((2, 2)), device="cuda")
    with pytest.raises(RuntimeError, match=r"different devices.*\(2, 2\) on cpu.*\(2, 2\) on cuda"):
        op(a, b)
    with pytest.raises(RuntimeError, match=r"different devices.*cuda.*cpu"):
        op(b, a)


# ---- detect_anomaly ----------------------------------------------------------------------------------
def test_anomaly_forward_names_op_and_user_line(device):
    x = Tensor([1.0, -1.0], requires_grad=True, device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with detect_anomaly():
            with pytest.raises(AnomalyError, match=r"forward of op 'log'.*NaN") as info:
                line = _line_after()
                ops.log(x * 2)
    assert re.search(rf"{HERE}:{line}\b", str(info.value)), str(info.value)
    assert "ops.log(x * 2)" in str(info.value)


def test_anomaly_forward_inf_from_finite_inputs(device):
    x = Tensor([0.0, 1.0], device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with detect_anomaly(), pytest.raises(AnomalyError, match=r"forward of op 'div'.*Inf"):
            1.0 / x


def test_anomaly_backward_names_op_and_where_it_was_created(device):
    x = Tensor([0.0, 4.0], requires_grad=True, device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with detect_anomaly():
            line = _line_after()
            y = ops.sqrt(x)               # fine forward: sqrt(0) = 0
            loss = (y * 3).sum()
            with pytest.raises(AnomalyError, match=r"backward of op 'sqrt'.*input 0") as info:
                loss.backward()           # d sqrt / dx at 0 is Inf
    assert re.search(rf"{HERE}:{line}\b", str(info.value)), str(info.value)


def test_anomaly_is_off_by_default(device):
    x = Tensor([-1.0, 0.0], requires_grad=True, device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        y = ops.log(x)
        y.sum().backward()
    assert np.isnan(y.numpy()[0]) and np.isinf(x.grad.numpy()[1])


def test_anomaly_blames_where_a_nan_input_came_from_not_the_op_that_received_it(device):
    x = Tensor([np.nan, 1.0], requires_grad=True, device=device)
    with detect_anomaly(), pytest.raises(AnomalyError) as info:
        (x.exp() * 2).sum()
    message = str(info.value)
    assert "produced" not in message, message  # exp did not make the NaN
    assert re.search(r"op 'exp'.*input 0, which was already NaN.*no recorded op made", message), message


def test_anomaly_names_the_producing_op_with_its_module_and_shape(device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        x = Tensor([[-1.0, 1.0]], requires_grad=True, device=device)
        with autograd.module_scope("encoder.layers.0"):
            y = ops.log(x)  # NaN made outside detect_anomaly()
        with detect_anomaly(), pytest.raises(AnomalyError) as info:
            y * 2
    message = str(info.value)
    assert re.search(r"op 'mul'.*already NaN.*op 'log' in encoder\.layers\.0 \(output of shape \(1, 2\)", message), message


def test_anomaly_backward_says_the_forward_input_was_already_nan(device):
    # the forward ran outside detect_anomaly(), so the NaN was never caught there; exp's backward then
    # turns a finite gradient into NaN because its saved output is NaN: the cause is log, before it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        x = Tensor([-1.0, 1.0], requires_grad=True, device=device)
        loss = (ops.log(x).exp() * 3).sum()
        with detect_anomaly(), pytest.raises(AnomalyError) as info:
            loss.backward()
    message = str(info.value)
    assert re.search(r"backward of op 'exp'.*input 0 was already NaN in the forward pass.*op 'log'", message), message


def test_anomaly_nan_made_from_inf_blames_the_op_and_names_the_inf(device):
    t = Tensor([np.inf, 1.0], device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with detect_anomaly(), pytest.raises(AnomalyError, match=r"forward of op 'sub' produced NaN.*already held Inf"):
            t - t


def test_anomaly_mode_restores_state():
    from autograd.anomaly import is_anomaly_enabled

    with pytest.raises(KeyError):
        with detect_anomaly():
            assert is_anomaly_enabled()
            raise KeyError
    assert not is_anomaly_enabled()


@pytest.mark.parametrize("fused", [True, False])
def test_masked_attention_under_anomaly_does_not_raise(fused, device):
    rng = np.random.default_rng(0)
    q = Tensor(rng.standard_normal((2, 4, 8)), requires_grad=True, device=device)
    k = Tensor(rng.standard_normal((2, 4, 8)), requires_grad=True, device=device)
    tokens = Tensor(np.array([[1, 2, 3, 0], [0, 0, 0, 0]]), device=device)  # second sequence all padding
    mask = ops.padding_mask(tokens, 0).reshape(2, 1, 4) & ops.causal_mask(4, device=device)
    with detect_anomaly():
        scores = ops.masked_fill(q @ k.swapaxes(-1, -2) / 8**0.5, ~mask, float("-inf"))
        attn = ops.softmax(scores, -1, fused=fused)
        attn.sum().backward()
    assert np.isfinite(attn.numpy()).all()
    np.testing.assert_array_equal(attn.numpy()[1], 0.0)
    assert np.isfinite(q.grad.numpy()).all() and np.isfinite(k.grad.numpy()).all()
