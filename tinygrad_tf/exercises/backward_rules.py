"""The four backward exercises: each op's cases, what the learner's function is given, and its stand-in.

Each spec says, for one op:

- `cases(rng)`: {check title: [Case]} at small and at odd shapes, and
  `gradient_cases(rng)`: small ones for finite differences;
- `forward(case)`: the op on Tensors (the reference is the engine's readable
  form of it; the finite differences differentiate it);
- `arguments(case, output)`: what the learner's function is called with;
- `stand_in(call)`: a subclass of the readable Function whose backward calls
  the learner's function (through `call`, which checks what it returns), to
  run inside the model (`module`: where; None: everywhere).
"""
from dataclasses import dataclass, field

import numpy as np

import ops
from ops.loss import CrossEntropy
from ops.matmul import MatMul
from ops.normalization import LayerNorm
from ops.softmax import Softmax


@dataclass
class Case:
    """One input of a check: the op's differentiable inputs, the gradient reaching its output, its settings."""

    label: str
    arrays: tuple
    dy: np.ndarray
    settings: dict = field(default_factory=dict)


def _normal(rng, *shape, scale=1.0):
    return rng.normal(size=shape) * scale


class SoftmaxRule:
    exercise, outputs, op, module = "softmax", ("dx",), Softmax, "encoder.layers.0.self_attn"

    def cases(self, rng):
        def case(label, x, axis=-1):
            return Case(label, (x,), _normal(rng, *x.shape), dict(axis=axis))

        masked = _normal(rng, 3, 4)
        masked[1] = -np.inf  # a query that may attend to nothing: y = 0 there
        return {
            "small shapes": [case("(2, 3)", _normal(rng, 2, 3)), case("(3, 4, 5)", _normal(rng, 3, 4, 5))],
            "odd shapes": [case("a single row (1, 7)", _normal(rng, 1, 7)),
                           case("along axis 0 of (4, 3)", _normal(rng, 4, 3), axis=0),
                           case("a fully masked row", masked),
                           case("nearly one-hot rows (scores x 20)", _normal(rng, 2, 6, scale=20.0))],
        }

    def gradient_cases(self, rng):
        return [Case("(2, 5)", (_normal(rng, 2, 5),), _normal(rng, 2, 5), dict(axis=-1)),
                Case("(3, 4) along axis 0", (_normal(rng, 3, 4),), _normal(rng, 3, 4), dict(axis=0))]

    def forward(self, case):
        return lambda x: ops.softmax(x, case.settings["axis"])

    def arguments(self, case, y):
        return y, case.dy, case.settings["axis"]

    def stand_in(self, call):
        class LearnersSoftmax(Softmax):
            @staticmethod
            def backward(ctx, grad):
                (y,) = ctx.saved_tensors
                return call((y, grad, ctx.axis), (y.shape,))[0], None
        return LearnersSoftmax


class MatmulRule:
    exercise, outputs, op, module = "matmul", ("da", "db"), MatMul, "encoder.layers.0.self_attn"

    def cases(self, rng):
        def case(label, a_shape, b_shape):
            a, b = _normal(rng, *a_shape), _normal(rng, *b_shape)
            return Case(label, (a, b), _normal(rng, *np.matmul(a, b).shape))

        return {
            "small shapes": [case("(2, 3) @ (3, 4)", (2, 3), (3, 4)), case("(2, 2, 3) @ (2, 3, 4)", (2, 2, 3), (2, 3, 4))],
            "odd shapes": [case("a single row and column (1, 3) @ (3, 1)", (1, 3), (3, 1)),
                           case("B broadcast over A's batch: (5, 2, 3) @ (3, 4)", (5, 2, 3), (3, 4)),
                           case("A broadcast over B's batch: (2, 3) @ (4, 3, 2)", (2, 3), (4, 3, 2)),
                           case("size-1 axes stretched: (2, 1, 3, 4) @ (5, 4, 2)", (2, 1, 3, 4), (5, 4, 2))],
        }

    def gradient_cases(self, rng):
        return [Case("(2, 3) @ (3, 4)", (_normal(rng, 2, 3), _normal(rng, 3, 4)), _normal(rng, 2, 4)),
                Case("(2, 1, 2, 3) @ (3, 3, 2)", (_normal(rng, 2, 1, 2, 3), _normal(rng, 3, 3, 2)), _normal(rng, 2, 3, 2, 2))]

    def forward(self, case):
        return ops.matmul

    def arguments(self, case, c):
        a, b = case.arrays
        return a, b, case.dy

    def stand_in(self, call):
        class LearnersMatMul(MatMul):
            @staticmethod
            def backward(ctx, grad):
                a, b = ctx.saved_tensors
                return call((a, b, grad), (a.shape, b.shape))
        return LearnersMatMul


class LayerNormRule:
    exercise, outputs, op, module = "layer_norm", ("dx", "dweight", "dbias"), LayerNorm, "encoder.layers.0"

    def cases(self, rng):
        def case(label, *shape, offset=0.0, eps=1e-5):
            d = shape[-1]
            arrays = (_normal(rng, *shape) + offset, 1 + _normal(rng, d, scale=0.5), _normal(rng, d, scale=0.5))
            return Case(label, arrays, _normal(rng, *shape), dict(eps=eps))

        return {
            "small shapes": [case("(2, 5)", 2, 5), case("(2, 3, 4)", 2, 3, 4)],
            "odd shapes": [case("a single row (1, 6)", 1, 6), case("far from zero (3, 4) + 100", 3, 4, offset=100.0),
                           case("eps = 0.1 (3, 4)", 3, 4, eps=0.1), case("two features (5, 2)", 5, 2)],
        }

    def gradient_cases(self, rng):
        d = 4
        return [Case("(3, 4)", (_normal(rng, 3, d), 1 + _normal(rng, d, scale=0.5), _normal(rng, d)),
                     _normal(rng, 3, d), dict(eps=1e-5))]

    def forward(self, case):
        return lambda x, weight, bias: ops.layer_norm(x, weight, bias, case.settings["eps"])

    def arguments(self, case, y):
        x, weight, _ = case.arrays
        return x, weight, case.dy, case.settings["eps"]

    def stand_in(self, call):
        class LearnersLayerNorm(LayerNorm):
            @staticmethod
            def forward(ctx, x, weight, bias, eps):
                ctx.learner_input = x, eps  # the learner's function starts from x itself
                return LayerNorm.forward(ctx, x, weight, bias, eps)

            @staticmethod
            def backward(ctx, grad):
                x, eps = ctx.learner_input
                weight = ctx.saved_tensors[2]
                return call((x, weight, grad, eps), (x.shape, weight.shape, weight.shape)) + (None,)
        return LearnersLayerNorm


class CrossEntropyRule:
    exercise, outputs, op, module = "cross_entropy", ("dlogits",), CrossEntropy, None

    def cases(self, rng):
        def case(label, *shape, smoothing=0.0, ignore_index=None, ignored=0):
            targets = rng.integers(0, shape[-1], size=shape[:-1])
            if ignored:
                targets.reshape(-1)[:ignored] = ignore_index
            return Case(label, (_normal(rng, *shape),), np.array(1.0),
                        dict(targets=targets, smoothing=smoothing, ignore_index=ignore_index))

        return {
            "small shapes": [case("(4, 5)", 4, 5), case("(2, 3, 6), label smoothing 0.1", 2, 3, 6, smoothing=0.1)],
            "odd shapes": [case("a single row (1, 4)", 1, 4),
                           case("ignored targets (ignore_index 0, 3 of 6 rows)", 6, 5, ignore_index=0, ignored=3),
                           case("ignored targets and label smoothing 0.2", 2, 4, 7, smoothing=0.2, ignore_index=2,
                                ignored=3),
                           case("ignore_index that no target has", 3, 4, ignore_index=9)],
        }

    def gradient_cases(self, rng):
        cases = self.cases(rng)
        return [cases["small shapes"][1], cases["odd shapes"][2]]

    def forward(self, case):
        s = case.settings
        return lambda logits: ops.cross_entropy(logits, s["targets"], s["ignore_index"], s["smoothing"])

    def arguments(self, case, loss):
        s = case.settings
        return case.arrays[0], s["targets"], s["smoothing"], s["ignore_index"]

    def torch_reference(self, torch, case):
        """d(loss)/d(logits) from torch.nn.functional.cross_entropy, for `case`."""
        s = case.settings
        logits = torch.tensor(case.arrays[0], dtype=torch.float64, requires_grad=True)
        classes = logits.shape[-1]
        ignore = -100 if s["ignore_index"] is None else s["ignore_index"]
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, classes), torch.tensor(s["targets"].reshape(-1)),
                                                 ignore_index=ignore, label_smoothing=s["smoothing"])
        loss.backward()
        return (logits.grad.numpy(),)

    def stand_in(self, call):
        class LearnersCrossEntropy(CrossEntropy):
            @staticmethod
            def forward(ctx, logits, targets, ignore_index, smoothing, reduction):
                ctx.learner_input = logits, targets, smoothing, ignore_index
                return CrossEntropy.forward(ctx, logits, targets, ignore_index, smoothing, reduction)

            @staticmethod
            def backward(ctx, grad):
                if ctx.reduction != "mean":  # the exercise is the mean's gradient: other reductions stay the engine's
                    return CrossEntropy.backward(ctx, grad)
                logits = ctx.learner_input[0]
                (dlogits,) = call(ctx.learner_input, (logits.shape,))
                return dlogits * grad, None, None, None, None
        return LearnersCrossEntropy


RULES = {rule.exercise: rule for rule in (MatmulRule(), SoftmaxRule(), LayerNormRule(), CrossEntropyRule())}
