"""The dtype of a binary op's result: PyTorch's type promotion.

NumPy and PyTorch disagree here (NumPy makes float32 + int64 float64), and the
numbers must match PyTorch's, so the arithmetic ops promote their operands
here before NumPy sees them:

- Dtypes fall in categories, bool < integer < floating. The result takes the
  highest category among the operands; within one category the wider dtype
  wins (int32 + int64 -> int64, float32 + float64 -> float64). Across
  categories the higher category's dtype is kept: float32 + int64 -> float32.
- Operands count in three tiers: tensors with dimensions, then 0-d tensors,
  then Python numbers. A lower tier only counts when it brings a higher
  category: float32 + 0-d float64 -> float32, int64 + 0-d float64 -> float64,
  float32 + 2.5 -> float32, int64 + 2.5 -> float32 (the default float dtype).
- A Python list is a tensor as `Tensor(list)` makes it (float32, int64 or
  bool); a NumPy number is a Python number, as in PyTorch.
"""
import functools

import numpy as np

from . import lifting
from .core import Tensor

DEFAULT_FLOAT = np.dtype(np.float32)
_NUMBER_DTYPES = {bool: np.dtype(np.bool_), int: np.dtype(np.int64), float: DEFAULT_FLOAT}
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def _category(dtype):
    return _CATEGORY[dtype.kind]


def promote_types(a, b):
    """The dtype of an op on two tensors of dtypes `a` and `b` (PyTorch's `torch.promote_types`)."""
    ca, cb = _category(a), _category(b)
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def result_type(*operands):
    """The dtype PyTorch gives an elementwise op on `operands` (Tensors and Python numbers)."""
    tiers = ([], [], [])  # tensors with dimensions, 0-d tensors, Python numbers
    for x in operands:
        if isinstance(x, Tensor):
            tiers[0 if x.ndim else 1].append(x.dtype)
        else:
            tiers[2].append(_NUMBER_DTYPES[type(x)])
    result = None
    for dtypes in tiers:
        if dtypes:
            candidate = functools.reduce(promote_types, dtypes)
            if result is None or _category(candidate) > _category(result):
                result = candidate  # for Python numbers, their category's default dtype
    return result


def promote(op, a, b, floating=False):
    """`a` and `b` made ready for the binary op `op`: both of the result's dtype.

    Lists and NumPy arrays become Tensors, Tensors of another dtype are cast
    (differentiably), Python numbers stay numbers (NumPy then keeps the
    tensor's dtype). `floating=True` is true division: an integer or bool
    result becomes float32, as in PyTorch.

    Raises:
        TypeError: naming `op`, the Tensor's shape and dtype and the other
            operand's type, for an operand that is no number, list or array.
    """
    # The common cases first, in a few attribute reads: two tensors of one dtype,
    # or a floating tensor and a Python number (which never promotes it).
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            if a._data.dtype == b._data.dtype and (not floating or a._data.dtype.kind == "f"):
                return a, b
        elif type(b) in _NUMBER_DTYPES and a._data.dtype.kind == "f":
            return a, b
    elif isinstance(b, Tensor) and type(a) in _NUMBER_DTYPES and b._data.dtype.kind == "f":
        return a, b
    a, b = _operand(op, a, b), _operand(op, b, a)
    dtype = result_type(a, b)
    if floating and dtype.kind != "f":
        dtype = DEFAULT_FLOAT
    return _as_dtype(a, dtype), _as_dtype(b, dtype)


def floating(x):
    """`x` cast to float32 when it holds integers or booleans: for math whose results are fractions
    (exp, mean, softmax, ...), which PyTorch computes in its default float dtype too.

    An array or a list becomes a Tensor first, on the device of its data, as the op would make it.
    """
    if not isinstance(x, Tensor) and (isinstance(x, (list, tuple)) or lifting.is_array(x)):
        x = Tensor(x)
    return x.astype(DEFAULT_FLOAT) if isinstance(x, Tensor) and x.dtype.kind != "f" else x


def _operand(op, x, other):
    """`x` as a Tensor or a Python number, on `other`'s device; a TypeError for anything else."""
    if isinstance(x, Tensor) or type(x) in _NUMBER_DTYPES:
        return x
    if isinstance(x, np.generic) and x.dtype.kind in _CATEGORY:  # np.float64(2) is a Python float
        return x.item()
    if isinstance(x, (list, tuple)):
        try:
            return Tensor(x, device=other.device if isinstance(other, Tensor) else None)
        except (TypeError, ValueError) as e:
            _raise_unsupported(op, x, other, f" ({e})")
    if lifting.is_array(x) and x.dtype.kind in _CATEGORY:
        return lifting.lift_arrays((x, other), Tensor)[0]  # a floating array takes the tensor's float dtype
    _raise_unsupported(op, x, other)


def _as_dtype(x, dtype):
    return x.astype(dtype) if isinstance(x, Tensor) else x


def _describe(x):
    if isinstance(x, Tensor):
        return f"Tensor of shape {x.shape} and dtype {x.dtype}"
    return type(x).__name__


def _raise_unsupported(op, x, other, detail=""):
    raise TypeError(
        f"{op}: unsupported operand types: a {_describe(other)} and a {type(x).__name__} ({x!r:.40}); "
        f"an operand must be a Tensor, a number, a list of numbers or an array{detail}"
    )
