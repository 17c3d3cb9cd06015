"""Jupyter's views of the engine's and the model's objects, registered with IPython from outside both.

The engine (`autograd.Tensor`) and the model (`nn.Module`) know nothing of
notebooks: IPython is told how to draw them (`tinygrad_tf.viz.display`'s HTML
tables), which is done when `tinygrad_tf` is imported inside IPython.
"""
import sys


def register_views(shell=None):
    """Have IPython/Jupyter draw every `Tensor` and every `nn.Module` as an HTML table (a no-op outside IPython).

    Args:
        shell: the IPython shell; None asks IPython for the running one, if any.

    Returns:
        True when the views were registered.
    """
    if shell is None:
        ipython = sys.modules.get("IPython")  # never import IPython just to ask
        shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return False
    from .nn import Module
    from .viz.display import module_html, register_notebook_views

    register_notebook_views(shell)
    shell.display_formatter.formatters["text/html"].for_type(Module, module_html)
    return True
