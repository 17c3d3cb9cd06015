"""The eight exercises: what each asks, its hints, and its template and solution (from `solutions/`)."""
import ast
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Exercise:
    """One exercise.

    Attributes:
        name: what the commands call it (`softmax`); also the file the learner writes (`softmax.py`).
        function: the function the learner writes in that file.
        summary: what it asks, in one line.
        hints: a few hints, from a nudge to nearly the answer.
    """

    name: str
    function: str
    summary: str
    hints: tuple

    @property
    def solution(self):
        """The reference solution: a whole file, as text."""
        return resources.files(__package__).joinpath("solutions").joinpath(f"{self.name}.py").read_text(encoding="utf-8")

    @property
    def template(self):
        """The file the learner starts from: the solution with the function's body replaced by a stub."""
        source = self.solution
        lines = source.splitlines()
        function = next(node for node in ast.parse(source).body
                        if isinstance(node, ast.FunctionDef) and node.name == self.function)
        docstring = function.body[0]  # every solution's function starts with its docstring
        indent = " " * docstring.col_offset
        stub = f'{indent}raise NotImplementedError("{self.function}: write its body")'
        return "\n".join(lines[:docstring.end_lineno] + [stub] + lines[function.end_lineno:]) + "\n"


EXERCISES = {e.name: e for e in (
    Exercise("matmul", "matmul_backward", "the backward of C = A @ B, batched and broadcast: (dA, dB)", (
        "dC has C's shape (..., n, m). Which product of dC with B (or Bᵀ) has A's shape (..., n, k)?",
        "dA = dC @ Bᵀ and dB = Aᵀ @ dC, where ᵀ swaps the last two axes: np.swapaxes(b, -1, -2).",
        "With broadcasting the products have the broadcast leading axes: sum dA over the axes A lacked "
        "(the first ones) and, keeping them, over the axes where A has size 1 but dA does not.",
    )),
    Exercise("softmax", "softmax_backward", "the backward of softmax: dx from y and dy", (
        "Every y_i depends on every x_j (the sum in the denominator), so dx_i collects a term from every dy_j.",
        "∂y_j/∂x_i = y_j (δ_ij − y_i): dx_i = Σ_j dy_j · y_j (δ_ij − y_i).",
        "That sum is y_i · dy_i − y_i · Σ_j dy_j y_j; the sum runs along `axis`: "
        "(dy * y).sum(axis=axis, keepdims=True).",
    )),
    Exercise("layer_norm", "layer_norm_backward", "the backward of layer norm: (dx, dweight, dbias)", (
        "Recompute mean, rstd and x̂ from x first. dbias and dweight sum over every axis but the last.",
        "x̂ depends on x directly, through the mean and through the variance: dx has three terms.",
        "With ĝ = dy · weight: dx = rstd · (ĝ − mean(ĝ) − x̂ · mean(ĝ · x̂)), means over the last axis; "
        "dweight = Σ dy · x̂ over the rows.",
    )),
    Exercise("cross_entropy", "cross_entropy_backward",
             "the backward of the mean cross-entropy, with label smoothing and ignored targets", (
        "Without smoothing the gradient of −log softmax(x)[t] is softmax(x) − one_hot(t).",
        "With smoothing the target is q = (1 − s) · one_hot(t) + s / C: s is spread over all C classes, "
        "the true one included. The gradient of a row is softmax(x) − q.",
        "The loss is a mean over the rows that count: divide by their number, and give ignored rows 0.",
    )),
    Exercise("attention", "attention", "scaled dot-product attention on Tensors, with a mask (True = may attend)", (
        "scores = Q Kᵀ: ops.matmul(q, k.swapaxes(-1, -2)), shape (..., q_len, k_len); divide by sqrt(d_k).",
        "True in the mask means may attend: keep the score there and put −inf where it is False: "
        "ops.where(mask, scores, -math.inf).",
        "The softmax runs over the keys (axis=-1); the output is ops.matmul(weights, v).",
    )),
    Exercise("positional_encoding", "positional_encoding", "the paper's table of sines and cosines (max_len, d_model)", (
        "Columns 2i and 2i + 1 share the frequency 1 / 10000^(2i / d_model): build the angles "
        "pos / 10000^(2i / d_model) as a (max_len, ceil(d_model / 2)) array.",
        "Sines go to the even columns (table[:, 0::2]), cosines to the odd ones (table[:, 1::2]).",
        "An odd d_model has one more sine than cosines: take the angles[:, : d_model // 2] for the cosines.",
    )),
    Exercise("causal_mask", "causal_mask", "the decoder's causal mask (n, n), True = may attend", (
        "Row i is the query at position i; column j the key at position j.",
        "Query i may see keys 0 .. i: itself included. np.tril keeps the lower triangle and the diagonal.",
        "The mask must be boolean: np.tril(np.ones((n, n), dtype=bool)).",
    )),
    Exercise("adam", "adam_step", "one bias-corrected Adam step: (param, m, v)", (
        "m and v are running averages of g and g²: m = β1 m + (1 − β1) g, v = β2 v + (1 − β2) g².",
        "Both start at zero, so early on they are too small: divide by (1 − β^t), t counting from 1.",
        "eps is added to sqrt(v̂), outside the square root: param − lr · m̂ / (sqrt(v̂) + eps).",
    )),
)}


def get(name):
    """The exercise called `name`.

    Raises:
        KeyError: with a message naming the exercises there are.
    """
    try:
        return EXERCISES[name]
    except KeyError:
        raise KeyError(f"no exercise {name!r}; the exercises are: {', '.join(EXERCISES)}") from None
