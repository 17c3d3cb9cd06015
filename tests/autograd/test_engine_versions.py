"""In-place changes between forward and backward: each tensor's version counter, checked by backward.

As in PyTorch, every op that saves a tensor for backward remembers its version,
and backward raises, naming the op and the tensor, when the version has moved.
The engine's own in-place work (summing gradients, ops reusing their own saved
buffers on the last backward) changes no tensor and must not raise.
"""
import numpy as np
import pytest

import ops
from autograd import Tensor
from tinygrad_tf import nn, optim

INPLACE = r"one of the variables needed for gradient computation has been modified by an inplace operation"


def test_data_assignment_bumps_the_version(device):
    x = Tensor([1.0, 2.0], device=device)
    assert x._version == 0
    x.data = x.data * 2
    x.data = x.data + 1
    assert x._version == 2


def test_changing_a_saved_input_raises_naming_op_tensor_and_versions(device):
    w = Tensor(np.ones((2, 3)), requires_grad=True, device=device)
    w.name = "proj.weight"
    x = Tensor(np.ones((4, 2)), requires_grad=True, device=device)
    loss = (x @ w).sum()
    w.data = w.data * 2
    w.data = w.data * 2
    with pytest.raises(RuntimeError, match=INPLACE) as info:
        loss.backward()
    message = str(info.value)
    for fragment in ("'matmul'", "input 1 'proj.weight'", "(2, 3)", "version 2; expected version 0"):
        assert fragment in message, message


def test_named_parameter_appears_in_the_error(device):
    layer = nn.Linear(2, 3).to(device)
    loss = layer(Tensor(np.ones((4, 2)), device=device)).sum()
    layer.weight.data = layer.weight.data + 1
    with pytest.raises(RuntimeError, match=rf"'linear'.*{INPLACE}.*input 1 'weight'.*\(3, 2\)"):
        loss.backward()


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("make_optimizer", [lambda p: optim.SGD(p, lr=0.1), lambda p: optim.Adam(p, lr=0.1)],
                         ids=["sgd", "adam"])
def test_an_optimizer_step_between_forward_and_backward_raises(make_optimizer, fused, device):
    layer = nn.Linear(2, 3, fused=fused).to(device)
    opt = make_optimizer(layer.parameters())
    x = Tensor(np.ones((4, 2)), device=device)
    layer(x).sum().backward()
    loss = layer(x).sum()  # a second forward: its graph saved the weight at this version
    opt.step()             # changes the weight in place (through a transposed view when unfused)
    with pytest.raises(RuntimeError, match=INPLACE):
        loss.backward()


def test_the_usual_training_order_never_raises_and_matches_torch(device, torch):
    rng = np.random.default_rng(0)
    w0, x0 = rng.standard_normal((3, 2)), rng.standard_normal((4, 2))
    w = Tensor(w0, dtype="float64", requires_grad=True, device=device)
    tw = torch.tensor(w0, requires_grad=True)
    opt, topt = optim.SGD([w], lr=0.1, momentum=0.9), torch.optim.SGD([tw], lr=0.1, momentum=0.9)
    for _ in range(3):
        opt.zero_grad()
        topt.zero_grad()
        ((Tensor(x0, dtype="float64", device=device) @ w.T) ** 2).sum().backward()
        ((torch.tensor(x0) @ tw.T) ** 2).sum().backward()
        opt.step()
        topt.step()
    assert w._version == 3
    np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), rtol=1e-12)


def test_changing_an_input_the_op_did_not_save_is_fine(device):
    # linear saves x and the weight, not the bias; add saves nothing
    w = Tensor(np.ones((3, 2)), requires_grad=True, device=device)
    b = Tensor(np.zeros(3), requires_grad=True, device=device)
    y = Tensor([1.0, 2.0], requires_grad=True, device=device)
    loss = ops.linear(Tensor(np.ones((4, 2)), device=device), w, b).sum() + (y + 1.0).sum()
    b.data = b.data + 5
    y.data = y.data * 3
    loss.backward()
    np.testing.assert_allclose(w.grad.numpy(), 4.0)
    np.testing.assert_allclose(b.grad.numpy(), 4.0)
    np.testing.assert_allclose(y.grad.numpy(), 1.0)


def test_assigning_new_data_leaves_views_of_the_old_values_valid(device):
    # w.T still views the old array, which did not change: its gradient is still right
    w = Tensor(np.ones((3, 2)), requires_grad=True, device=device)
    loss = (Tensor(np.ones((4, 2)), device=device) @ w.T).sum()
    w.data = w.data * 2
    loss.backward()
    np.testing.assert_allclose(w.grad.numpy(), 4.0)


def test_a_saved_output_changed_in_place_is_named_as_the_output(device):
    x = Tensor([1.0, 2.0], requires_grad=True, device=device)
    y = x.exp()  # exp saves its output
    loss = y.sum()
    y.data[...] = 0.0
    y.bump_version()  # a write into the array itself: announced by hand (see Tensor.bump_version)
    with pytest.raises(RuntimeError, match=rf"'exp'.*{INPLACE}.*its output"):
        loss.backward()


def test_views_and_detached_tensors_share_the_version_counter(device):
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, device=device)
    d = x.detach()
    v = x.reshape(3, 2)
    loss = (v * v).sum()
    d.data[...] += 1
    d.bump_version()  # through the detached twin: x and its view v see the change
    assert x._version == 1 and v._version == 1
    with pytest.raises(RuntimeError, match=rf"'mul'.*{INPLACE}"):
        loss.backward()


def test_a_retained_graph_is_checked_again_on_the_second_backward(device):
    x = Tensor([1.0, 2.0], requires_grad=True, device=device)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    x.data = x.data + 1
    with pytest.raises(RuntimeError, match=INPLACE):
        loss.backward()


@pytest.mark.parametrize("retain", [False, True])
def test_engine_in_place_work_does_not_raise(retain, device, torch):
    # a tensor used by several ops (gradients summed in place), and the ops that overwrite their own
    # saved buffers on the last backward (layer norm, cross-entropy): no version moves, no error
    rng = np.random.default_rng(1)
    x0, g0, logits_w = rng.standard_normal((4, 5)), rng.standard_normal(5), rng.standard_normal((5, 3))
    targets = np.array([0, 2, 1, 2])

    def run(T, ln, ce, tensor):
        x = tensor(x0, requires_grad=True)
        g = tensor(g0, requires_grad=True)
        h = ln(x + x * 2 + x, g)
        loss = ce(h @ tensor(logits_w), tensor(targets))
        return x, g, loss

    x, g, loss = run(Tensor, lambda x, g: ops.layer_norm(x, g, None), ops.cross_entropy,
                     lambda a, **k: Tensor(a, dtype="float64" if a.dtype.kind == "f" else None, device=device, **k))
    loss.backward(retain_graph=retain)
    F = torch.nn.functional
    tx, tg, tloss = run(torch, lambda x, g: F.layer_norm(x, (5,), g, None), F.cross_entropy,
                        lambda a, **k: torch.tensor(a, **k))
    tloss.backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(g.grad.numpy(), tg.grad.numpy(), rtol=1e-10)
