"""Optimizers, the Noam schedule and gradient clipping against PyTorch and the paper's formula.

Every test runs twice: with Adam's readable update (the default) and with its
fast forms (`ops.fast.enable()`: in place, in chunks, compiled), as training runs it.
"""
import copy
import math

import numpy as np
import pytest

import ops
from autograd import Tensor, cpu_kernels
from tinygrad_tf import optim
from tinygrad_tf.optim import SGD, Adam, NoamSchedule, clip_grad_norm

SHAPES = [(3, 4), (4,), (2, 3, 2)]


@pytest.fixture(autouse=True, params=["readable", "fast"])
def forms(request):
    """The optimizers' update as written (readable), then the fast forms that training uses."""
    with ops.fast.enable() if request.param == "fast" else ops.fast.disable():
        yield request.param


def _params(dtype="float64", seed=0):
    rng = np.random.default_rng(seed)
    return [Tensor(rng.normal(size=s), requires_grad=True, dtype=dtype) for s in SHAPES]


def _gradients(steps, seed=1):
    rng = np.random.default_rng(seed)
    return [[rng.normal(size=s) for s in SHAPES] for _ in range(steps)]


def _run_ours(make_optimizer, grads, params=None):
    params = params or _params()
    opt = make_optimizer(params)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = Tensor(g, dtype=p.dtype)
        opt.step()
    return opt, [p.numpy() for p in params]


def _run_torch(torch, make_optimizer, grads):
    params = [torch.tensor(p.numpy(), dtype=torch.float64, requires_grad=True) for p in _params()]
    opt = make_optimizer(params)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    return [p.detach().numpy() for p in params]


@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.9, 0.0), (0.9, 0.01), (0.0, 0.1)])
def test_sgd_matches_torch(torch, momentum, weight_decay):
    grads = _gradients(5)
    _, ours = _run_ours(lambda ps: SGD(ps, lr=0.1, momentum=momentum, weight_decay=weight_decay), grads)
    theirs = _run_torch(torch, lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=momentum, weight_decay=weight_decay), grads)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("lr, weight_decay", [(1e-3, 0.0), (0.05, 0.0), (0.01, 0.01)])
def test_adam_matches_torch(torch, lr, weight_decay):
    grads = _gradients(6)
    _, ours = _run_ours(lambda ps: Adam(ps, lr=lr, betas=(0.9, 0.98), eps=1e-9, weight_decay=weight_decay), grads)
    theirs = _run_torch(torch, lambda ps: torch.optim.Adam(ps, lr=lr, betas=(0.9, 0.98), eps=1e-9, weight_decay=weight_decay), grads)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def _adam_reference(start, grads, lr, betas=(0.9, 0.999), eps=1e-8):
    """Adam in float64 as Kingma & Ba write it: bias-corrected moments, then the step (PyTorch's defaults)."""
    p, m, v = start.astype(np.float64), np.zeros(start.shape), np.zeros(start.shape)
    for step, g in enumerate(grads, start=1):
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        p = p - lr * (m / (1 - betas[0] ** step)) / (np.sqrt(v / (1 - betas[1] ** step)) + eps)
    return p


def _adam_steps(start, grads, dtype, lr=0.01):
    param = Tensor(start, requires_grad=True, dtype=dtype)
    opt = Adam([param], lr=lr)
    for g in grads:
        param.grad = Tensor(g, dtype=dtype)
        opt.step()
    return param.numpy(), opt


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_adam_on_a_parameter_larger_than_a_chunk_matches_the_formula(dtype):
    """Two full chunks and a partial one, at the real chunk size: every element is updated."""
    rng = np.random.default_rng(3)
    shape = (3, optim.ADAM_CHUNK * 2 // 3 + 17)  # 2 * ADAM_CHUNK + 51 elements
    assert optim.ADAM_CHUNK * 2 < math.prod(shape) < optim.ADAM_CHUNK * 3
    start = rng.standard_normal(shape)
    grads = [rng.standard_normal(shape) for _ in range(3)]
    ours, _ = _adam_steps(start, grads, dtype)
    tolerance = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours, _adam_reference(start, grads, 0.01), **tolerance)


def test_adam_on_a_parameter_larger_than_a_chunk_matches_torch(torch):
    rng = np.random.default_rng(4)
    start = rng.standard_normal(optim.ADAM_CHUNK + 1000).astype(np.float32)
    grads = [rng.standard_normal(start.shape).astype(np.float32) for _ in range(3)]
    ours, _ = _adam_steps(start, grads, "float32")
    theirs = torch.tensor(start, requires_grad=True)
    topt = torch.optim.Adam([theirs], lr=0.01)  # the defaults of both
    for g in grads:
        theirs.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_adam_defaults_match_torch(torch):
    grads = _gradients(5)
    _, ours = _run_ours(lambda ps: Adam(ps, lr=0.01), grads)
    theirs = _run_torch(torch, lambda ps: torch.optim.Adam(ps, lr=0.01), grads)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def _late_joiner_steps(make_optimizer, tensor, grad_of):
    """Three steps of two parameters; the second has no gradient on the first step (a layer not yet used)."""
    rng = np.random.default_rng(8)
    starts, grads = rng.normal(size=(2, 4)), rng.normal(size=(3, 2, 4))
    params = [tensor(x) for x in starts]
    opt = make_optimizer(params)
    for step, step_grads in enumerate(grads):
        for i, (p, g) in enumerate(zip(params, step_grads)):
            p.grad = grad_of(g) if (i == 0 or step > 0) else None
        opt.step()
    return starts, grads, params


def test_adam_counts_steps_per_parameter_as_torch_does(torch):
    """A parameter that first gets a gradient on step 2 is bias-corrected as on its own first step."""
    _, _, ours = _late_joiner_steps(lambda ps: Adam(ps, lr=0.1),
                                     lambda x: Tensor(x, requires_grad=True, dtype="float64"),
                                     lambda g: Tensor(g, dtype="float64"))
    _, _, theirs = _late_joiner_steps(lambda ps: torch.optim.Adam(ps, lr=0.1),
                                      lambda x: torch.tensor(x, requires_grad=True), torch.tensor)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_adam_late_parameter_matches_the_formula_from_its_own_first_step():
    starts, grads, params = _late_joiner_steps(lambda ps: Adam(ps, lr=0.1),
                                               lambda x: Tensor(x, requires_grad=True, dtype="float64"),
                                               lambda g: Tensor(g, dtype="float64"))
    np.testing.assert_allclose(params[0].numpy(), _adam_reference(starts[0], grads[:, 0], 0.1), rtol=1e-12)
    np.testing.assert_allclose(params[1].numpy(), _adam_reference(starts[1], grads[1:, 1], 0.1), rtol=1e-12)


def test_adam_state_saved_before_per_parameter_counts_still_loads():
    """Older checkpoints have no counts: each parameter with moments took every step, as they were updated."""
    grads = _gradients(4)
    _, straight = _run_ours(lambda ps: Adam(ps, lr=0.01), grads)
    params = _params()
    opt, _ = _run_ours(lambda ps: Adam(ps, lr=0.01), grads[:2], params)
    state = opt.state_dict()
    assert state["counts"] == {f"{i}.step": 2 for i in range(len(SHAPES))}
    del state["counts"]
    resumed = Adam(params, lr=0.01)
    resumed.load_state_dict(state)
    _run_ours(lambda ps: resumed, grads[2:], params)
    for a, b in zip(straight, params):
        np.testing.assert_array_equal(a, b.numpy())


@pytest.mark.parametrize("size", [1, 4, 5, 23])
def test_adam_in_small_chunks_equals_the_whole_array_update(size, monkeypatch):
    """With a chunk of 5 elements: sizes below, at and across it give exactly the unchunked result."""
    monkeypatch.setattr(cpu_kernels, "enabled", False)  # the NumPy form, which works in chunks
    rng = np.random.default_rng(size)
    start = rng.standard_normal(size)
    grads = [rng.standard_normal(size) for _ in range(3)]
    whole, whole_opt = _adam_steps(start, grads, "float64")
    monkeypatch.setattr(optim, "ADAM_CHUNK", 5)
    chunked, chunked_opt = _adam_steps(start, grads, "float64")
    np.testing.assert_array_equal(chunked, whole)
    np.testing.assert_array_equal(chunked_opt.state[0]["v"], whole_opt.state[0]["v"])


@pytest.mark.skipif(cpu_kernels.load() is None, reason="the compiled update needs numba (pip install .[fast])")
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_compiled_adam_update_equals_the_numpy_one_bit_for_bit(dtype, weight_decay, monkeypatch):
    rng = np.random.default_rng(6)
    start = rng.standard_normal(optim.ADAM_CHUNK + 77)  # past one chunk of the NumPy form
    grads = [rng.standard_normal(start.shape) for _ in range(4)]
    results = []
    for compiled in (True, False):
        monkeypatch.setattr(cpu_kernels, "enabled", compiled)
        param = Tensor(start, requires_grad=True, dtype=dtype)
        opt = Adam([param], lr=0.01, weight_decay=weight_decay)
        for g in grads:
            param.grad = Tensor(g, dtype=dtype)
            opt.step()
        results.append((param.numpy(), opt.state[0]["m"], opt.state[0]["v"]))
    for compiled_array, numpy_array in zip(*results):
        np.testing.assert_array_equal(compiled_array, numpy_array)


def test_adam_with_a_strided_gradient_equals_the_contiguous_one():
    """A transposed (not C-contiguous) gradient takes the unchunked path: the same update."""
    rng = np.random.default_rng(5)
    start, g = rng.standard_normal((40, 30)), rng.standard_normal((30, 40))
    results = []
    for grad in (np.ascontiguousarray(g.T), g.T):
        param = Tensor(start, requires_grad=True, dtype="float64")
        opt = Adam([param], lr=0.01)
        param.grad = Tensor._wrap(grad)
        opt.step()
        results.append(param.numpy())
    assert not g.T.flags.c_contiguous
    np.testing.assert_array_equal(results[0], results[1])


def test_adam_with_changing_lr_matches_torch(torch):
    """The Noam schedule changes lr every step; torch's Adam reads its param group's lr each step."""
    grads = _gradients(6, seed=5)
    rates = [_paper_rate(s, 16, 3, 1.0) for s in range(1, 7)]
    params = _params()
    opt = Adam(params, lr=0.0, betas=(0.9, 0.98), eps=1e-9)
    tparams = [torch.tensor(p.numpy(), requires_grad=True) for p in params]
    topt = torch.optim.Adam(tparams, lr=0.0, betas=(0.9, 0.98), eps=1e-9)
    for rate, step_grads in zip(rates, grads):
        opt.lr = rate
        for group in topt.param_groups:
            group["lr"] = rate
        for p, tp, g in zip(params, tparams, step_grads):
            p.grad, tp.grad = Tensor(g, dtype="float64"), torch.tensor(g)
        opt.step()
        topt.step()
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_parameters_without_gradient_are_left_alone():
    params = _params()
    before = [p.numpy() for p in params]
    params[0].grad = Tensor(np.ones(SHAPES[0]))
    Adam(params, lr=0.1).step()
    assert not np.allclose(params[0].numpy(), before[0])
    for p, b in zip(params[1:], before[1:]):
        np.testing.assert_array_equal(p.numpy(), b)


def test_empty_parameter_list_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)


@pytest.mark.parametrize("make", [
    lambda ps: Adam(ps, lr=0.01),
    lambda ps: SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01),
])
def test_state_dict_round_trip_continues_identically(make):
    grads = _gradients(8, seed=2)
    # uninterrupted: 8 steps
    _, straight = _run_ours(make, grads)
    # 5 steps, state saved, then a fresh optimizer (and fresh parameter objects) continues for 3
    params = _params()
    opt, _ = _run_ours(make, grads[:5], params)
    state = copy.deepcopy(opt.state_dict())
    snapshot = copy.deepcopy(state)
    resumed_params = [Tensor(p.numpy(), requires_grad=True, dtype=p.dtype) for p in params]
    fresh = make(resumed_params)
    fresh.load_state_dict(state)
    for step_grads in grads[5:]:
        for p, g in zip(resumed_params, step_grads):
            p.grad = Tensor(g, dtype=p.dtype)
        fresh.step()
    for a, b in zip(straight, resumed_params):
        np.testing.assert_array_equal(a, b.numpy())
    # the loaded dictionary is not updated in place by the optimizer that loaded it
    assert state.keys() == snapshot.keys()
    for k in state["arrays"]:
        np.testing.assert_array_equal(state["arrays"][k], snapshot["arrays"][k])


def test_load_state_dict_rejects_a_mismatched_state():
    opt, _ = _run_ours(lambda ps: Adam(ps, lr=0.01), _gradients(2))
    state = opt.state_dict()
    other = Adam([Tensor(np.zeros((5, 5)), requires_grad=True)], lr=0.01)
    with pytest.raises(ValueError):
        other.load_state_dict(state)
    negative = dict(state, counts={"-1.step": 2}, arrays={})  # never the last parameter's by Python's indexing
    with pytest.raises(ValueError, match="parameter -1"):
        opt.load_state_dict(negative)


# ---- the Noam schedule -------------------------------------------------------------


def _paper_rate(step, d_model, warmup, factor):
    """lrate = d_model^-0.5 * min(step^-0.5, step * warmup^-1.5) (section 5.3), written piecewise."""
    if step <= warmup:
        return factor * step * warmup**-1.5 / math.sqrt(d_model)
    return factor / math.sqrt(step) / math.sqrt(d_model)


@pytest.mark.parametrize("d_model, warmup, factor", [(512, 4000, 1.0), (64, 200, 2.0), (128, 1000, 0.5)])
def test_noam_rate_matches_the_paper(d_model, warmup, factor):
    opt = SGD(_params(), lr=123.0)
    schedule = NoamSchedule(opt, d_model, warmup=warmup, factor=factor)
    rates = []
    for step in range(1, 3 * warmup + 1):
        lr = schedule.step()
        assert opt.lr == lr
        assert lr == pytest.approx(_paper_rate(step, d_model, warmup, factor), rel=1e-12)
        rates.append(lr)
    rates = np.array(rates)
    assert np.all(np.diff(rates[:warmup]) > 0)  # rises during warmup
    assert int(np.argmax(rates)) + 1 == warmup  # peak at warmup
    assert np.all(np.diff(rates[warmup:]) < 0)  # then decays
    # ~ 1/sqrt(step) after warmup: rate(4w) = rate(w) / 2
    assert schedule.rate(4 * warmup) == pytest.approx(schedule.rate(warmup) / 2, rel=1e-12)


def test_noam_state_dict_round_trip():
    a = NoamSchedule(SGD(_params(), lr=0.0), 64, warmup=10, factor=2.0)
    for _ in range(7):
        a.step()
    b_opt = SGD(_params(), lr=0.0)
    b = NoamSchedule(b_opt, 1, warmup=1, factor=1.0)
    b.load_state_dict(a.state_dict())
    assert b.step() == a.step()
    assert b_opt.lr == pytest.approx(_paper_rate(8, 64, 10, 2.0), rel=1e-12)


@pytest.mark.parametrize("warmup, total", [(300, 900), (5, 6), (10, 40)])
def test_linear_decay_falls_in_a_straight_line_from_the_peak(warmup, total):
    d_model, factor = 128, 1.5
    schedule = NoamSchedule(SGD(_params(), lr=0.0), d_model, warmup=warmup, factor=factor, decay="linear",
                            total_steps=total)
    rates = np.array([schedule.step() for _ in range(total + 5)])
    peak = _paper_rate(warmup, d_model, warmup, factor)
    for step in range(1, warmup + 1):  # the warm-up is the paper's
        assert rates[step - 1] == pytest.approx(_paper_rate(step, d_model, warmup, factor), rel=1e-12)
    after = rates[warmup:total]  # steps warmup+1 .. total
    expected = peak * np.arange(total - warmup, 0, -1) / (total - warmup + 1)
    np.testing.assert_allclose(after, expected, rtol=1e-12)
    assert rates[total - 1] == pytest.approx(peak / (total - warmup + 1), rel=1e-12)  # the last update still moves
    np.testing.assert_allclose(rates[total:], rates[total - 1], rtol=1e-12)  # beyond the end it stays there
    assert int(np.argmax(rates)) + 1 == warmup


def test_linear_decay_with_the_warmup_past_the_end_never_divides_by_zero():
    schedule = NoamSchedule(SGD(_params(), lr=0.0), 64, warmup=10, decay="linear", total_steps=4)
    rates = [schedule.step() for _ in range(12)]
    assert all(math.isfinite(r) and r > 0 for r in rates)
    assert rates[10] == rates[11] == pytest.approx(_paper_rate(10, 64, 10, 1.0) / 1, rel=1e-12)


def test_schedule_refuses_an_unknown_decay_or_a_line_without_an_end():
    with pytest.raises(ValueError, match="decay: expected one of inverse_sqrt, linear"):
        NoamSchedule(SGD(_params(), lr=0.0), 64, decay="cosine")
    with pytest.raises(ValueError, match="total_steps"):
        NoamSchedule(SGD(_params(), lr=0.0), 64, decay="linear")


def test_linear_decay_state_round_trip_and_older_states_decay_as_the_paper():
    a = NoamSchedule(SGD(_params(), lr=0.0), 64, warmup=10, factor=2.0, decay="linear", total_steps=30)
    for _ in range(17):
        a.step()
    b = NoamSchedule(SGD(_params(), lr=0.0), 1, warmup=1)
    b.load_state_dict(a.state_dict())
    assert [b.step() for _ in range(15)] == [a.step() for _ in range(15)]
    older = {k: v for k, v in a.state_dict().items() if k not in ("decay", "total_steps")}
    c = NoamSchedule(SGD(_params(), lr=0.0), 1, warmup=1)
    c.load_state_dict(older)
    assert c.decay == "inverse_sqrt"
    assert c.step() == pytest.approx(_paper_rate(a.steps + 1, 64, 10, 2.0), rel=1e-12)


# ---- clipping ----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("max_norm", [0.5, 1.0, 100.0])
def test_clip_grad_norm_matches_torch(torch, dtype, max_norm):
    rng = np.random.default_rng(int(max_norm * 10))
    grads = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    params = [Tensor(np.zeros(s), requires_grad=True, dtype=dtype) for s in SHAPES]
    for p, g in zip(params, grads):
        p.grad = Tensor(g, dtype=dtype)
    no_grad = Tensor(np.zeros(3), requires_grad=True, dtype=dtype)  # skipped: it has no gradient
    total = clip_grad_norm(params + [no_grad], max_norm)

    tparams = [torch.zeros(s, dtype=getattr(torch, dtype), requires_grad=True) for s in SHAPES]
    for p, g in zip(tparams, grads):
        p.grad = torch.tensor(g)
    ttotal = torch.nn.utils.clip_grad_norm_(tparams, max_norm)

    tol = 1e-6 if dtype == "float32" else 1e-12
    assert float(total) == pytest.approx(float(ttotal), rel=tol)
    for p, tp in zip(params, tparams):
        assert p.grad.dtype == np.dtype(dtype)
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=tol, atol=tol)
    assert no_grad.grad is None


def test_clip_does_not_write_through_a_shared_gradient_array():
    shared = np.full(4, 3.0)
    a, b = Tensor(np.zeros(4), requires_grad=True), Tensor(np.zeros(4), requires_grad=True)
    a.grad = Tensor._wrap(shared)
    b.grad = Tensor._wrap(shared)
    clip_grad_norm([a, b], 1.0)
    np.testing.assert_array_equal(shared, np.full(4, 3.0))
    expected = 3.0 / (math.sqrt(8 * 9.0) + 1e-6)
    np.testing.assert_allclose(a.grad.numpy(), np.full(4, expected), rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), np.full(4, expected), rtol=1e-6)
