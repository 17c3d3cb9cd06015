"""`check --explore PAGE.html`: the explorer page of the learner's run of the model, opened at the first wrong node.

The page is the explorer's own (`viz.explorer.build`); the one thing added is
a line of script that, once the page is ready, steps its public
`window.explorer` to the first wrong node's backward step and selects it.
"""
import json

import ops

from ..viz import explorer, graph
from ..viz.specimens import Specimen
from . import attention_checks, backward_checks, models, table_checks


def installed(exercise, model, batch, learner):
    """The context manager that puts the learner's piece in `model` (yielding `models.loss` keyword arguments),
    or None for an exercise with no graph of its own (adam)."""
    name = exercise.name
    if name in backward_checks.RULES:
        rule = backward_checks.RULES[name]
        return backward_checks.installed(rule, backward_checks.caller(rule, learner))
    if name == "attention":
        return attention_checks.installed(model, learner)
    if name == "positional_encoding":
        return table_checks.positional_installed(model, learner)
    if name == "causal_mask":
        return table_checks.mask_installed(model, batch, learner)
    return None


def write_page(exercise, learner, first_wrong, path):
    """Write the explorer page of the learner's run to `path`.

    Returns:
        (the path written or None, a note for the report or None).

    Raises:
        LearnerError, ResultProblem: the learner's code failed, or returned what cannot run, in the model.
    """
    model, batch = models.transformer(), models.batch()
    context = installed(exercise, model, batch, learner)
    if context is None:
        return None, f"--explore: {exercise.name} has no graph to explore (an optimizer step is not recorded)"
    if not graph.dot_available():
        return None, f"--explore: no page written. {graph.DOT_MISSING}"
    title = f"your {learner.name} ({learner.path}) in {models.DESCRIPTION}"
    if first_wrong is not None:
        title += f"; first wrong: {first_wrong.label}"
    with ops.fast.readable_only(), context as loss_arguments:
        logits, loss = models.loss(model, batch, **loss_arguments)
        page = explorer.build(Specimen("transformer", title, model, logits, target=batch.target), loss,
                              title=title)  # each step checked by finite differences: the wrong one shows
    if first_wrong is not None:  # the page moves leaf steps, so its step is found by the engine's index
        step = next(s for s in page.data["steps"] if s.get("engine_index", s["index"]) == first_wrong.step)
        page.html = page.html.replace("</body>", opening_script(step["index"], step["node"]) + "\n</body>", 1)
    return page.write(path), None


def opening_script(step, node):
    """A script that opens the page at backward step `step` with the node `node` selected."""
    return f"<script>window.explorer.step({int(step)}); window.explorer.select({json.dumps(node)});</script>"
