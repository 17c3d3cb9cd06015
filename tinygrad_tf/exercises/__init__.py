"""Exercises: the learner writes a piece of the Transformer, and the project checks it.

    from tinygrad_tf import exercises
    exercises.start("softmax", "my_work")              # writes my_work/softmax.py, a stub to fill in
    report = exercises.check("softmax", "my_work/softmax.py")
    report.passed, report.first_wrong                  # in Jupyter the report displays itself

Each exercise is one function in a file of the learner's own: a backward
rule (matmul, softmax, layer_norm, cross_entropy), attention, the causal
mask, the positional table, an Adam step. `check` runs it beside the
engine's own at small and odd shapes, against finite differences and PyTorch
where that applies, and then inside a real Transformer in place of the op,
comparing every node with the reference run: a wrong backward is reported as
the first node whose gradient differs. The same from the command line:
`tinygrad-tf exercise list|start|check|hint|solution`.
"""
from .catalogue import EXERCISES, Exercise
from .grading import check
from .starting import start

__all__ = ["EXERCISES", "Exercise", "check", "start"]
