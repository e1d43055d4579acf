"""Every selection mode against numpy (and zarr-python for blocks) on arrays that
zarr-python wrote: regular chunks, partial edge chunks, sharding, v2."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

import zarr_rs


@pytest.fixture(scope="module", params=["v3", "v3_sharded", "v2"])
def pair(request, tmp_path_factory):
    """(zarr_rs array, zarr-python array, numpy reference) of shape (13, 17, 6)."""
    rng = np.random.default_rng(6443)
    data = rng.integers(-1000, 1000, size=(13, 17, 6)).astype(np.int32)
    path = str(tmp_path_factory.mktemp("sel") / "a.zarr")
    kwargs = {"zarr_format": 2} if request.param == "v2" else {"zarr_format": 3}
    if request.param == "v3_sharded":
        kwargs["shards"] = (8, 10, 6)
        chunks = (4, 5, 3)
    else:
        chunks = (4, 5, 4)
    z = zarr.create_array(path, shape=data.shape, chunks=chunks, dtype="int32", fill_value=-1, **kwargs)
    z[...] = data
    return zarr_rs.open(path), z, data


BASIC = [
    (),
    Ellipsis,
    0,
    -1,
    (5, 3, 2),
    (-13, -17, -6),
    slice(None),
    slice(2, 9),
    slice(None, None, 3),
    slice(None, None, -1),
    slice(10, 1, -4),
    slice(-5, None),
    slice(20, 30),
    (slice(1, 12, 5), slice(None, None, -2), 4),
    (Ellipsis, 2),
    (3, Ellipsis),
    (1, Ellipsis, slice(0, 6, 2)),
    (slice(None), 7),
    (np.int64(4), np.int32(2)),
    (slice(np.int64(1), np.int64(5)),),
    (slice(3, 3),),
    (np.array(2), np.array(-1)),
]


@pytest.mark.parametrize("key", BASIC, ids=repr)
def test_basic(pair, key):
    ours, _, data = pair
    got = ours[key]
    want = data[key]
    assert np.shape(got) == np.shape(want)
    assert np.array_equal(got, want)
    assert isinstance(got, np.ndarray) == isinstance(want, np.ndarray)


ORTHOGONAL = [
    ([0, 5, 5, 12],),
    ([-1, 0], slice(None), [5, 0]),
    (np.array([3, 1]), 2, slice(None, None, 2)),
    (slice(2, 8), [16, 0, 3], Ellipsis),
    (np.arange(13) % 3 == 0,),
    (np.arange(13) % 2 == 0, np.arange(17) > 10, [1, 1, 2]),
    ([], slice(None)),
]


def numpy_oindex(data: np.ndarray, key) -> np.ndarray:
    """Orthogonal indexing spelled with numpy, one dimension at a time."""
    key = key if isinstance(key, tuple) else (key,)
    if any(k is Ellipsis for k in key):
        i = next(i for i, k in enumerate(key) if k is Ellipsis)
        key = key[:i] + (slice(None),) * (data.ndim - len(key) + 1) + key[i + 1 :]
    key = key + (slice(None),) * (data.ndim - len(key))
    out, axis = data, 0
    for k in key:
        if isinstance(k, (int, np.integer)):
            out = np.take(out, k, axis=axis)
        elif isinstance(k, slice):
            out = out[(slice(None),) * axis + (k,)]
            axis += 1
        else:
            a = np.asarray(k)
            a = np.flatnonzero(a) if a.dtype == bool else a.astype(np.intp)
            out = np.take(out, a, axis=axis)
            axis += 1
    return out


@pytest.mark.parametrize("key", ORTHOGONAL, ids=repr)
def test_oindex(pair, key):
    ours, _, data = pair
    got = ours.oindex[key]
    want = numpy_oindex(data, key)
    assert got.shape == want.shape
    assert np.array_equal(got, want)


def test_oindex_matches_zarr_python(pair):
    ours, theirs, _ = pair
    key = (np.arange(13) % 2 == 0, [16, 0, 3], slice(1, None, 2))
    assert np.array_equal(ours.oindex[key], theirs.oindex[key])


def test_oindex_matches_numpy_ix(pair):
    ours, _, data = pair
    i, j, k = [0, 12, 4], [16, 2], [5, 0, 1]
    assert np.array_equal(ours.oindex[i, j, k], data[np.ix_(i, j, k)])


VECTORIZED = [
    ([0, 12, 3], [0, 16, 3], [0, 5, 3]),
    ([-1, -2], [4, 4], [0, -1]),
    (np.array([[0, 1], [2, 3]]), np.array([[4, 5], [6, 7]]), 1),
    ([1, 2, 3], 0, np.array([5])),
]


@pytest.mark.parametrize("key", VECTORIZED, ids=repr)
def test_vindex(pair, key):
    ours, _, data = pair
    got = ours.vindex[key]
    want = data[key]
    assert got.shape == want.shape
    assert np.array_equal(got, want)


def test_vindex_mask(pair):
    ours, _, data = pair
    mask = data % 7 == 0
    assert np.array_equal(ours.vindex[mask], data[mask])
    assert np.array_equal(ours[mask], data[mask])


def test_getitem_with_arrays(pair):
    ours, _, data = pair
    # One array per dimension: points, as numpy and zarr-python do.
    assert np.array_equal(ours[[1, 2], [3, 4], [5, 0]], data[[1, 2], [3, 4], [5, 0]])
    # Arrays mixed with slices: orthogonal, as zarr-python does.
    assert np.array_equal(ours[[1, 2], :, 0], data[[1, 2], :, 0])


# Within the smallest block grid of the three arrays (the shard grid, 2 x 2 x 1).
BLOCKS = [0, -1, (1, 1), slice(0, 2), (slice(None), 1, 0), (Ellipsis, 0), (slice(0, 0),)]


@pytest.mark.parametrize("key", BLOCKS, ids=repr)
def test_blocks(pair, key):
    ours, theirs, _ = pair
    got = ours.blocks[key]
    want = theirs.blocks[key]
    assert got.shape == want.shape
    assert np.array_equal(got, want)


@pytest.mark.parametrize(
    "key",
    [100, -14, (0, 0, 0, 0), slice(None, None, 0), (None,), 1.5, [0.5], True],
    ids=repr,
)
def test_bad_selection_is_value_and_index_error(pair, key):
    ours, _, _ = pair
    with pytest.raises(zarr_rs.SelectionError) as info:
        ours[key]
    assert isinstance(info.value, ValueError) and isinstance(info.value, IndexError)


def test_bad_block_and_vindex_selections(pair):
    ours, theirs, _ = pair
    with pytest.raises(IndexError):
        theirs.blocks[5]
    with pytest.raises(IndexError):
        ours.blocks[5]
    with pytest.raises(ValueError):
        ours.blocks[slice(0, 4, 2)]
    with pytest.raises(ValueError):
        ours.blocks[[0, 1]]
    with pytest.raises(ValueError):
        ours.vindex[[0, 1], [0]]
    with pytest.raises(ValueError):
        ours.vindex[0:2, 0, 0]
    with pytest.raises(ValueError):
        ours.oindex[np.ones(5, dtype=bool)]


def test_output_owns_engine_buffer(pair):
    ours, _, data = pair
    out = ours[...]
    # A view of the engine's buffer (no copy was made), writable, C-contiguous.
    assert out.base is not None
    assert out.flags.c_contiguous and out.flags.writeable
    out[0, 0, 0] = 12345
    assert np.array_equal(ours[...], data)
