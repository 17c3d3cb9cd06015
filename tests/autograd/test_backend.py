"""autograd.backend.scatter_add: target[index] += values with repeated indices, on every path."""
import numpy as np
import pytest

from autograd import backend


def _loop(target, index, values):
    """The plain definition: one place at a time."""
    out = target.copy()
    for k in np.ndindex(*np.shape(index)):
        out[index[k]] += values[k]
    return out


@pytest.mark.parametrize("target_shape, index", [
    ((6, 4), np.array([0, 5, 2, 0, 0])),  # whole rows, repeated
    ((6, 2, 3), np.array([[1, 1], [4, 0]])),  # a 2-D index into rows of a 3-D table
    ((6,), np.array([3, 3, 1])),  # single elements
    ((6, 4), np.array([-1, 0, -1])),  # negative rows take the general path
])
def test_scatter_add_matches_the_loop(target_shape, index):
    rng = np.random.default_rng(0)
    target = rng.standard_normal(target_shape)
    values = rng.standard_normal(index.shape + target_shape[1:])
    expected = _loop(target, index, values)
    np.testing.assert_allclose(backend.scatter_add(np, target, index, values), expected, atol=1e-12)


def test_scatter_add_out_of_range_is_an_index_error():
    with pytest.raises(IndexError):
        backend.scatter_add(np, np.zeros((3, 2)), np.array([0, 3]), np.ones((2, 2)))
