"""Elementwise arithmetic and math functions.

Binary ops broadcast like NumPy and promote dtypes like PyTorch
(`autograd.dtypes`); their backward returns gradients in the broadcast shape
and the engine sums them back to each input's shape.
"""
import math

from autograd import Function, Tensor
from autograd.dtypes import floating, promote


class Add(Function):
    rule = "y = a + b:  da = dy,  db = dy"
    commutative = True
    broadcasting = True

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    rule = "y = a − b:  da = dy,  db = −dy"
    broadcasting = True

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad


class Mul(Function):
    rule = "y = a·b:  da = dy·b,  db = dy·a"
    commutative = True
    broadcasting = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad * b if ctx.needs_grad(0) else None, grad * a if ctx.needs_grad(1) else None


class Div(Function):
    rule = "y = a/b:  da = dy/b,  db = −dy·a/b²"
    broadcasting = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        grad_a = grad / b
        return grad_a, (-grad_a * a / b) if ctx.needs_grad(1) else None


class Neg(Function):
    rule = "y = −x:  dx = −dy"

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Pow(Function):
    """a ** b, with PyTorch's gradients at the edges.

    d/da = b * a^(b-1), taken as exactly 0 where b == 0: a^0 is the constant 1,
    even at a == 0, where b * a^(b-1) would be 0 * inf. d/db = a^b log a, taken
    as 0 where a == 0 and b >= 0 (a^b is 0 or 1 there), and left to the formula
    elsewhere (-inf for b < 0, NaN for a < 0), as PyTorch does.
    """
    rule = "y = aᵇ:  da = dy·b·aᵇ⁻¹,  db = dy·aᵇ·ln a"
    broadcasting = True

    @staticmethod
    def forward(ctx, a, b):
        out = a**b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        grad_a = _pow_grad_base(ctx, grad, a, b) if ctx.needs_grad(0) else None
        grad_b = _pow_grad_exponent(ctx, grad, a, b, out) if ctx.needs_grad(1) else None
        return grad_a, grad_b


def _is_number(x):
    return isinstance(x, (int, float))


def _pow_grad_base(ctx, grad, a, b):
    """grad * b * a^(b-1), and 0 where b == 0."""
    F = ctx.F
    if _is_number(b):
        if b == 0:  # x ** 0 is constant: no NaN at x == 0, and no node for a second derivative to trip on
            return _zeros_like(ctx, grad)
        return grad * b * a ** (b - 1)
    # A tensor exponent: where b == 0 the power is taken with exponent 0 instead of -1, so
    # neither this value nor its own derivative (create_graph) meets 0 * inf at a == 0.
    at_zero = b == 0
    return F.where(at_zero, 0.0, grad * b * a ** F.where(at_zero, 0.0, b - 1))


def _zeros_like(ctx, grad):
    """Zeros of grad's shape and dtype: an array, or a constant Tensor in a recorded backward."""
    if ctx.recording:
        return Tensor._wrap(ctx.xp.zeros_like(grad.data))
    return ctx.xp.zeros_like(grad)


def _pow_grad_exponent(ctx, grad, a, b, out):
    """grad * a^b * log a, and 0 where a == 0 and b >= 0."""
    F = ctx.F
    if _is_number(a):  # a number as base: log a is a number too
        if a == 0:
            return F.where(b >= 0, 0.0, grad * out * -math.inf)
        return grad * out * (math.log(a) if a > 0 else math.nan)
    zero_base = (a == 0) & (b >= 0)
    return F.where(zero_base, 0.0, grad * out * F.log(F.where(zero_base, 1.0, a)))


class Exp(Function):
    rule = "y = eˣ:  dx = dy·y"

    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Function):
    rule = "y = ln x:  dx = dy/x"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.log(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / a


class Sqrt(Function):
    rule = "y = √x:  dx = dy/(2y)"

    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad / (2 * out)


class Abs(Function):
    rule = "y = |x|:  dx = dy·sign(x)"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(ctx.xp.sign(a))
        return ctx.xp.abs(a)

    @staticmethod
    def backward(ctx, grad):
        (sign,) = ctx.saved_tensors
        return grad * sign


class _Extremum(Function):
    """maximum / minimum: the gradient goes to the chosen input, split in half on ties."""
    rule = "the gradient goes to the larger (smaller) input; ties split it"
    commutative = True
    broadcasting = True

    pick = None

    @classmethod
    def forward(cls, ctx, a, b):
        xp = ctx.xp
        out = cls.pick(xp, a, b)
        chosen_a = (xp.asarray(a == out) * 1.0 - xp.asarray(a == b) * 0.5).astype(out.dtype)
        ctx.save_for_backward(chosen_a)
        return out

    @staticmethod
    def backward(ctx, grad):
        (share_a,) = ctx.saved_tensors
        return grad * share_a, grad * (1 - share_a)


class Maximum(_Extremum):
    pick = staticmethod(lambda xp, a, b: xp.maximum(a, b))


class Minimum(_Extremum):
    pick = staticmethod(lambda xp, a, b: xp.minimum(a, b))


class Clip(Function):
    rule = "dx = dy where lo ≤ x ≤ hi, else 0"
    broadcasting = True

    @staticmethod
    def forward(ctx, a, low, high):
        xp = ctx.xp
        inside = xp.ones(a.shape, dtype=bool)
        if low is not None:
            inside &= a >= low
        if high is not None:
            inside &= a <= high
        ctx.save_for_backward(inside)
        return xp.clip(a, low, high)

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return grad * inside, None, None


def add(a, b):
    """a + b, broadcasting; dtypes promote as in PyTorch (float32 + int64 -> float32)."""
    return Add.apply(*promote("add", a, b))


def sub(a, b):
    """a - b, broadcasting."""
    return Sub.apply(*promote("sub", a, b))


def mul(a, b):
    """a * b, broadcasting."""
    return Mul.apply(*promote("mul", a, b))


def div(a, b):
    """a / b, broadcasting; true division, so integers give float32 as in PyTorch."""
    return Div.apply(*promote("div", a, b, floating=True))


def neg(a):
    """-a."""
    return Neg.apply(a)


def pow(a, b):
    """a ** b; either may be a tensor."""
    return Pow.apply(*promote("pow", a, b))


def exp(a):
    """e ** a (integers give float32)."""
    return Exp.apply(floating(a))


def log(a):
    """Natural logarithm (integers give float32)."""
    return Log.apply(floating(a))


def sqrt(a):
    """Square root (integers give float32)."""
    return Sqrt.apply(floating(a))


def abs(a):
    """|a|; the gradient at 0 is 0."""
    return Abs.apply(a)


def maximum(a, b):
    """Elementwise maximum; ties share the gradient equally."""
    return Maximum.apply(*promote("maximum", a, b))


def minimum(a, b):
    """Elementwise minimum; ties share the gradient equally."""
    return Minimum.apply(*promote("minimum", a, b))


def clip(a, min=None, max=None):
    """Limit values to [min, max]; the gradient passes where min <= a <= max."""
    return Clip.apply(a, min, max)
