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

Gradients travel as backend arrays, so each line of an op's backward is one
NumPy/CuPy call and nothing is recorded. With `create_graph=True` they travel
as Tensors instead, the same backward code is recorded op by op, and the
gradients can be differentiated again.
"""
from . import anomaly, backend, grad_mode
from .fit import cast, sum_to, sum_to_array
from .tensor import Tensor, _VersionCounter


class Step:
    """What one backward step did (see `autograd.trace` for a readable record).

    Attributes:
        tensor: the tensor whose gradient this step used.
        ctx: its node (None for a leaf).
        grad_output: the complete gradient of the tensor (a Tensor).
        grad_inputs: the gradient sent to each input (a Tensor, None where none was sent).
        paths: how many uses of the tensor its gradient was summed from.
    """

    __slots__ = ("tensor", "ctx", "_grad_output", "_grad_inputs", "paths")

    def __init__(self, tensor, ctx, grad_output, grad_inputs, paths):
        self.tensor = tensor
        self.ctx = ctx
        self._grad_output = grad_output  # kept as the engine passed them: arrays or Tensors
        self._grad_inputs = grad_inputs
        self.paths = paths

    @property
    def grad_output(self):
        return _as_tensor(self._grad_output)

    @property
    def grad_inputs(self):
        return tuple(None if g is None else _as_tensor(g) for g in self._grad_inputs)


def _as_tensor(value):
    return value if isinstance(value, Tensor) else Tensor._wrap(value)


def _data(value):
    return value.data if isinstance(value, Tensor) else value


def topological_order(root):
    """Tensors that require grad and lead to `root`, each after all of its inputs."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            order.append(tensor)
            continue
        key = id(tensor)
        if key in visited:
            continue
        visited.add(key)
        stack.append((tensor, True))
        ctx = tensor._ctx
        if ctx is not None:
            for inp in ctx.inputs:
                if isinstance(inp, Tensor) and inp._requires_grad and id(inp) not in visited:
                    stack.append((inp, False))
    return order


def _initial_grad(root, grad):
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
    return grad if grad.dtype == root.dtype else grad.astype(root.dtype)


def _fit_array(grad, inp, ctx):
    """Sum an array gradient back to its input's shape and cast it to its dtype."""
    data = inp.data
    if not isinstance(grad, type(data)):  # a Tensor, or a NumPy scalar from a 0-d operation
        grad = ctx.xp.asarray(_data(grad))
    if grad.shape != data.shape:
        try:
            fitted = sum_to_array(grad, data.shape) if grad.ndim >= data.ndim else None
        except ValueError:
            fitted = None
        if fitted is None or fitted.shape != data.shape:
            _raise_bad_shape(ctx, grad.shape, data.shape)
        grad = fitted
    return grad if grad.dtype == data.dtype else grad.astype(data.dtype)


def _fit_tensor(grad, inp, ctx):
    """The same for a recorded backward: the fitting is recorded too."""
    grad = _as_tensor(grad)
    if grad.shape != inp.shape:
        if grad.ndim < inp.ndim:
            _raise_bad_shape(ctx, grad.shape, inp.shape)
        grad = sum_to(grad, inp.shape)
        if grad.shape != inp.shape:
            _raise_bad_shape(ctx, grad.shape, inp.shape)
    return cast(grad, inp.dtype)


def _raise_bad_shape(ctx, got, expected):
    raise RuntimeError(
        f"backward of op '{ctx.name}' returned a gradient of shape {tuple(got)} "
        f"for an input of shape {tuple(expected)}"
    )


def backward_steps(root, grad=None, retain_graph=False, create_graph=False):
    """Yield a `Step` for each tensor as backward reaches it, doing the work as it goes.

    Gradients flow as backend arrays; with `create_graph` they flow as Tensors
    and every operation on them is recorded. Consuming every step has exactly
    the effect of `root.backward(...)`. Grad mode is switched only inside a
    step, where Tensor operations could see it (a recorded backward, a hook, a
    `tensor_backward` op), so code run between steps is unaffected.
    """
    # As in PyTorch, create_graph implies retain_graph: the gradients it records
    # refer to this graph's saved tensors, which a second backward needs.
    retain_graph = retain_graph or create_graph
    first = _initial_grad(root, grad)
    grads = {id(root): first if create_graph else first.data}
    paths = {id(root): 1}
    for tensor in reversed(topological_order(root)):
        g = grads.pop(id(tensor), None)
        if g is None:
            continue
        if create_graph:
            with grad_mode.enable_grad():  # record this step's backward
                step = _step(tensor, g, grads, paths, retain_graph, create_graph)
        else:  # array work records nothing, whatever the grad mode
            step = _step(tensor, g, grads, paths, retain_graph, create_graph)
        yield step


def _step(tensor, g, grads, paths, retain_graph, create_graph):
    if tensor._hooks:
        g = _run_hooks(tensor, g, create_graph)
    ctx = tensor._ctx
    if ctx is None or tensor._retains_grad:
        _store_grad(tensor, g, create_graph)
    if ctx is None:
        return Step(tensor, None, g, (), paths.pop(id(tensor)))
    if ctx._versions is not None and ctx._changes_seen != _VersionCounter.changes:  # something changed in place
        _check_versions(ctx, tensor)
    check = anomaly.is_anomaly_enabled()
    if not retain_graph:
        ctx.last_use = True  # the saved values are freed right after: the op may overwrite its own
    results = _call_backward(ctx, tensor, g, create_graph, check)
    fit = _fit_tensor if create_graph else _fit_array
    sent = []
    for inp, gi in zip(ctx.inputs, results):
        if gi is None or not (isinstance(inp, Tensor) and inp._requires_grad):
            sent.append(None)
            continue
        data = inp.data
        if type(gi) is not type(data) or gi.shape != data.shape or gi.dtype != data.dtype:
            gi = fit(gi, inp, ctx)  # anything but an array that already fits
        sent.append(gi)
        key = id(inp)
        uses = paths.get(key, 0)
        if uses == 0:
            grads[key] = gi
        elif uses >= 2 and not create_graph:
            grads[key] += gi  # in place: a sum of two or more is the engine's own array, seen by no op
        else:
            grads[key] = _add(grads[key], gi, ctx.xp)  # a new array (recorded under create_graph)
        paths[key] = uses + 1
    if check:
        anomaly.check_backward(ctx, _data(g), [None if s is None else _data(s) for s in sent])
    if not retain_graph:
        ctx.free()  # the saved arrays go now, not when the whole graph is dropped
    return Step(tensor, ctx, g, tuple(sent), paths.pop(id(tensor)))


def _check_versions(ctx, output):
    """Raise if a tensor this op saved for backward was changed in place after forward.

    Each saved tensor's version was noted in forward (`Function.apply`); a
    moved version means its values were changed in place, and a gradient from
    them would belong to values the forward never saw. Only a changed tensor
    whose memory the op actually saved counts: Linear's bias may change, its
    weight may not. The engine's own in-place work (summing gradients, ops
    reusing their own buffers) changes no tensor and needs no check.
    """
    tensors = ctx.inputs + (output,)
    for i, (t, seen) in enumerate(zip(tensors, ctx._versions)):
        if seen is None or t._version == seen:
            continue
        array = ctx._raw[i] if i < len(ctx._raw) else t._data
        if _saved_memory_of(ctx, array):
            which = "its output" if t is output else f"its input {i}"
            named = f" '{t.name}'" if t.name else ""
            where = f" (in {ctx.module})" if ctx.module else ""
            raise RuntimeError(
                f"backward of op '{ctx.name}'{where}: one of the variables needed for gradient computation "
                f"has been modified by an inplace operation: {which}{named}, a tensor of shape {t.shape} and "
                f"dtype {t.dtype}, is at version {t._version}; expected version {seen}. It was changed after "
                "the forward pass saved it (a .data assignment, an optimizer step, bump_version()); "
                "call backward() before changing it, or run the forward pass again"
            )


def _saved_memory_of(ctx, array):
    """Whether any array the op saved for backward shares memory with `array`."""
    for value in ctx._saved:
        if hasattr(value, "shape") and ctx.xp.may_share_memory(value, array):
            return True
    return False


def _call_backward(ctx, output, g, create_graph, check_anomaly):
    """Run the op's backward on arrays, or on Tensors when the backward itself is recorded
    (or the op asks for Tensors with `tensor_backward`)."""
    if create_graph and ctx.fn.once_differentiable:
        raise RuntimeError(
            f"create_graph=True: op '{ctx.name}' has a backward that is not itself "
            "differentiable; use its composed form (e.g. fused=False) for second derivatives"
        )
    if not (create_graph or ctx.fn.tensor_backward):
        try:
            results = _run_backward(ctx, g, check_anomaly)
        except AttributeError as e:  # most likely a Tensor-only method called on an array
            raise AttributeError(
                f"{e} (in the backward of op '{ctx.name}', which ran on {type(g).__module__} arrays: write it "
                "with operators and ctx.F functions, or set tensor_backward = True on the Function to get Tensors)"
            ).with_traceback(e.__traceback__) from None
    else:
        ctx.recording, ctx._output = True, output  # saved arrays come back as Tensors
        try:
            with grad_mode.enable_grad() if create_graph else grad_mode.no_grad():
                results = _run_backward(ctx, _as_tensor(g), check_anomaly)
        finally:
            ctx.recording, ctx._output = False, None
    return results if isinstance(results, tuple) else (results,)


def _run_backward(ctx, g, check_anomaly):
    if check_anomaly:
        with anomaly.backward_of(ctx):
            return ctx.fn.backward(ctx, g)
    return ctx.fn.backward(ctx, g)


def _run_hooks(tensor, g, create_graph):
    """Call the tensor's hooks on its gradient (as a Tensor); one may return a replacement.

    A hook's own Tensor operations are recorded only under create_graph.
    """
    g = _as_tensor(g)
    with grad_mode.enable_grad() if create_graph else grad_mode.no_grad():
        for hook in tensor._hooks:
            replaced = hook(g)
            g = g if replaced is None else _as_tensor(replaced)
    return g if create_graph else g.data


def _store_grad(tensor, g, create_graph):
    """Add the gradient into `.grad` (recorded only under create_graph)."""
    if create_graph:
        tensor.grad = g if tensor.grad is None else tensor.grad + g
    else:
        if tensor.grad is not None:
            g = _add(tensor.grad.data, g, backend.xp_for(tensor.device))
        tensor.grad = Tensor._wrap(g)


def _add(total, grad, xp):
    """total + grad; for arrays, kept an array (NumPy makes the sum of two 0-d arrays a scalar)."""
    total = total + grad
    return total if isinstance(total, Tensor) or total.ndim else xp.asarray(total)


def backward(root, grad=None, retain_graph=False, create_graph=False):
    """Run every backward step (see `Tensor.backward`)."""
    for _ in backward_steps(root, grad, retain_graph, create_graph):
        pass
