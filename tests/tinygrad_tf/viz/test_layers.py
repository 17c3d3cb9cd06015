"""viz's layering: the description is the bottom that every view reads; no import circle is held apart by an
import inside a function."""
import ast
import pathlib

import tinygrad_tf.viz

VIZ = pathlib.Path(tinygrad_tf.viz.__file__).parent
VIEWS = {"trace", "display", "graph", "layout", "frames", "explorer", "specimens"}
OPTIONAL = {"graphviz", "PIL", "IPython"}  # libraries a view needs only when it draws; imported where used


def _imports(path):
    """[(module name, level, inside a function)] of every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for fn in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
        for node in ast.walk(fn):
            node._in_function = True
    for node in ast.walk(tree):
        inside = getattr(node, "_in_function", False)
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.module else [a.name for a in node.names]
            found += [(name, node.level, inside) for name in names]
        elif isinstance(node, ast.Import):
            found += [(a.name, 0, inside) for a in node.names]
    return found


def test_the_description_imports_no_view():
    for name in ("description.py", "records.py", "stepcheck.py", "labels.py", "reading.py"):
        for module, level, _ in _imports(VIZ / name):
            assert not (level == 1 and module.split(".")[0] in VIEWS), f"{name} imports the view {module}"


def test_no_import_inside_a_function_but_optional_libraries_and_the_training_application():
    for path in sorted(VIZ.rglob("*.py")):
        for module, level, inside in _imports(path):
            if inside:
                allowed = module.split(".")[0] in OPTIONAL or (level == 2 and module == "train")
                assert allowed, f"{path.name} imports {module} inside a function"


def test_description_walks_the_engines_order_and_keeps_the_constants():
    import numpy as np

    import ops
    from autograd import Tensor, topological_order
    from tinygrad_tf.viz.description import describe

    x = Tensor(np.ones((2, 3)), requires_grad=True)
    mask = Tensor(np.array([[True, False, True]] * 2))
    loss = ops.masked_fill(x * 2.0, ~mask, 0.0).sum()
    d = describe(loss)
    graded = [t for t in d.tensors if t.requires_grad]
    assert [id(t) for t in graded] == [id(t) for t in topological_order(loss)]
    position = {id(t): k for k, t in enumerate(d.tensors)}
    for ctx in d.ops:  # every input, constants included, comes before the op reading it
        made = position[id(d.output_of[id(ctx)])]
        assert all(position[id(i)] < made for i in ctx.inputs if isinstance(i, Tensor))
    assert sum(not t.requires_grad for t in d.tensors) == 1  # the mask
