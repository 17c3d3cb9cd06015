"""`Module`: parameters, buffers and child modules, registered by attribute assignment."""
import copy

import numpy as np

from autograd import Tensor, backend, module_scope


class Parameter(Tensor):
    """A Tensor that is a trainable weight of a Module (it always requires grad)."""

    __slots__ = ()

    def __init__(self, data, dtype=None, device=None):
        super().__init__(data, requires_grad=True, dtype=dtype, device=device)

    def __repr__(self):
        return "Parameter(" + super().__repr__()[len("Tensor("):]


def _join(prefix, name):
    return name if not prefix else f"{prefix}.{name}"


class Module:
    """Base class of every layer.

    Assigning a Parameter, a Module or (via `register_buffer`) a constant
    Tensor to an attribute registers it; `state_dict()` keys are the dotted
    attribute paths (`encoder.layers.0.self_attn.q_proj.weight`). Calling a
    module runs `forward` with its dotted path recorded on every graph node
    made inside.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_persistent", set())
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_path", None)
        object.__setattr__(self, "training", True)

    # ---- registration ---------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() before assigning {name!r}")
        if name in self._buffers and isinstance(value, Tensor) and not isinstance(value, Parameter):
            self._buffers[name] = value  # a new tensor for a buffer stays a buffer (as in PyTorch)
            return
        for table in (self._parameters, self._modules, self._buffers):
            table.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
            value.name = _join(self._path, name)
        elif isinstance(value, Module):
            self._modules[name] = value
            value._set_path(_join(self._path, name))
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):  # called only when normal lookup fails
        for table in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(table, {})
            if name in entries:
                return entries[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name, tensor, persistent=True):
        """A non-trainable tensor (e.g. the positional table) that moves with the module.

        Persistent buffers are part of the state dict.
        """
        self.__dict__.pop(name, None)
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers[name] = tensor
        if persistent:
            self._persistent.add(name)
        else:
            self._persistent.discard(name)

    def _set_path(self, path):
        """Record this module's dotted path, and name its parameters after it (graph labels use them)."""
        object.__setattr__(self, "_path", path)
        for name, p in self._parameters.items():
            p.name = _join(path, name)
        for name, child in self._modules.items():
            child._set_path(_join(path, name))

    @property
    def path(self):
        """The dotted path of this module inside the model it belongs to (None at the root)."""
        return self._path

    # ---- calling --------------------------------------------------------
    def __call__(self, *args, **kwargs):
        with module_scope(self._path):
            return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    # ---- walking the tree -----------------------------------------------
    def named_modules(self, prefix=""):
        """(dotted name, module) for this module and every descendant."""
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(_join(prefix, name))

    def modules(self):
        return (m for _, m in self.named_modules())

    def children(self):
        return iter(self._modules.values())

    def named_parameters(self, prefix=""):
        """(dotted name, Parameter) pairs; a parameter shared by two modules appears once."""
        seen = set()
        for module_name, module in self.named_modules(prefix):
            for name, p in module._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield _join(module_name, name), p

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix=""):
        for module_name, module in self.named_modules(prefix):
            for name, b in module._buffers.items():
                yield _join(module_name, name), b

    def num_parameters(self):
        """How many trainable numbers the module has."""
        return sum(p.size for p in self.parameters())

    # ---- state ------------------------------------------------------------
    def _state_entries(self):
        for module_name, module in self.named_modules():
            for name, p in module._parameters.items():
                yield _join(module_name, name), p
            for name, b in module._buffers.items():  # registration order, not the set's
                if name in module._persistent:
                    yield _join(module_name, name), b

    def state_dict(self):
        """Every parameter and persistent buffer as a NumPy array, by dotted name."""
        return {name: t.numpy() for name, t in self._state_entries()}

    def load_state_dict(self, state, strict=True):
        """Copy values from `state` (name -> array) into this module's tensors, in place.

        Raises:
            KeyError: with strict=True, listing every missing and unexpected key.
            ValueError: listing every key whose shape does not match.
        """
        own = dict(self._state_entries())
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        mismatched = [
            f"{k}: checkpoint {tuple(np.shape(state[k]))} vs model {own[k].shape}"
            for k in sorted(set(own) & set(state))
            if tuple(np.shape(state[k])) != own[k].shape
        ]
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise KeyError(f"load_state_dict into {type(self).__name__}: " + "; ".join(problems))
        if mismatched:
            raise ValueError(f"load_state_dict into {type(self).__name__}: shape mismatch: " + "; ".join(mismatched))
        # A tensor shared under several names (tied weights) takes one value: the names must agree.
        names_of = {}
        for name, tensor in own.items():
            if name in state:
                names_of.setdefault(id(tensor), []).append(name)
        for names in names_of.values():
            values = [np.asarray(state[n].numpy() if isinstance(state[n], Tensor) else state[n]) for n in names]
            if any(not np.array_equal(values[0], v) for v in values[1:]):
                raise ValueError(f"load_state_dict into {type(self).__name__}: {', '.join(names)} are one shared "
                                 "(tied) tensor here but have different values in the state dict")
        for name, tensor in own.items():
            if name in state:
                value = state[name]
                array = value.numpy() if isinstance(value, Tensor) else np.asarray(value)
                tensor.data[...] = backend.move(array.astype(tensor.dtype, copy=False), tensor.device)
        return self

    # ---- modes and placement ----------------------------------------------
    def train(self, mode=True):
        """Training mode (dropout active) for this module and its children."""
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        """Evaluation mode (dropout off)."""
        return self.train(False)

    def to(self, device=None, dtype=None):
        """Move (and/or cast) every parameter and buffer in place; Parameter objects keep their identity."""
        device = backend.check_device(device) if device is not None else None
        def convert(data):
            data = data if device is None else backend.move(data, device)
            return data.astype(dtype) if dtype is not None and data.dtype.kind == "f" else data

        for t in list(self.parameters()) + [b for _, b in self.named_buffers()]:
            t.data = convert(t.data)
            if t.grad is not None:
                t.grad = Tensor._wrap(convert(t.grad.data))
        for module in self.modules():
            module._moved(dtype)
        return self

    def _moved(self, dtype):
        """Called on every module after `to()` moved and cast its tensors (to recompute a buffer, say)."""

    def zero_grad(self):
        """Forget every parameter's gradient."""
        for p in self.parameters():
            p.grad = None

    # ---- printing -----------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ")" if not lines else head + "\n  " + "\n  ".join(lines) + "\n)"


class ModuleList(Module):
    """A list of modules, registered as children "0", "1", ..."""

    def __init__(self, modules=()):
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module):
        setattr(self, str(len(self._modules)), module)
        return self

    def __getitem__(self, i):
        return list(self._modules.values())[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


def clones(module, n):
    """A ModuleList of `n` deep copies of `module` (as in the Annotated Transformer).

    Each copy draws fresh initial weights (every submodule with a
    `reset_parameters` method), so the layers of a stack do not start equal.
    """
    copies = [copy.deepcopy(module) for _ in range(n)]
    for c in copies:
        for m in c.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
    return ModuleList(copies)
