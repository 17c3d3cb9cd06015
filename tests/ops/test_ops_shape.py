"""Shape and indexing ops: NumPy, torch, gradcheck, hypothesis."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ops
from autograd import Tensor
from helpers import check_gradcheck, check_numpy_forward, helper_test_op


def check_all(inputs, fn, np_fn, torch_fn, device, **kw):
    """NumPy forward, gradcheck, then torch parity (which skips without torch) for one case."""
    check_numpy_forward(inputs, fn, np_fn, device)
    check_gradcheck(inputs, fn, device)
    helper_test_op(inputs, fn, torch_fn, device, **kw)


# ---- reshape, transpose, swapaxes, broadcast_to, squeeze, unsqueeze ---------------
@pytest.mark.parametrize("shape,new", [((2, 3, 4), (6, 4)), ((2, 3, 4), (4, -1)), ((6,), (1, 2, 3)), ((1,), ())], ids=str)
def test_reshape(shape, new, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    check_all([shape], lambda x: x.reshape(*new) if new else x.reshape(()), lambda x: x.reshape(new),
              lambda x: x.reshape(new), device)


def test_reshape_accepts_tuple_or_varargs(device):
    x = Tensor(np.arange(6.0), device=device)
    assert x.reshape(2, 3).shape == x.reshape((2, 3)).shape == ops.reshape(x, (2, 3)).shape == (2, 3)


@pytest.mark.parametrize("shape,axes", [((3, 4), ()), ((2, 3, 4), (2, 0, 1)), ((2, 3, 4), (1, 2, 0)),
                                        ((2, 3, 4, 5), (-1, 0, 2, 1)), ((2, 3, 4), ())], ids=str)
def test_transpose(shape, axes, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    perm = tuple(a % len(shape) for a in axes) if axes else tuple(reversed(range(len(shape))))
    check_all([shape], lambda x: x.transpose(*axes), lambda x: x.transpose(axes or None),
              lambda x: x.permute(perm), device)


def test_T(device, torch):
    helper_test_op([(3, 5)], lambda x: x.T, lambda x: x.T, device)


def test_transpose_rejects_a_non_permutation():
    with pytest.raises(ValueError, match=r"transpose.*\(0, 0\).*\(2, 3\)"):
        Tensor(np.ones((2, 3))).transpose(0, 0)


@pytest.mark.parametrize("shape,a,b", [((2, 3, 4), 0, 2), ((2, 3, 4), -1, -2), ((3, 4), 0, 1), ((3, 4), 1, 1)], ids=str)
def test_swapaxes(shape, a, b, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    check_all([shape], lambda x: x.swapaxes(a, b), lambda x: np.swapaxes(x, a, b),
              lambda x: torch.swapaxes(x, a, b), device)


@pytest.mark.parametrize("shape,target", [((3,), (2, 3)), ((3, 1), (3, 4)), ((1, 4), (2, 3, 4)), ((), (2, 2)),
                                          ((2, 1, 3), (2, 5, 3))], ids=str)
def test_broadcast_to(shape, target, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    check_all([shape], lambda x: x.broadcast_to(target), lambda x: np.broadcast_to(x, target),
              lambda x: torch.broadcast_to(x, target), device)


@pytest.mark.parametrize("shape,axis", [((1, 3, 1, 4), None), ((1, 3, 1, 4), 0), ((1, 3, 1, 4), -2),
                                        ((1, 3, 1, 4), (0, 2)), ((1,), None)], ids=str)
def test_squeeze(shape, axis, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    check_all([shape], lambda x: x.squeeze(axis), lambda x: np.squeeze(x, axis),
              lambda x: torch.squeeze(x) if axis is None else torch.squeeze(x, axis), device)


def test_squeeze_rejects_axis_that_is_not_one():
    with pytest.raises(ValueError, match=r"squeeze: axis 1 has size 3"):
        Tensor(np.ones((1, 3))).squeeze(1)


@pytest.mark.parametrize("shape,axis", [((3, 4), 0), ((3, 4), 1), ((3, 4), 2), ((3, 4), -1), ((3, 4), -3), ((), 0)], ids=str)
def test_unsqueeze(shape, axis, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    check_all([shape], lambda x: x.unsqueeze(axis), lambda x: np.expand_dims(x, axis),
              lambda x: torch.unsqueeze(x, axis), device)


@pytest.mark.parametrize("call, message", [
    (lambda x: x.squeeze(5), r"squeeze: axis 5 is out of range for a tensor of shape \(2, 1\)"),
    (lambda x: x.squeeze((1, -3)), r"squeeze: axis -3 is out of range"),
    (lambda x: x.unsqueeze(3), r"unsqueeze: axis 3 is out of range for a tensor of shape \(2, 1\) \(valid axes: -3 to 2\)"),
    (lambda x: x.unsqueeze(-4), r"unsqueeze: axis -4 is out of range"),
    (lambda x: x.swapaxes(0, 2), r"swapaxes: axis 2 is out of range for a tensor of shape \(2, 1\)"),
    (lambda x: x.swapaxes(-3, 0), r"swapaxes: axis -3 is out of range"),
])
def test_an_axis_out_of_range_is_an_error_naming_the_op_and_the_shape(call, message):
    """As NumPy and PyTorch refuse them: never wrapped around to another axis."""
    x = Tensor(np.zeros((2, 1)))
    with pytest.raises(np.exceptions.AxisError, match=message):
        call(x)
    with pytest.raises(IndexError):  # AxisError is an IndexError too, as PyTorch raises
        call(x)


def test_an_axis_that_is_not_an_int_is_a_type_error():
    for call in (lambda x: x.swapaxes(0, "1"), lambda x: x.unsqueeze(1.0), lambda x: x.squeeze("0")):
        with pytest.raises(TypeError, match=r"(swapaxes|unsqueeze|squeeze): axis must be an int"):
            call(Tensor(np.zeros((2, 1))))



def test_swapaxes_of_a_0d_tensor_is_the_tensor_as_in_torch(torch_lazy):
    x = Tensor(3.0, requires_grad=True)
    y = x.swapaxes(0, -1)
    assert y.shape == () and y.item() == 3.0
    (y * 2).backward()
    assert x.grad.item() == 2.0
    with pytest.raises(np.exceptions.AxisError, match=r"swapaxes: axis 1 is out of range for a tensor of shape \(\)"):
        x.swapaxes(0, 1)
    if torch_lazy is not None:
        assert torch_lazy.tensor(3.0).swapaxes(0, -1).item() == y.item()


# ---- concatenate, stack, split ----------------------------------------------------------
@pytest.mark.parametrize("shapes,axis", [(((2, 3), (4, 3)), 0), (((2, 3), (2, 1), (2, 5)), 1),
                                         (((2, 3, 4), (2, 3, 2)), -1), (((3,), (3,), (1,)), 0)], ids=str)
def test_concatenate(shapes, axis, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    check_all(list(shapes), lambda *xs: ops.concatenate(xs, axis=axis), lambda *xs: np.concatenate(xs, axis=axis),
              lambda *xs: torch.cat(xs, dim=axis), device)


def test_concatenate_with_a_constant_input(device, torch):
    helper_test_op([(2, 3), (2, 2)], lambda a, b: ops.concatenate([a, b], axis=1),
                   lambda a, b: torch.cat([a, b], dim=1), device, requires_grad=[True, False])


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack(axis, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    shapes = [(2, 3), (2, 3), (2, 3)]
    check_all(shapes, lambda *xs: ops.stack(xs, axis=axis), lambda *xs: np.stack(xs, axis=axis),
              lambda *xs: torch.stack(xs, dim=axis), device)


def test_stack_rejects_different_shapes():
    with pytest.raises(ValueError, match=r"stack.*\(2, 3\).*\(3, 2\)"):
        ops.stack([Tensor(np.ones((2, 3))), Tensor(np.ones((3, 2)))])


@pytest.mark.parametrize("shape,parts,axis", [((6, 4), 3, 0), ((6, 4), 2, 1), ((6, 4), [1, 4], 0),
                                              ((2, 7, 3), [2, 3, 5], 1), ((2, 6), 3, -1)], ids=str)
def test_split(shape, parts, axis, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    check_all([shape], lambda x: tuple(ops.split(x, parts, axis=axis)), lambda x: tuple(np.split(x, parts, axis=axis)),
              lambda x: torch.tensor_split(x, parts, dim=axis), device)


def test_split_uneven_sections_is_an_error():
    with pytest.raises(ValueError, match="split"):
        ops.split(Tensor(np.ones((5, 2))), 2, axis=0)


def test_split_pieces_feed_separate_ops(device, torch):
    helper_test_op([(6, 4)], lambda x: (lambda a, b: a * b.exp())(*ops.split(x, 2, axis=0)),
                   lambda x: (lambda a, b: a * b.exp())(*torch.tensor_split(x, 2, dim=0)), device)


# ---- getitem ---------------------------------------------------------------------------------
IDX = np.array([2, 0, 2, 1, 2])  # repeats: backward must accumulate
ROWS = np.array([[0, 1], [1, 0]])
MASK = np.array([[True, False, True, True, False], [False, False, True, False, True],
                 [True, True, False, False, False], [False, True, True, True, True]])
# (name, index for ours and NumPy, index for torch or None when torch lacks it)
INDEXES = [
    ("int", 1, 1),
    ("negative int", -1, -1),
    ("int pair", (2, -3), (2, -3)),
    ("slice", slice(1, 3), slice(1, 3)),
    ("slice step", (slice(None), slice(0, 5, 2)), (slice(None), slice(0, 5, 2))),
    ("negative step", (slice(None, None, -1), slice(4, 0, -2)), None),
    ("None", (None, slice(1, 3), None), (None, slice(1, 3), None)),
    ("ellipsis", (Ellipsis, 2), (Ellipsis, 2)),
    ("int array repeats", IDX[:4] % 4, IDX[:4] % 4),
    ("int array on axis 1", (slice(None), IDX), (slice(None), IDX)),
    ("int arrays paired", (IDX[:3], IDX[2:5]), (IDX[:3], IDX[2:5])),
    ("2-d int array", ROWS, ROWS),
    ("int array and slice", (IDX[:3], slice(1, 4)), (IDX[:3], slice(1, 4))),
    ("bool mask", MASK, MASK),
    ("bool row mask", np.array([True, False, True, True]), np.array([True, False, True, True])),
    ("list of ints", [0, 0, 3], [0, 0, 3]),
]


def _torch_index(torch, index):
    def convert(p):
        return torch.from_numpy(p) if isinstance(p, np.ndarray) else (torch.tensor(p) if isinstance(p, list) else p)

    return tuple(convert(p) for p in index) if isinstance(index, tuple) else convert(index)


@pytest.mark.parametrize("name,index,tindex", INDEXES, ids=[c[0] for c in INDEXES])
def test_getitem(name, index, tindex, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    shape = (4, 5)
    check_numpy_forward([shape], lambda x: x[index], lambda x: x[index], device)
    check_gradcheck([shape], lambda x: x[index], device)
    if tindex is not None:
        helper_test_op([shape], lambda x: x[index], lambda x: x[_torch_index(torch, tindex)], device)


def test_getitem_with_tensor_indices(device, torch):
    idx = Tensor(IDX % 4, device=device)
    mask = Tensor(MASK, device=device)
    helper_test_op([(4, 5)], lambda x: x[idx].sum(0) + x[mask].sum(),
                   lambda x: x[torch.from_numpy(IDX % 4)].sum(0) + x[torch.from_numpy(MASK)].sum(), device)


def test_getitem_repeated_index_accumulates(device):
    x = Tensor(np.arange(3.0), requires_grad=True, dtype="float64", device=device)
    x[[0, 0, 0, 2]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 1.0])


def test_getitem_integer_rows_backward_matches_add_at(device):
    """Gathering rows by an integer array (the embedding's case): repeats and negative rows accumulate."""
    rng = np.random.default_rng(0)
    rows = rng.integers(-6, 6, size=(7, 9))
    w = rng.standard_normal((7, 9, 3))
    x = Tensor(rng.standard_normal((6, 3)), requires_grad=True, dtype="float64", device=device)
    (x[rows] * Tensor(w, dtype="float64", device=device)).sum().backward()
    expected = np.zeros((6, 3))
    np.add.at(expected, rows, w)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)
    x.grad = None
    x[np.zeros(0, dtype=np.int64)].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((6, 3)))


def test_getitem_out_of_range_names_the_op():
    with pytest.raises(IndexError, match=r"getitem.*\(3,\)"):
        Tensor(np.arange(3.0))[5]


@st.composite
def shape_and_slices(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    index = []
    for n in shape[: draw(st.integers(1, len(shape)))]:
        if draw(st.booleans()):
            index.append(None)  # a new axis, consuming no axis of the input
        index.append(draw(st.one_of(st.integers(-n, n - 1), st.slices(n))))
    return shape, tuple(index)


@given(case=shape_and_slices(), seed=st.integers(0, 2**16))
def test_getitem_hypothesis(case, seed, device):
    shape, index = case
    out = check_numpy_forward([shape], lambda x: x[index], lambda x: x[index], device, seed=seed)[0]
    if out.size:
        check_gradcheck([shape], lambda x: x[index], device, seed=seed)


# ---- pad ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,widths,value", [((3, 4), ((1, 2), (0, 3)), 0.0), ((2, 3, 4), ((0, 0), (1, 1), (2, 0)), -1.5),
                                                ((3,), ((2, 1),), 2.0), ((2, 3), 1, 0.0)], ids=str)
def test_pad(shape, widths, value, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    full = np.broadcast_to(np.asarray(widths), (len(shape), 2))
    flat = tuple(int(w) for pair in full[::-1] for w in pair)  # torch: last axis first
    check_all([shape], lambda x: ops.pad(x, widths, value), lambda x: np.pad(x, widths, constant_values=value),
              lambda x: torch.nn.functional.pad(x, flat, value=value), device)


# ---- hypothesis over the shape family ----------------------------------------------------------
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4), data=st.data())
def test_shape_family_hypothesis(shape, data, device):
    ndim = len(shape)
    perm = tuple(data.draw(st.permutations(range(ndim))))
    a, b = data.draw(st.integers(-ndim, ndim - 1)), data.draw(st.integers(-ndim, ndim - 1))
    new = (-1,) + shape[:-1][::-1] if ndim > 1 else (shape[0], 1)
    lead = data.draw(st.integers(1, 3))
    ax = data.draw(st.integers(-ndim - 1, ndim))
    cat_axis = data.draw(st.integers(-ndim, ndim - 1))
    cases = [
        (lambda x: x.transpose(*perm), lambda x: x.transpose(perm)),
        (lambda x: x.swapaxes(a, b), lambda x: np.swapaxes(x, a, b)),
        (lambda x: x.reshape(*new), lambda x: x.reshape(new)),
        (lambda x: x.broadcast_to((lead,) + shape), lambda x: np.broadcast_to(x, (lead,) + shape)),
        (lambda x: x.unsqueeze(ax).squeeze(), lambda x: np.squeeze(np.expand_dims(x, ax))),
        (lambda x: ops.concatenate([x, x * 2], axis=cat_axis), lambda x: np.concatenate([x, x * 2], axis=cat_axis)),
        (lambda x: ops.stack([x, -x], axis=ax), lambda x: np.stack([x, -x], axis=ax)),
    ]
    seed = data.draw(st.integers(0, 2**16))
    for fn, np_fn in cases:
        check_numpy_forward([shape], fn, np_fn, device, seed=seed)
        check_gradcheck([shape], fn, device, seed=seed)
