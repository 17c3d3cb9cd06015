"""`ops.dispatch`: the readable Functions run by default, the fast forms after `ops.fast.enable()`,
and a stand-in replaces an op everywhere or inside one module."""
import numpy as np
import pytest

import autograd
import ops
from autograd import Tensor
from ops.dispatch import stand_in
from ops.softmax import Softmax
from tinygrad_tf import nn


def _recorded_functions(module, x):
    """The Function classes of every node of one forward and backward of `module` on `x`."""
    loss = module(x).sum()
    functions = {t._ctx.fn for t in autograd.topological_order(loss) if t._ctx is not None}
    loss.backward()
    return functions


def _is_fast(fn):
    return fn.__module__.startswith("ops.fast") or "kernels" in fn.__module__


@pytest.fixture
def encoder_layer_and_batch():
    autograd.manual_seed(0)
    layer = nn.EncoderLayer(128, 4, 512, 0.1)
    x = Tensor(np.random.default_rng(0).standard_normal((8, 32, 128)), requires_grad=True)
    return layer, x


def test_an_encoder_layer_records_only_readable_ops_by_default(encoder_layer_and_batch):
    functions = _recorded_functions(*encoder_layer_and_batch)
    assert functions and not [f for f in functions if _is_fast(f)]
    assert Softmax in functions and ops.linear.__module__ == "ops.linear"


def test_after_enable_the_fast_forms_run_and_disable_brings_the_readable_back(encoder_layer_and_batch):
    with ops.fast.enable():
        assert ops.fast.is_enabled()
        fast = _recorded_functions(*encoder_layer_and_batch)
        with ops.fast.disable():
            assert not [f for f in _recorded_functions(*encoder_layer_and_batch) if _is_fast(f)]
    assert not ops.fast.is_enabled()
    assert {f.__name__ for f in fast if _is_fast(f)} >= {"LinearBLAS", "MatMulFolded"}
    for f in fast:  # each fast form subclasses its readable Function (the same name in the graph)
        readable = next(base for base in f.__mro__ if not _is_fast(base))
        assert readable is not autograd.Function and readable.op_name() == f.op_name()


def test_enable_as_a_call_stays_on_until_disabled():
    ops.fast.enable()
    try:
        assert ops.fast.is_enabled()
    finally:
        ops.fast.disable()
    assert not ops.fast.is_enabled()


class _Doubled(Softmax):
    """A softmax whose backward sends twice the gradient: easy to tell apart."""

    @staticmethod
    def backward(ctx, grad):
        dx, none = Softmax.backward(ctx, grad)
        return 2 * dx, none


def test_a_stand_in_runs_only_inside_its_module(encoder_layer_and_batch):
    layer, x = encoder_layer_and_batch
    path = next(t._ctx.module for t in autograd.topological_order(layer(x).sum())
                if t._ctx is not None and t._ctx.fn is Softmax)
    with stand_in(Softmax, _Doubled, module=path):
        assert _Doubled in _recorded_functions(layer, x)
    with stand_in(Softmax, _Doubled, module=path + "_elsewhere"):
        assert _Doubled not in _recorded_functions(layer, x)
    with stand_in(Softmax, _Doubled):
        assert ops.softmax(Tensor([1.0, 2.0], requires_grad=True))._ctx.fn is _Doubled
    assert ops.softmax(Tensor([1.0, 2.0], requires_grad=True))._ctx.fn is Softmax  # gone after the block


def test_a_stand_ins_backward_is_the_one_that_runs():
    x0 = np.array([[0.5, -1.0, 2.0]])
    grads = []
    for replacement in (None, _Doubled):
        x = Tensor(x0, requires_grad=True, dtype="float64")
        if replacement is None:
            y = ops.softmax(x)
        else:
            with stand_in(Softmax, replacement):
                y = ops.softmax(x)
        (y * Tensor([[1.0, 2.0, 3.0]], dtype="float64")).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[1], 2 * grads[0])
