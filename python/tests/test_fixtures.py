"""Every conformance fixture read through zarr_rs equals zarr-python's answer."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

import zarr_rs
from conftest import FIXTURES

NAMES = sorted(p.name for p in FIXTURES.iterdir() if p.name.endswith(".zarr"))


def assert_same(ours: np.ndarray, theirs: np.ndarray) -> None:
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape
    if theirs.dtype.kind in "fcmM":
        # Native against stored byte order; NaN/NaT fill values compare equal.
        assert ours.dtype.newbyteorder("=") == theirs.dtype.newbyteorder("=")
        assert np.array_equal(ours, theirs, equal_nan=True)
    elif theirs.dtype.kind == "T" or ours.dtype.kind == "T":
        assert ours.tolist() == theirs.tolist()
    elif theirs.dtype.kind == "V":
        assert ours.dtype.itemsize == theirs.dtype.itemsize
        assert ours.tobytes() == theirs.tobytes()
    else:
        assert ours.dtype.newbyteorder("=") == theirs.dtype.newbyteorder("=")
        assert np.array_equal(ours, theirs)


def test_fixtures_exist():
    assert len(NAMES) > 100


@pytest.mark.parametrize("name", NAMES)
def test_fixture_equals_zarr_python(name):
    path = str(FIXTURES / name)
    theirs = zarr.open(path, mode="r")
    ours = zarr_rs.open(path)
    if isinstance(theirs, zarr.Group):
        assert isinstance(ours, zarr_rs.Group)
        assert ours.attrs == theirs.attrs.asdict()
        assert ours.keys() == sorted(theirs.keys())
        for child_name, child in ours.members():
            assert type(child).__name__ == ("Group" if isinstance(theirs[child_name], zarr.Group) else "Array")
        return
    assert isinstance(ours, zarr_rs.Array)
    assert ours.shape == theirs.shape
    assert ours.attrs == theirs.attrs.asdict()
    assert ours.zarr_format == theirs.metadata.zarr_format
    assert ours.chunks == theirs.chunks
    assert ours.shards == theirs.shards
    if theirs.metadata.zarr_format == 3:
        assert ours.dimension_names == theirs.metadata.dimension_names
    assert_same(ours[...], theirs[...])
    fill = theirs.fill_value
    if fill is None:
        assert ours.fill_value is None or theirs.metadata.zarr_format == 2
    elif isinstance(fill, (str, bytes)):
        assert ours.fill_value == fill
    else:
        assert_same(np.asarray(ours.fill_value), np.asarray(fill))
    # A strided window as well, where the array has room for one.
    if ours.ndim and all(n > 2 for n in ours.shape):
        key = tuple(slice(1, None, 2) for _ in ours.shape)
        assert_same(ours[key], theirs[key])
