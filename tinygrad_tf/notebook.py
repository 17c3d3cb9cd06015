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
    from .nn import Module
    from .viz.display import module_html, register_notebook_views

    if not register_notebook_views(shell):  # the Tensor's view; False outside IPython
        return False
    shell = shell or sys.modules["IPython"].get_ipython()
    shell.display_formatter.formatters["text/html"].for_type(Module, module_html)
    return True
