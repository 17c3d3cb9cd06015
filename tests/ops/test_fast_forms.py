"""The CPU forms of the fused ops (`ops.fast.in_place`, `ops.fast.compiled`) against the readable form of each op.

The readable Function in each op's file is the math; a fast form is what runs
by default (the compiled one where numba is installed, else the in-place one).
They run here on the same inputs, at sizes that reach every branch of the fast
forms: rows at, below and above the pairwise-max threshold, a reduced axis
that is not the last one, non-contiguous inputs (no BLAS row sums), fully
masked rows, and a backward that reuses the op's own saved array (`last_use`)
or may not (`retain_graph=True`). The compiled forms' tests skip without
numba. The CUDA-kernel forms are held to the same readable forms in
test_cuda_kernels.py.
"""
import contextlib
import types

import numpy as np
import pytest

import ops
from autograd import Tensor, cpu_kernels
from ops import fast
from ops.activation import GELU
from ops.activation import ReLU
from ops.dropout import Dropout
from ops.fast import compiled, in_place, rows
from ops.fast.kernels import CrossEntropyKernel, GELUKernel, LayerNormKernel, LogSoftmaxKernel, SoftmaxKernel
from ops.loss import CrossEntropy
from ops.normalization import LayerNorm
from ops.softmax import LogSoftmax, Softmax

LONGEST = rows.PAIRWISE_MAX_LONGEST_ROW
# last-axis lengths: one, short (pairwise max), the threshold, just past it, long (NumPy's max)
LENGTHS = [1, 7, LONGEST, LONGEST + 1, 300]
TOLERANCE = {np.float64: dict(rtol=1e-12, atol=1e-13), np.float32: dict(rtol=2e-5, atol=1e-6)}
NUMBA = cpu_kernels.load() is not None
needs_numba = pytest.mark.skipif(not NUMBA, reason="the compiled forms need numba (pip install .[fast])")
LAYER_NORM_FORMS = [in_place.LayerNormInPlace, pytest.param(compiled.LayerNormCompiled, marks=needs_numba)]
SOFTMAX_FORMS = [pytest.param(in_place.SoftmaxInPlace, Softmax, id="softmax"),
                 pytest.param(in_place.LogSoftmaxInPlace, LogSoftmax, id="log_softmax"),
                 pytest.param(compiled.SoftmaxCompiled, Softmax, id="softmax-compiled", marks=needs_numba)]
CROSS_ENTROPY_FORMS = [in_place.CrossEntropyInPlace, pytest.param(compiled.CrossEntropyCompiled, marks=needs_numba)]


@pytest.fixture(autouse=True)
def _fast_forms():
    """These tests are about the fast forms: turned on for each test (the readable ones run by default)."""
    with fast.enable():
        yield


def _run(fn, arrays, grad, dtype, retain_graph=False):
    """(output, input gradients) of fn(*Tensors) backpropagating `grad`."""
    inputs = [Tensor(a, requires_grad=True, dtype=dtype) for a in arrays]
    out = fn(*inputs)
    out.backward(Tensor(grad, dtype=dtype), retain_graph=retain_graph)
    return out.numpy(), [t.grad.numpy() for t in inputs]


def _assert_same(fast_result, readable_result, dtype):
    (out_f, grads_f), (out_r, grads_r) = fast_result, readable_result
    np.testing.assert_allclose(out_f, out_r, **TOLERANCE[dtype])
    for gf, gr in zip(grads_f, grads_r):
        np.testing.assert_allclose(gf, gr, **TOLERANCE[dtype])


def _scores(rng, shape, dtype, masked_row=True):
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    if masked_row and x.size:
        np.moveaxis(x, -1, 0)[:, 0] = -np.inf  # one fully masked row (along the last axis)
    return x


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("fast_op,readable", SOFTMAX_FORMS)
def test_softmax_forms_agree_over_the_last_axis(fast_op, readable, n, dtype, rng):
    x = _scores(rng, (3, 4, n), dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    g[np.isinf(x)] = 0.0  # no gradient arrives at a masked score (as after masked_fill)
    _assert_same(_run(lambda t: fast_op.apply(t, -1), [x], g, dtype),
                 _run(lambda t: readable.apply(t, -1), [x], g, dtype), dtype)


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("fast_op,readable", SOFTMAX_FORMS)
def test_softmax_forms_agree_over_another_axis_and_on_a_strided_input(fast_op, readable, n, rng):
    x = rng.standard_normal((n, 5, 3))
    g = rng.standard_normal(x.shape)
    for axis in (0, 1):  # not the last axis: NumPy's own reductions
        _assert_same(_run(lambda t: fast_op.apply(t, axis), [x], g, np.float64),
                     _run(lambda t: readable.apply(t, axis), [x], g, np.float64), np.float64)
    xt, gt = x.swapaxes(0, 2), g.swapaxes(0, 2)  # last axis of length n, not contiguous

    def transposed(op):
        return lambda t: op.apply(ops.swapaxes(t, 0, 2), -1)

    _assert_same(_run(transposed(fast_op), [x], gt, np.float64), _run(transposed(readable), [x], gt, np.float64), np.float64)
    assert not np.asarray(xt).flags.c_contiguous


@pytest.mark.parametrize("fast_op,readable", SOFTMAX_FORMS)
def test_second_derivatives_of_the_softmax_forms_agree(fast_op, readable, rng):
    """A recorded backward (create_graph) of the in-place form is the readable one."""
    x = rng.standard_normal((2, LONGEST + 3))
    w = Tensor(rng.standard_normal(x.shape), dtype="float64")
    results = []
    for op in (fast_op, readable):
        t = Tensor(x, requires_grad=True, dtype="float64")
        (grad,) = _grad_of((op.apply(t, -1) * w).sum(), t)
        (grad * grad).sum().backward()
        results.append((grad.numpy(), t.grad.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-11, atol=1e-12)


def _grad_of(loss, t):
    loss.backward(create_graph=True)
    grad, t.grad = t.grad, None
    return (grad,)


@pytest.mark.parametrize("form", LAYER_NORM_FORMS)
@pytest.mark.parametrize("retain_graph", [False, True])
@pytest.mark.parametrize("affine", ["weight and bias", "weight", "none"])
@pytest.mark.parametrize("d", [1, 7, 300])
def test_layer_norm_forms_agree(d, affine, retain_graph, form, rng):
    x = rng.standard_normal((2, 3, d)) * 2 + 1
    w, b = rng.standard_normal(d), rng.standard_normal(d)
    g = rng.standard_normal(x.shape)
    arrays = {"weight and bias": [x, w, b], "weight": [x, w], "none": [x]}[affine]

    def run(op):
        def fn(x, w=None, b=None):
            return op.apply(x, w, b, 1e-5)

        return _run(fn, arrays, g, np.float64, retain_graph)

    _assert_same(run(form), run(LayerNorm), np.float64)


@pytest.mark.parametrize("form", LAYER_NORM_FORMS)
def test_layer_norm_forms_agree_in_float32_on_a_strided_input_and_with_a_wider_weight(form, rng):
    x = (rng.standard_normal((6, 4, 32)) * 3 + 2).astype(np.float32)
    w, b = rng.standard_normal(x.shape[1]), rng.standard_normal(x.shape[1])
    g = rng.standard_normal((6, 32, 4)).astype(np.float32)

    def run(op, weight_dtype):
        # the normalised axis (4) is the middle one of x: a strided, non-contiguous view
        def fn(x, w, b):
            return op.apply(ops.swapaxes(x, 1, 2), w.astype(weight_dtype), b.astype(weight_dtype), 1e-5)

        return _run(fn, [x, w, b], g, np.float32)

    _assert_same(run(form, "float32"), run(LayerNorm, "float32"), np.float32)
    wide, readable = run(form, "float64"), run(LayerNorm, "float64")  # a float64 weight widens the result
    assert wide[0].dtype == readable[0].dtype == np.float64
    _assert_same(wide, readable, np.float32)


@pytest.mark.parametrize("form", CROSS_ENTROPY_FORMS)
@pytest.mark.parametrize("retain_graph", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("classes", [1, 7, 300])
def test_cross_entropy_forms_agree(classes, smoothing, reduction, retain_graph, form, rng):
    logits = rng.standard_normal((3, 4, classes)) * 4
    targets = rng.integers(0, classes, (3, 4))
    targets[0, 1] = targets[2, 3] = -100  # ignored
    g = rng.standard_normal(targets.shape) if reduction == "none" else np.array(1.7)

    def run(op):
        return _run(lambda x: op.apply(x, targets, -100, smoothing, reduction), [logits], g, np.float64, retain_graph)

    _assert_same(run(form), run(CrossEntropy), np.float64)


@pytest.mark.filterwarnings("ignore:divide by zero", "ignore:invalid value")  # 0/0 and log(0), meant
@pytest.mark.parametrize("form", CROSS_ENTROPY_FORMS)
def test_cross_entropy_forms_give_zero_gradients_when_every_target_is_ignored(form, rng):
    logits = rng.standard_normal((3, 4, 7))
    out, (grad,) = _run(lambda x: form.apply(x, np.full((3, 4), -100), -100, 0.1, "mean"), [logits], np.array(1.0),
                        np.float64)
    assert np.isnan(out)
    np.testing.assert_array_equal(grad, np.zeros_like(logits))


@needs_numba
def test_compiled_cross_entropy_agrees_in_float32_with_int32_targets(rng):
    logits = (rng.standard_normal((5, 7, 1000)) * 5).astype(np.float32)
    targets = rng.integers(0, 1000, (5, 7)).astype(np.int32)
    targets[1, :3] = 0

    def run(op):
        return _run(lambda x: op.apply(x, targets, 0, 0.1, "mean"), [logits], np.array(2.0), np.float32)

    _assert_same(run(compiled.CrossEntropyCompiled), run(CrossEntropy), np.float32)


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_compiled_loss_gradient_equals_the_in_place_one_bit_for_bit(smoothing, dtype, rng):
    """From the same softmax, (softmax - q) * row scale: the same operations in the same order."""
    probs = rng.dirichlet(np.ones(300), size=40).astype(dtype)
    t = rng.integers(0, 300, 40)
    row_scale = (rng.standard_normal(40) / 40).astype(dtype)
    ctx = types.SimpleNamespace(xp=np, last_use=False)
    compiled_grad = compiled.CrossEntropyCompiled.softmax_minus_target(ctx, probs, t, row_scale, smoothing)
    np.testing.assert_array_equal(compiled_grad, in_place.CrossEntropyInPlace.softmax_minus_target(ctx, probs, t, row_scale, smoothing))


@needs_numba
def test_an_op_that_ran_compiled_runs_its_backward_compiled_after_the_loops_are_turned_off(monkeypatch, rng):
    x = Tensor(rng.standard_normal((4, compiled.MIN_SIZE // 4)), requires_grad=True)
    outputs = [ops.layer_norm(x), ops.relu(x), ops.dropout(x, 0.3), ops.cross_entropy(x, np.array([0, 1, 2, 3]))]
    assert all(o._ctx.fn.__name__.endswith("Compiled") for o in outputs)
    monkeypatch.setattr(cpu_kernels, "enabled", False)  # e.g. a test or a user turning them off in between
    sum(o.sum() for o in outputs).backward()
    assert x.grad is not None and np.isfinite(x.grad.numpy()).all()


def _special_values(rng, shape, dtype):
    """Normal values, with NaN, both infinities, +0.0 and -0.0 among them."""
    x = rng.standard_normal(shape).astype(dtype)
    x.reshape(-1)[:5] = [np.nan, np.inf, -np.inf, 0.0, -0.0]
    return x


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("p", [0.1, 0.5, 1 - 2**-18, 1.0])  # 1 - 2^-18: the 16-bit threshold is 65536
def test_compiled_dropout_draws_the_same_mask_and_gives_the_same_numbers(p, dtype):
    x = _special_values(np.random.default_rng(0), (3, 50, 17), dtype)
    g = _special_values(np.random.default_rng(1), x.shape, dtype)
    with np.errstate(invalid="ignore"):  # inf * 0 is NaN, in both forms
        results = [_run(lambda t: op.apply(t, p, np.random.default_rng(7)), [x], g, dtype)
                   for op in (compiled.DropoutCompiled, Dropout)]
    (out_c, (grad_c,)), (out_r, (grad_r,)) = results
    np.testing.assert_array_equal(out_c, out_r)  # the same draws, the same products: equal bit for bit
    np.testing.assert_array_equal(grad_c, grad_r)
    assert np.isnan(out_c.reshape(-1)[0])  # NaN stays NaN, dropped or not, as x * mask does


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_relu_gives_the_same_numbers(dtype, rng):
    x = _special_values(rng, (4, 33), dtype)[:, ::3]  # strided
    g = _special_values(rng, x.shape, dtype)
    with np.errstate(invalid="ignore"):  # inf * 0 is NaN, in both forms
        (out_c, (grad_c,)), (out_r, (grad_r,)) = [_run(op.apply, [x], g, dtype) for op in (compiled.ReLUCompiled, ReLU)]
    np.testing.assert_array_equal(out_c, out_r)
    np.testing.assert_array_equal(grad_c, grad_r)


@needs_numba
@pytest.mark.parametrize("fast_op,readable", [(compiled.DropoutCompiled, Dropout), (compiled.ReLUCompiled, ReLU)])
def test_second_derivatives_through_the_compiled_elementwise_forms_are_the_readable_ones(fast_op, readable, rng):
    x = rng.standard_normal((3, 8))
    args = (0.3,) if readable is Dropout else ()
    results = []
    for op in (fast_op, readable):
        t = Tensor(x, requires_grad=True, dtype="float64")
        extra = (np.random.default_rng(3),) if args else ()
        (grad,) = _grad_of((op.apply(t * t, *args, *extra) * 2.0).sum(), t)
        (grad * grad).sum().backward()
        results.append((grad.numpy(), t.grad.numpy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_a_second_backward_after_retain_graph_gives_the_same_gradients(rng):
    """The in-place backward may reuse its saved array only on the last use."""
    for fn in (lambda x: ops.layer_norm(x), lambda x: ops.cross_entropy(x, np.array([1, 0, 2]))):
        x = Tensor(rng.standard_normal((3, 5)), requires_grad=True, dtype="float64")
        loss = (fn(x) * 1.5).sum()
        loss.backward(retain_graph=True)
        first = x.grad.numpy()
        x.grad = None
        loss.backward()
        np.testing.assert_array_equal(x.grad.numpy(), first)


@pytest.mark.parametrize("compiled_on", [pytest.param(True, marks=needs_numba), False])
def test_the_default_forms_on_the_cpu_are_the_compiled_ones_else_the_in_place_ones(compiled_on, monkeypatch):
    if not compiled_on:
        monkeypatch.setattr(cpu_kernels, "enabled", False)
    x = Tensor(np.ones((2, compiled.MIN_SIZE // 2)), requires_grad=True)  # just large enough for the compiled forms
    assert ops.softmax(x)._ctx.fn is (compiled.SoftmaxCompiled if compiled_on else in_place.SoftmaxInPlace)
    assert ops.softmax(x, axis=0)._ctx.fn is in_place.SoftmaxInPlace  # the loops take rows of the last axis
    assert ops.log_softmax(x)._ctx.fn is in_place.LogSoftmaxInPlace
    assert ops.layer_norm(x)._ctx.fn is (compiled.LayerNormCompiled if compiled_on else in_place.LayerNormInPlace)
    assert ops.cross_entropy(x, np.array([0, 2]))._ctx.fn is (
        compiled.CrossEntropyCompiled if compiled_on else in_place.CrossEntropyInPlace)
    small = Tensor(np.ones((2, compiled.MIN_SIZE // 2 - 1)), requires_grad=True)  # two elements short of it
    assert ops.layer_norm(small)._ctx.fn is in_place.LayerNormInPlace and ops.relu(small)._ctx.fn is ReLU
    assert ops.dropout(x, 0.5)._ctx.fn is (compiled.DropoutCompiled if compiled_on else Dropout)
    assert ops.relu(x)._ctx.fn is (compiled.ReLUCompiled if compiled_on else ReLU)
    # every form is drawn as the op it computes
    assert [ops.relu(x)._ctx.name, ops.dropout(x, 0.5)._ctx.name, ops.layer_norm(x)._ctx.name] == ["relu", "dropout", "layer_norm"]
    assert ops.relu(Tensor(np.ones(3), dtype="float16", requires_grad=True))._ctx.fn is ReLU  # not float32/64
    assert ops.gelu(x)._ctx.fn is GELU  # its readable form is the NumPy form
    with fast.readable_only():
        assert ops.softmax(x)._ctx.fn is Softmax and ops.layer_norm(x)._ctx.fn is LayerNorm
    assert ops.softmax(x)._ctx.fn is (compiled.SoftmaxCompiled if compiled_on else in_place.SoftmaxInPlace)
    assert ops.softmax(x)._ctx.name == "softmax"  # every form is drawn as the op it computes


def test_the_kernel_forms_are_picked_for_cuda_floats_reduced_over_the_last_axis():
    def tensor(device, dtype, ndim=2):
        return types.SimpleNamespace(device=device, dtype=np.dtype(dtype), ndim=ndim, size=4)  # too small to compile

    cuda32 = tensor("cuda", "float32")
    assert fast.variant(Softmax, cuda32) is SoftmaxKernel
    assert fast.variant(LogSoftmax, cuda32, 1) is LogSoftmaxKernel
    assert fast.variant(LayerNorm, tensor("cuda", "float64", 3)) is LayerNormKernel
    assert fast.variant(CrossEntropy, cuda32) is CrossEntropyKernel
    assert fast.variant(GELU, cuda32) is GELUKernel
    assert fast.variant(Softmax, cuda32, 0) is in_place.SoftmaxInPlace  # not the last axis
    assert fast.variant(Softmax, tensor("cuda", "float16")) is in_place.SoftmaxInPlace
    assert fast.variant(GELU, tensor("cuda", "float16")) is GELU
    assert fast.variant(Softmax, tensor("cpu", "float32")) is in_place.SoftmaxInPlace
    assert fast.variant(LayerNorm, tensor("cuda", "float32")) is LayerNormKernel  # never the compiled CPU form
    with fast.readable_only():
        assert fast.variant(Softmax, cuda32) is Softmax


@pytest.mark.parametrize("compiled_from", [None, pytest.param(0, marks=needs_numba)], ids=["default", "compiled at any size"])
def test_the_whole_model_step_is_the_same_with_the_readable_forms(compiled_from, monkeypatch):
    """A Transformer's loss and gradients with every fused op in its readable form."""
    if compiled_from is not None:
        monkeypatch.setattr(compiled, "MIN_SIZE", compiled_from)
    from tinygrad_tf.nn import Transformer

    rng = np.random.default_rng(0)
    model = Transformer(20, 20, d_model=8, num_heads=2, num_encoder_layers=1, num_decoder_layers=1, d_ff=16,
                        dropout=0.0, pad_id=0)
    model.to("cpu", dtype="float64")
    src, tgt = Tensor(rng.integers(1, 20, (2, 5))), Tensor(rng.integers(1, 20, (2, 4)))
    results = []
    targets = rng.integers(0, 20, (2, 4))
    for context in (fast.readable_only, contextlib.nullcontext):
        with context():
            model.zero_grad()
            loss = ops.cross_entropy(model(src, tgt), targets, label_smoothing=0.1)
            loss.backward()
            results.append([float(loss.item())] + [p.grad.numpy() for p in model.parameters()])
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    for readable, default in zip(results[0][1:], results[1][1:]):
        np.testing.assert_allclose(default, readable, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("n", [2, 3, 5, 8])
def test_row_max_takes_the_pairwise_path_under_a_smaller_threshold(n, monkeypatch, rng):
    """With the threshold lowered to 4, rows of 2 to 4 halve pairwise and longer ones use NumPy's max."""
    monkeypatch.setattr(rows, "PAIRWISE_MAX_LONGEST_ROW", 4)
    x = rng.standard_normal((3, 2, n))
    x[0, 0, n // 2] = np.nan  # NaN wins, as in max
    np.testing.assert_array_equal(rows.row_max(np, x), x.max(-1, keepdims=True))


@pytest.mark.parametrize("order", ["C", "F"])
def test_row_sum_matches_numpy_on_contiguous_and_strided_rows(order, rng):
    x = np.asarray(rng.standard_normal((4, 6, 9)), order=order)
    np.testing.assert_allclose(rows.row_sum(np, x), x.sum(-1, keepdims=True), rtol=1e-13)
    np.testing.assert_allclose(rows.row_sum(np, x, 1), x.sum(1, keepdims=True), rtol=1e-13)
