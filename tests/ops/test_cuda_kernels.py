"""The fused CuPy kernels (`autograd.cuda_kernels`) and the ops' kernel forms (`ops.fast.kernels`)
against the readable form of each op, forward and backward.

Each test runs twice: through `cuda_emulator` (the kernel source compiled with
g++ and run on the CPU, so CI checks it without a GPU) and through CuPy on a
GPU when there is one. `kernels.cu` is also compiled with nvcc where installed.
"""
import shutil
import subprocess

import numpy as np
import pytest

import ops
from autograd import Context, Tensor, cuda_available
from autograd import cuda_kernels as cuda
from cuda_emulator import EmulatedCupy, compiler
from ops import fast
from ops.fast import kernels

TOLERANCE = {np.float32: dict(rtol=2e-5, atol=1e-6), np.float64: dict(rtol=1e-11, atol=1e-13)}
# one column, fewer columns than threads, more columns than threads (each thread strides), a vocabulary
COLUMNS = [1, 7, 300, 1000]


@pytest.fixture(autouse=True)
def _fast_forms():
    """These tests are about the fast forms: turned on for each test (the readable ones run by default)."""
    with fast.enable():
        yield


@pytest.fixture(scope="module", params=["emulated", "cupy"])
def xp(request, tmp_path_factory):
    if request.param == "emulated":
        if compiler() is None:
            pytest.skip("the CPU emulation of the kernels needs g++")
        return EmulatedCupy(str(tmp_path_factory.mktemp("cuda_emulator")))
    if not cuda_available():
        pytest.skip('running the kernels on a GPU needs CuPy and a GPU (pip install -e .[cuda])')
    import cupy

    return cupy


def host(a):
    return a.get() if hasattr(a, "get") else np.asarray(a)


def reference(fn, arrays, grad, dtype):
    """(output, input gradients) of `fn` on CPU Tensors, every fused op in its readable form.

    Computed in float64 whatever `dtype` is, so a float32 kernel is held to the
    exact values (its own rounding within TOLERANCE), not to the float32 rounding
    of the NumPy form.
    """
    inputs = [Tensor(a, requires_grad=True, dtype=np.float64) for a in arrays]
    with fast.readable_only():
        out = fn(*inputs)
        out.backward(Tensor(grad, dtype=np.float64))
    return out.numpy(), [t.grad.numpy() for t in inputs]


def scores(rng, shape, dtype):
    """Random scores with one fully masked row (all -inf) and one partly masked row."""
    x = rng.standard_normal(shape).astype(dtype) * 3
    rows = x.reshape(-1, shape[-1])
    rows[0] = -np.inf
    if len(rows) > 1 and shape[-1] > 1:
        rows[1, ::2] = -np.inf
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cols", COLUMNS)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_kernels(name, cols, dtype, xp):
    rng = np.random.default_rng(cols)
    x = scores(rng, (2, 3, cols), dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    g[np.isinf(x)] = 0.0  # the gradient of a masked score is taken as given
    expected_out, (expected_dx,) = reference(getattr(ops, name), [x], g, dtype)
    out = getattr(cuda, f"{name}_forward")(xp, xp.asarray(x))
    dx = getattr(cuda, f"{name}_backward")(xp, out, xp.asarray(g))
    np.testing.assert_allclose(host(out), expected_out, **TOLERANCE[dtype])
    finite = np.isfinite(expected_dx)
    np.testing.assert_allclose(host(dx)[finite], expected_dx[finite], **TOLERANCE[dtype])
    assert host(out).dtype == dtype and host(dx).shape == x.shape


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cols", COLUMNS[1:])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_kernels(affine, cols, dtype, xp):
    rng = np.random.default_rng(cols)
    x = (rng.standard_normal((2, 3, cols)) * 2 + 1).astype(dtype)
    w, b = rng.standard_normal(cols).astype(dtype), rng.standard_normal(cols).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    if affine:
        expected_out, (expected_dx, _, _) = reference(lambda x, w, b: ops.layer_norm(x, w, b), [x, w, b], g, dtype)
    else:
        expected_out, (expected_dx,) = reference(ops.layer_norm, [x], g, dtype)
    weight, bias = (xp.asarray(w), xp.asarray(b)) if affine else (None, None)
    out, x_hat, rstd = cuda.layer_norm_forward(xp, xp.asarray(x), weight, bias, 1e-5)
    dx = cuda.layer_norm_backward(xp, xp.asarray(g), x_hat, rstd, weight)
    np.testing.assert_allclose(host(out), expected_out, **TOLERANCE[dtype])
    np.testing.assert_allclose(host(dx), expected_dx, **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cols", COLUMNS[1:])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_kernels(smoothing, cols, dtype, xp):
    rng = np.random.default_rng(cols)
    logits = (rng.standard_normal((9, cols)) * 4).astype(dtype)
    targets = rng.integers(0, cols, 9)
    targets[[2, 5]] = -100  # ignored rows
    g = rng.standard_normal(9).astype(dtype)
    expected_loss, (expected_dx,) = reference(
        lambda x: ops.cross_entropy(x, targets, ignore_index=-100, label_smoothing=smoothing, reduction="none"),
        [logits], g, dtype)
    valid = targets != -100
    kept = np.where(valid, targets, 0)
    probs, loss = cuda.cross_entropy_forward(xp, xp.asarray(logits), xp.asarray(kept), xp.asarray(valid), smoothing)
    dx = cuda.cross_entropy_backward(xp, probs, xp.asarray(kept), xp.asarray(valid * g), smoothing)
    np.testing.assert_allclose(host(loss), expected_loss, **TOLERANCE[dtype])
    np.testing.assert_allclose(host(probs), ops.softmax(Tensor(logits, dtype=np.float64)).numpy(), **TOLERANCE[dtype])
    np.testing.assert_allclose(host(dx), expected_dx, **TOLERANCE[dtype])
    assert not host(loss)[~valid].any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_kernels(approximate, dtype, xp):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((4, 50)) * 3).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    expected_out, (expected_dx,) = reference(lambda x: ops.gelu(x, approximate), [x], g, dtype)
    out = cuda.gelu_forward(xp, xp.asarray(x), approximate)
    dx = cuda.gelu_backward(xp, xp.asarray(x), xp.asarray(g), approximate)
    np.testing.assert_allclose(host(out), expected_out, **TOLERANCE[dtype])
    np.testing.assert_allclose(host(dx), expected_dx, **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_kernel_matches_the_cpu_update(dtype, xp):
    """Three steps of tinygrad_tf.optim.Adam: the fused kernel against the NumPy update."""
    from tinygrad_tf.optim import Adam

    rng = np.random.default_rng(0)
    start = rng.standard_normal((5, 7)).astype(dtype)
    grads = [rng.standard_normal(start.shape).astype(dtype) for _ in range(3)]
    cpu = Tensor(start, requires_grad=True, dtype=dtype)
    optimizer = Adam([cpu], lr=0.01)
    param, m, v = xp.asarray(start.copy()), xp.zeros_like(xp.asarray(start)), xp.zeros_like(xp.asarray(start))
    (b1, b2), eps = optimizer.betas, optimizer.eps
    for step, g in enumerate(grads, start=1):
        cpu.grad = Tensor(g, dtype=dtype)
        optimizer.step()
        correction2 = np.sqrt(1 - b2**step)
        cuda.adam_update(xp, param, xp.asarray(g), m, v, b1, b2, 0.01 * correction2 / (1 - b1**step), eps * correction2)
    np.testing.assert_allclose(host(param), cpu.numpy(), **TOLERANCE[dtype])
    np.testing.assert_allclose(host(m), host(optimizer.state[0]["m"]), **TOLERANCE[dtype])


def test_kernels_apply_only_to_cupy_floats_over_the_last_axis():
    x = np.zeros((2, 3), np.float32)
    assert not cuda.applies(np, x)  # NumPy arrays keep the NumPy form
    fake_cupy = object()
    assert cuda.applies(fake_cupy, x) and cuda.applies(fake_cupy, x, axis=1)
    assert not cuda.applies(fake_cupy, x, axis=0)
    assert not cuda.applies(fake_cupy, x.astype(np.float16))


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc (the CUDA toolkit) is not installed")
@pytest.mark.parametrize("c_type", ["float", "double"])
def test_kernels_compile_with_nvcc(c_type, tmp_path):
    """kernels.cu and the gelu bodies, as CuPy would compile them, pass the CUDA compiler."""
    with open(cuda.SOURCE, encoding="utf-8") as f:
        source = f"typedef {c_type} T;\n" + f.read()
    inputs, outputs, body = cuda.ADAM
    source += (f'\nextern "C" __global__ void adam(const T* gs, T b1, T b2, T step_size, T eps, T* ps, T* ms, T* vs, long long n) {{'
               " long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; if (i >= n) return;"
               f" T g = gs[i]; T& p = ps[i]; T& m = ms[i]; T& v = vs[i]; {body}; }}")
    for approximate, (forward, backward) in cuda.GELU.items():
        source += (f'\nextern "C" __global__ void gelu_{approximate}(const T* xs, const T* gs, T* ys, T* dxs, long long n) {{'
                   " long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; if (i >= n) return;"
                   f" T x = xs[i], g = gs[i], y, dx; {{ {forward}; }} {{ {backward}; }} ys[i] = y; dxs[i] = dx; }}")
    (tmp_path / "kernels.cu").write_text(source)
    subprocess.run(["nvcc", "--ptx", "-o", str(tmp_path / "kernels.ptx"), str(tmp_path / "kernels.cu")],
                   check=True, capture_output=True, text=True)
    ptx = (tmp_path / "kernels.ptx").read_text()
    for name in ("softmax_forward", "softmax_backward", "log_softmax_forward", "log_softmax_backward",
                 "layer_norm_forward", "layer_norm_backward", "cross_entropy_forward", "cross_entropy_backward",
                 "gelu_none", "gelu_tanh", "adam"):
        assert f".entry {name}(" in ptx


def test_kernels_cast_the_other_operands_to_the_input_dtype(xp):
    """float32 weight and gradient with a float64 input: cast, not read as doubles."""
    rng = np.random.default_rng(2)
    x, g = rng.standard_normal((3, 5)), rng.standard_normal((3, 5)).astype(np.float32)
    w, b = rng.standard_normal(5).astype(np.float32), rng.standard_normal(5).astype(np.float32)
    expected_out, (expected_dx, _, _) = reference(lambda x, w, b: ops.layer_norm(x, w, b), [x, w, b], g, np.float64)
    out, x_hat, rstd = cuda.layer_norm_forward(xp, xp.asarray(x), xp.asarray(w), xp.asarray(b), 1e-5)
    dx = cuda.layer_norm_backward(xp, xp.asarray(g), x_hat, rstd, xp.asarray(w))
    np.testing.assert_allclose(host(out), expected_out, rtol=1e-6)
    np.testing.assert_allclose(host(dx), expected_dx, rtol=1e-6)
    y = cuda.softmax_forward(xp, xp.asarray(x))
    assert host(cuda.softmax_backward(xp, y, xp.asarray(g))).dtype == np.float64


def test_cross_entropy_kernel_marks_a_target_out_of_range_with_nan(xp):
    logits = np.zeros((3, 4))
    targets = np.array([1, 4, -1])
    _, loss = cuda.cross_entropy_forward(xp, xp.asarray(logits), xp.asarray(targets), xp.asarray(np.ones(3, bool)), 0.0)
    loss = host(loss)
    np.testing.assert_allclose(loss[0], np.log(4))
    assert np.isnan(loss[1]) and np.isnan(loss[2])


def _kernel_form(form, xp, arrays, args, grad, needs_grad):
    """(output, gradients) of a kernel Function's forward and backward, run directly on `xp` arrays.

    Function.apply would need CuPy Tensors; a Context of the emulated (or real)
    `cupy` runs the same two methods.
    """
    ctx = Context(form, xp)
    ctx.inputs = tuple(Tensor(np.zeros(1), requires_grad=wants) for wants in needs_grad)
    out = form.forward(ctx, *[None if a is None else xp.asarray(a) for a in arrays], *args)
    grads = form.backward(ctx, xp.asarray(grad))
    return host(out), [None if g is None else host(g) for g in grads[: len(arrays)]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_forms_match_the_readable_forms(dtype, xp):
    """Each op's kernel form (what `ops.fast.variant` picks on "cuda") against its readable Function."""
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((2, 3, 300)) * 2).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    w, b = rng.standard_normal(300).astype(dtype), rng.standard_normal(300).astype(dtype)
    cases = [
        (kernels.SoftmaxKernel, [x], (-1,), lambda x: ops.softmax(x)),
        (kernels.LogSoftmaxKernel, [x], (-1,), lambda x: ops.log_softmax(x)),
        (kernels.LayerNormKernel, [x, w, b], (1e-5,), lambda x, w, b: ops.layer_norm(x, w, b)),
        (kernels.GELUKernel, [x], ("none",), lambda x: ops.gelu(x)),
        (kernels.GELUKernel, [x], ("tanh",), lambda x: ops.gelu(x, "tanh")),
    ]
    for form, arrays, args, fn in cases:
        out, grads = _kernel_form(form, xp, arrays, args, g, [True] * len(arrays))
        expected_out, expected_grads = reference(fn, arrays, g, dtype)
        np.testing.assert_allclose(out, expected_out, **TOLERANCE[dtype], err_msg=form.__name__)
        for got, expected in zip(grads, expected_grads):
            np.testing.assert_allclose(got, expected, rtol=TOLERANCE[dtype]["rtol"] * 10, atol=TOLERANCE[dtype]["atol"] * 100,
                                       err_msg=form.__name__)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_kernel_form_matches_the_readable_form(reduction, xp):
    rng = np.random.default_rng(6)
    logits = rng.standard_normal((3, 4, 50)) * 3
    targets = rng.integers(0, 50, (3, 4))
    targets[1, 2] = -100
    g = rng.standard_normal(targets.shape) if reduction == "none" else np.array(0.7)
    out, (dx,) = _kernel_form(kernels.CrossEntropyKernel, xp, [logits], (xp.asarray(targets), -100, 0.1, reduction), g, [True])
    expected_out, (expected_dx,) = reference(
        lambda x: ops.cross_entropy(x, targets, ignore_index=-100, label_smoothing=0.1, reduction=reduction), [logits], g, np.float64)
    np.testing.assert_allclose(out, expected_out, **TOLERANCE[np.float64])
    np.testing.assert_allclose(dx, expected_dx, **TOLERANCE[np.float64])
