"""Writes through zarr_rs, read back by zarr-python."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

import zarr_rs


@pytest.fixture(params=["v3", "v3_sharded", "v2"])
def arrays(request, tmp_path):
    path = str(tmp_path / "w.zarr")
    kwargs = {"zarr_format": 2} if request.param == "v2" else {"zarr_format": 3}
    if request.param == "v3_sharded":
        kwargs["shards"] = (6, 8)
    zarr.create_array(path, shape=(11, 13), chunks=(3, 4), dtype="float64", fill_value=-1.0, **kwargs)
    return zarr_rs.open(path), path


def test_writes_read_back_by_zarr_python(arrays):
    ours, path = arrays
    want = np.full((11, 13), -1.0)

    ours[...] = 2.5  # scalar broadcast over everything
    want[...] = 2.5
    ours[1:8:3, 2] = [7.0, 8.0, 9.0]
    want[1:8:3, 2] = [7.0, 8.0, 9.0]
    block = np.arange(20, dtype=np.float32).reshape(4, 5)  # cast to float64
    ours[-4:, 3:8] = block
    want[-4:, 3:8] = block
    ours[0] = np.arange(13)  # broadcast of a row
    want[0] = np.arange(13)
    ours.oindex[[0, 10], [1, 12]] = [[1.0, 2.0], [3.0, 4.0]]
    want[np.ix_([0, 10], [1, 12])] = [[1.0, 2.0], [3.0, 4.0]]
    ours.vindex[[5, 6], [6, 5]] = [55.0, 66.0]
    want[[5, 6], [6, 5]] = [55.0, 66.0]
    ours.blocks[1, 1] = -3.0
    chunk = ours.shards or ours.chunks
    want[chunk[0] : 2 * chunk[0], chunk[1] : 2 * chunk[1]] = -3.0

    assert np.array_equal(zarr.open_array(path, mode="r")[...], want)
    assert np.array_equal(ours[...], want)


def test_write_of_wrong_shape_is_value_error(arrays):
    ours, _ = arrays
    with pytest.raises(ValueError):
        ours[0:2, 0:2] = np.zeros((3, 3))
    with pytest.raises(ValueError):
        ours[20] = 1.0


def test_string_write(tmp_path):
    path = str(tmp_path / "s.zarr")
    zarr.create_array(path, shape=(5,), chunks=(2,), dtype=str, zarr_format=3)
    ours = zarr_rs.open(path)
    ours[1:4] = ["a", "héllo", ""]
    assert zarr.open_array(path, mode="r")[...].tolist() == ["", "a", "héllo", "", ""]
