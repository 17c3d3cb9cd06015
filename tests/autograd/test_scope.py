"""autograd.scope: the module path that new nodes are tagged with."""
import numpy as np
import pytest

import ops
from autograd import Tensor, current_module, module_scope


def test_nodes_made_inside_a_scope_carry_its_path_and_scopes_nest():
    x = Tensor(np.ones(3), requires_grad=True)
    with module_scope("encoder"):
        outer = ops.exp(x)
        with module_scope("encoder.layers.0") as path:
            assert path == current_module() == "encoder.layers.0"
            inner = ops.exp(x)
        assert current_module() == "encoder"
    assert current_module() is None
    assert (outer._ctx.module, inner._ctx.module, ops.exp(x)._ctx.module) == ("encoder", "encoder.layers.0", None)


def test_one_scope_entered_again_inside_itself_restores_each_level():
    scope = module_scope("attn")
    with module_scope("layer"):
        with scope:
            with scope:
                assert current_module() == "attn"
            assert current_module() == "attn"
        assert current_module() == "layer"
    assert current_module() is None


def test_an_exception_inside_a_scope_restores_the_outer_path():
    with pytest.raises(RuntimeError):
        with module_scope("decoder"):
            raise RuntimeError("inside")
    assert current_module() is None
