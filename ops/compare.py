"""Comparisons and logic (boolean results, no gradient) and `where`."""
from autograd import Function


class _Compare(Function):
    differentiable = False
    fn = None

    @classmethod
    def forward(cls, ctx, a, b=None):
        return cls.fn(ctx.xp, a, b)


def _comparison(name, fn):
    return type(name, (_Compare,), {"name": name, "fn": staticmethod(fn)})


Equal = _comparison("equal", lambda xp, a, b: xp.equal(a, b))
NotEqual = _comparison("not_equal", lambda xp, a, b: xp.not_equal(a, b))
Less = _comparison("less", lambda xp, a, b: xp.less(a, b))
LessEqual = _comparison("less_equal", lambda xp, a, b: xp.less_equal(a, b))
Greater = _comparison("greater", lambda xp, a, b: xp.greater(a, b))
GreaterEqual = _comparison("greater_equal", lambda xp, a, b: xp.greater_equal(a, b))
LogicalAnd = _comparison("logical_and", lambda xp, a, b: xp.logical_and(a, b))
LogicalOr = _comparison("logical_or", lambda xp, a, b: xp.logical_or(a, b))
LogicalNot = _comparison("logical_not", lambda xp, a, b: xp.logical_not(a))


class Where(Function):
    rule = "y = where(c, a, b):  da = where(c, dy, 0),  db = where(c, 0, dy)"
    broadcasting = True

    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.save_for_backward(condition)
        return ctx.xp.where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        (condition,) = ctx.saved_tensors
        F = ctx.F
        grad_a = F.where(condition, grad, 0.0) if ctx.needs_grad(1) else None
        grad_b = F.where(condition, 0.0, grad) if ctx.needs_grad(2) else None  # attention's -inf needs none
        return None, grad_a, grad_b


def equal(a, b): return Equal.apply(a, b)
def not_equal(a, b): return NotEqual.apply(a, b)
def less(a, b): return Less.apply(a, b)
def less_equal(a, b): return LessEqual.apply(a, b)
def greater(a, b): return Greater.apply(a, b)
def greater_equal(a, b): return GreaterEqual.apply(a, b)
def logical_and(a, b): return LogicalAnd.apply(a, b)
def logical_or(a, b): return LogicalOr.apply(a, b)
def logical_not(a): return LogicalNot.apply(a)


def where(condition, a, b):
    """`a` where `condition` is True, else `b` (broadcasting); gradients follow the choice.

    Raises:
        TypeError: `condition` is None (an attention given no mask must leave the `where` out, not
            have every score replaced).
    """
    if condition is None:
        raise TypeError("where: the condition (the mask) is None; pass a boolean array or Tensor, or "
                        "leave the where out when there is no mask")
    return Where.apply(condition, a, b)
