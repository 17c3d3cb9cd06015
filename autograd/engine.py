"""Backpropagation: walk the recorded graph from an output back to its leaves.

`backward_steps` is the whole algorithm and runs one node per step, so a
learner (and `autograd.trace`) can watch it; `backward` just runs every step.

1. Order the nodes so that each comes after every node that uses it
   (an iterative depth-first search: deep graphs must not hit Python's
   recursion limit).
2. Start with d(out)/d(out) = 1 (or the gradient given).
3. Visit nodes from the output down. A node's gradient is complete once every
   node that used it has been visited, which the order guarantees. Call its
   op's backward, fit each input gradient to the input's shape and dtype
   (unbroadcasting happens here, once for all ops) and add it to what that
   input has collected so far.
4. Leaves that require grad add their gradient to `.grad`.
"""
from . import anomaly, backend, grad_mode
from .fit import cast, sum_to


class Step:
    """What one backward step did (see `autograd.trace` for a readable record).

    Attributes:
        tensor: the tensor whose gradient this step used.
        ctx: its node (None for a leaf).
        grad_output: the complete gradient of the tensor.
        grad_inputs: the gradient sent to each input (None where none was sent).
        paths: how many uses of the tensor its gradient was summed from.
    """

    __slots__ = ("tensor", "ctx", "grad_output", "grad_inputs", "paths")

    def __init__(self, tensor, ctx, grad_output, grad_inputs, paths):
        self.tensor = tensor
        self.ctx = ctx
        self.grad_output = grad_output
        self.grad_inputs = grad_inputs
        self.paths = paths


def topological_order(root):
    """Tensors that require grad and lead to `root`, each after all of its inputs."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        if tensor._ctx is not None:
            for inp in tensor._ctx.inputs:
                if getattr(inp, "requires_grad", False) and id(inp) not in visited:
                    stack.append((inp, False))
    return order


def _initial_grad(root, grad):
    from .tensor import Tensor

    if not root.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad; create the inputs with "
            "requires_grad=True (and not under no_grad())"
        )
    if grad is None:
        if root.size != 1:
            raise RuntimeError(
                f"backward: grad can be omitted only for a single value, but the output has "
                f"shape {root.shape}; reduce it first (e.g. .sum()) or pass grad= of that shape"
            )
        return Tensor._wrap(backend.xp_for(root.device).ones_like(root.data))
    grad = grad if isinstance(grad, Tensor) else Tensor(grad, dtype=root.dtype, device=root.device)
    if grad.shape != root.shape:
        raise ValueError(f"backward: grad has shape {grad.shape} but the output has shape {root.shape}")
    return grad


def _fit(grad, inp, ctx):
    """Sum a gradient back to its input's shape and cast it to its dtype."""
    from .tensor import Tensor

    if not isinstance(grad, Tensor):
        grad = Tensor._wrap(grad)
    if grad.data.shape == inp.data.shape and grad.data.dtype == inp.data.dtype:
        return grad  # the common case: nothing to fit
    grad = cast(sum_to(grad, inp.shape), inp.dtype)
    if grad.shape != inp.shape:
        raise RuntimeError(f"backward of op '{ctx.name}' returned a gradient of shape {grad.shape} for an input of shape {inp.shape}")
    return grad


def _accumulate(total, grad, create_graph):
    """total + grad: recorded as an op only when the backward pass itself is being recorded."""
    if create_graph:
        return total + grad
    from .tensor import Tensor

    return Tensor._wrap(total.data + grad.data)


def backward_steps(root, grad=None, retain_graph=False, create_graph=False):
    """Yield a `Step` for each tensor as backward reaches it, doing the work as it goes.

    Consuming every step has exactly the effect of `root.backward(...)`. Grad
    mode is switched only inside each step, so code run between steps is unaffected.
    """
    # As in PyTorch, create_graph implies retain_graph: the gradients it records
    # refer to this graph's saved tensors, which a second backward needs.
    retain_graph = retain_graph or create_graph
    grads = {id(root): _initial_grad(root, grad)}
    paths = {id(root): 1}
    for tensor in reversed(topological_order(root)):
        g = grads.pop(id(tensor), None)
        if g is None:
            continue
        previous = grad_mode.is_grad_enabled()
        grad_mode.set_grad_enabled(create_graph)  # record the backward pass only for create_graph
        try:
            step = _step(tensor, g, grads, paths, retain_graph, create_graph)
        finally:
            grad_mode.set_grad_enabled(previous)
        yield step


def _step(tensor, g, grads, paths, retain_graph, create_graph):
    for hook in tensor._hooks or ():
        replaced = hook(g)
        g = g if replaced is None else replaced
    ctx = tensor._ctx
    if ctx is None or tensor._retains_grad:
        stored = g if create_graph else g.detach()
        tensor.grad = stored if tensor.grad is None else _accumulate(tensor.grad, stored, create_graph)
    if ctx is None:
        return Step(tensor, None, g, (), paths.pop(id(tensor)))
    if create_graph and ctx.fn.once_differentiable:
        raise RuntimeError(
            f"create_graph=True: op '{ctx.name}' has a backward that is not itself "
            "differentiable; use its composed form (e.g. fused=False) for second derivatives"
        )
    if anomaly.is_anomaly_enabled():
        with anomaly.backward_of(ctx):
            results = ctx.fn.backward(ctx, g)
    else:
        results = ctx.fn.backward(ctx, g)
    if not isinstance(results, tuple):
        results = (results,)
    sent = []
    for inp, gi in zip(ctx.inputs, results):
        if gi is None or not getattr(inp, "requires_grad", False):
            sent.append(None)
            continue
        gi = _fit(gi, inp, ctx)
        sent.append(gi)
        key = id(inp)
        grads[key] = gi if key not in grads else _accumulate(grads[key], gi, create_graph)
        paths[key] = paths.get(key, 0) + 1
    if anomaly.is_anomaly_enabled():
        anomaly.check_backward(ctx, g, sent)
    if not retain_graph:
        ctx.free()
    return Step(tensor, ctx, g, tuple(sent), paths.pop(id(tensor)))


def backward(root, grad=None, retain_graph=False, create_graph=False):
    """Run every backward step (see `Tensor.backward`)."""
    for _ in backward_steps(root, grad, retain_graph, create_graph):
        pass
