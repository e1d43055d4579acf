"""Every conformance fixture read through zarr_rs equals zarr-python's answer."""

from __future__ import annotations

import json

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


MANIFEST = json.loads((FIXTURES.parent / "manifest.json").read_text())
TENSORSTORE = [a for a in MANIFEST["arrays"] if a.get("tensorstore_dtype")]
RECORDS = [name for name in NAMES if name.startswith("v2_struct")]


@pytest.mark.parametrize("name", RECORDS)
def test_records_have_zarr_pythons_structured_dtype(name):
    path = str(FIXTURES / name)
    theirs = zarr.open_array(path, mode="r")
    ours = zarr_rs.open(path)
    assert ours.dtype == theirs.dtype
    got = ours[...]
    assert got.dtype == theirs.dtype
    assert got.tobytes() == theirs[...].tobytes()
    assert ours.fill_value.tobytes() == np.asarray(theirs.fill_value, dtype=theirs.dtype).tobytes()


def test_records_write_like_zarr_python(tmp_path):
    dtype = np.dtype([("a", "<i4"), ("b", ">f8"), ("c", "S3")])
    path = str(tmp_path / "rec.zarr")
    zarr.create_array(path, shape=(5,), chunks=(2,), dtype=dtype, zarr_format=2, compressors=None)
    want = zarr.open_array(path, mode="r")[...]
    data = np.array([(i, i / 2, b"ab"[: i % 3]) for i in range(5)], dtype=dtype)
    zarr_rs.open(path)[1:4] = data[1:4]
    want[1:4] = data[1:4]
    assert zarr.open_array(path, mode="r")[...].tobytes() == want.tobytes()


@pytest.mark.parametrize("name", ["int4", "int2", "float8_e4m3fn", "float4_e2m1fn"])
def test_small_types_write_like_tensorstore(tmp_path, name):
    ts = pytest.importorskip("tensorstore")
    ml_dtypes = pytest.importorskip("ml_dtypes")
    spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path / "a.zarr")}}
    meta = {"shape": [6], "data_type": name, "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4]}}}
    ts.open({**spec, "metadata": meta}, create=True).result()
    values = np.array([0, 1, -1, -2, 0.5, 1], dtype=np.float32).astype(getattr(ml_dtypes, name))
    zarr_rs.open(str(tmp_path / "a.zarr"))[...] = values
    back = ts.open(spec).result().read().result()
    assert np.array_equal(back.astype(np.float32), values.astype(np.float32))


@pytest.mark.parametrize("fx", TENSORSTORE, ids=lambda fx: fx["name"])
def test_tensorstore_types_equal_tensorstores_answer(fx):
    ours = zarr_rs.open(str(FIXTURES.parent / fx["path"]))
    want = np.load(FIXTURES.parent / fx["npy"])
    got = ours[...]
    assert got.shape == want.shape
    try:
        import ml_dtypes
    except ImportError:
        ml_dtypes = None
    if ml_dtypes is not None:
        assert ours.dtype == np.dtype(getattr(ml_dtypes, fx["tensorstore_dtype"]))
    if want.dtype.kind == "i":
        assert np.array_equal(got.astype(np.int8), want)
    else:
        assert got.view(np.uint8).tobytes() == want.view(np.uint8).tobytes()
