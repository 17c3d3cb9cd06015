"""target[index] += values with repeated indices: the engine's `backend.scatter_add` and the fast
`ops.fast.scatter.scatter_add` (whole rows; compiled or flattened), on every path."""
import numpy as np
import pytest

from autograd import backend, cpu_kernels
from ops.fast import scatter

SCATTERS = {"readable": lambda target, index, values: backend.scatter_add(np, target, index, values),
            "fast": scatter.scatter_add}


@pytest.fixture(params=sorted(SCATTERS))
def scatter_add(request):
    return SCATTERS[request.param]


@pytest.fixture(params=[False, True], ids=["numpy", "compiled"])
def compiled(request, monkeypatch):
    """Run with the compiled loops turned off, then on (skipped without numba)."""
    if request.param and cpu_kernels.loops_module() is None:
        pytest.skip("numba is not installed")
    monkeypatch.setattr(cpu_kernels, "enabled", request.param)
    return request.param


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
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scatter_add_matches_the_loop(target_shape, index, dtype, compiled, scatter_add):
    rng = np.random.default_rng(0)
    target = rng.standard_normal(target_shape).astype(dtype)
    values = rng.standard_normal(index.shape + target_shape[1:]).astype(dtype)
    expected = _loop(target, index, values)
    # the same additions in the same order as the loop: the same bits
    np.testing.assert_array_equal(scatter_add(target, index, values), expected)


def test_scatter_add_takes_strided_values(compiled, scatter_add):
    target, index = np.zeros((4, 3)), np.array([2, 0, 2])
    values = np.arange(18.0).reshape(3, 6)[:, ::2]  # rows of a wider array
    np.testing.assert_array_equal(scatter_add(target.copy(), index, values), _loop(target, index, values))


def test_scatter_add_out_of_range_is_an_index_error(compiled, scatter_add):
    with pytest.raises(IndexError):
        scatter_add(np.zeros((3, 2)), np.array([0, 3]), np.ones((2, 2)))


def test_scatter_add_of_empty_rows_and_into_a_read_only_target(compiled, scatter_add):
    target = np.zeros((4, 0))
    assert scatter_add(target, np.array([1, 2, 1]), np.zeros((3, 0))).shape == (4, 0)
    frozen = np.zeros((3, 2))
    frozen.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        scatter_add(frozen, np.array([0, 2]), np.ones((2, 2)))
