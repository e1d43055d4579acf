"""Creating arrays and groups from Python, write progress and `write_empty_chunks`,
and stopping writes (Ctrl-C, a raising callback) and asyncio tasks (cancel)."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest
import zarr

import zarr_rs
from conftest import FIXTURES


@pytest.mark.parametrize("fmt,shards", [(3, None), (3, (4, 6)), (2, None)])
def test_created_arrays_are_what_zarr_python_reads(tmp_path, fmt, shards):
    path = tmp_path / "new.zarr"
    arr = zarr_rs.create(
        path,
        shape=(10, 12),
        dtype="int16",
        chunks=(2, 3),
        shards=shards,
        fill_value=-7,
        zarr_format=fmt,
        attributes={"units": "K", "scale": [1, 2]},
        dimension_names=("y", "x") if fmt == 3 else None,
    )
    assert arr.shape == (10, 12) and arr.dtype == np.dtype("int16") and arr.chunks == (2, 3)
    assert arr.shards == shards
    assert (arr[...] == -7).all()
    arr[1:4, 2:9] = np.arange(21, dtype=np.int16).reshape(3, 7)

    theirs = zarr.open_array(str(path), mode="r")
    assert theirs.metadata.zarr_format == fmt
    assert theirs.fill_value == -7 and theirs.dtype == np.dtype("int16")
    assert dict(theirs.attrs) == {"units": "K", "scale": [1, 2]}
    if fmt == 3:
        assert theirs.metadata.dimension_names == ("y", "x")
    want = np.full((10, 12), -7, dtype=np.int16)
    want[1:4, 2:9] = np.arange(21).reshape(3, 7)
    assert np.array_equal(theirs[...], want)
    assert np.array_equal(zarr_rs.open(path)[...], want)


def test_created_types_and_fill_values(tmp_path):
    nan = zarr_rs.create(tmp_path / "nan.zarr", shape=5, dtype=np.float32, fill_value=np.float32("nan"))
    assert np.isnan(nan[...]).all()
    assert np.isnan(zarr.open_array(str(tmp_path / "nan.zarr"), mode="r").fill_value)
    text = zarr_rs.create(tmp_path / "s.zarr", shape=3, dtype="string", compressor=None)
    text[...] = ["a", "bc", ""]
    assert list(zarr.open_array(str(tmp_path / "s.zarr"), mode="r")[...]) == ["a", "bc", ""]
    flags = zarr_rs.create(tmp_path / "b.zarr", shape=(4,), dtype=bool, compressor="gzip", fill_value=True)
    assert flags[...].all()


def test_create_errors(tmp_path):
    zarr_rs.create(tmp_path / "a.zarr", shape=4, dtype="u1")
    with pytest.raises(zarr_rs.ContainsNodeError):
        zarr_rs.create(tmp_path / "a.zarr", shape=4, dtype="u1")
    with pytest.raises(TypeError):
        zarr_rs.create(tmp_path / "b.zarr", shape=4, dtype="no-such-type")
    with pytest.raises(ValueError, match="chunks has 1 dimensions"):
        zarr_rs.create(tmp_path / "c.zarr", shape=(4, 4), dtype="u1", chunks=[2])
    with pytest.raises(ValueError, match="compressor"):
        zarr_rs.create(tmp_path / "d.zarr", shape=4, dtype="u1", compressor="snappy")
    with pytest.raises(ValueError, match="fill_value"):
        zarr_rs.create(tmp_path / "e.zarr", shape=4, dtype="u1", fill_value="many")


def test_groups_and_arrays_inside_them(tmp_path):
    group = zarr_rs.create_group(tmp_path / "g.zarr", attributes={"title": "t"})
    zarr_rs.create(tmp_path / "g.zarr", path="temps", shape=(3,), dtype="f8", fill_value=1.5)
    again = zarr_rs.open(tmp_path / "g.zarr")
    assert isinstance(again, zarr_rs.Group) and group.attrs == {"title": "t"}
    assert again.keys() == ["temps"] and np.array_equal(again["temps"][...], [1.5, 1.5, 1.5])
    theirs = zarr.open_group(str(tmp_path / "g.zarr"), mode="r")
    assert dict(theirs.attrs) == {"title": "t"} and list(theirs.array_keys()) == ["temps"]


def test_write_progress_and_write_empty_chunks(tmp_path):
    arr = zarr_rs.create(tmp_path / "p.zarr", shape=(8, 8), dtype="u2", chunks=(2, 2), compressor=None)
    seen = []
    arr.write(np.s_[...], 5, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (16, 16)
    chunks = tmp_path / "p.zarr" / "c"
    assert len([p for p in chunks.rglob("*") if p.is_file()]) == 16
    arr.write(np.s_[0:2, 0:2], 0)  # back to the fill value: deleted
    assert len([p for p in chunks.rglob("*") if p.is_file()]) == 15
    arr.write(np.s_[0:2, 0:2], 0, write_empty_chunks=True)  # stored all the same
    assert len([p for p in chunks.rglob("*") if p.is_file()]) == 16
    assert arr[0:2, 0:2].sum() == 0 and arr[2:, 2:].min() == 5


def test_a_raising_progress_callback_stops_the_write(tmp_path):
    arr = zarr_rs.create(tmp_path / "r.zarr", shape=(64,), dtype="i4", chunks=(1,))

    def boom(done, total):
        raise RuntimeError(f"stop at {done}")

    with pytest.raises(RuntimeError, match="stop at"):
        arr.write(np.s_[...], 3, progress=boom)
    # Every chunk whole: its old (fill) or its new content.
    assert set(np.unique(arr[...])) <= {0, 3}


def test_ctrl_c_stops_a_long_write(serve, tmp_path):
    import _thread

    zarr_rs.create(tmp_path / "w.zarr", shape=(2000,), dtype="i8", chunks=(1,), compressor=None)
    url = serve(tmp_path, latency_ms=50, writable=True)
    arr = zarr_rs.open(f"{url}/w.zarr", concurrency=1)
    timer = threading.Timer(0.5, _thread.interrupt_main)
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            arr[...] = 9  # 2000 puts one at a time at 50 ms: 100 s
    finally:
        timer.cancel()
    assert time.monotonic() - start < 25
    values = zarr_rs.open(tmp_path / "w.zarr")[...]
    assert set(np.unique(values)) <= {0, 9} and (values == 0).any()


def test_cancelling_the_task_stops_read_async(serve):
    url = serve(FIXTURES, latency_ms=50)
    arr = zarr_rs.open(f"{url}/v2_seed_6443.zarr", concurrency=1)
    seen: list[int] = []

    async def main():
        task = asyncio.create_task(arr.read_async(progress=lambda done, total: seen.append(done)))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The engine notices the token within about 20 ms and the request in flight
        # ends after 50 ms: a second later the read must have stopped for good.
        await asyncio.sleep(1.0)
        stopped_at = len(seen)
        await asyncio.sleep(1.0)
        return stopped_at

    stopped_at = asyncio.run(main())
    assert len(seen) == stopped_at < 1289


def test_bfloat16_is_ml_dtypes_bfloat16_and_tensorstore_reads_it(tmp_path):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    ts = pytest.importorskip("tensorstore")
    arr = zarr_rs.create(tmp_path / "bf.zarr", shape=(6,), dtype="bfloat16", chunks=(4,), fill_value=0.5)
    assert arr.dtype == np.dtype(ml_dtypes.bfloat16)
    arr[1:4] = np.array([1.5, -2.0, 3.25], dtype=np.float32)
    want = np.array([0.5, 1.5, -2.0, 3.25, 0.5, 0.5], dtype=ml_dtypes.bfloat16)
    got = zarr_rs.open(tmp_path / "bf.zarr")[...]
    assert got.dtype == want.dtype and np.array_equal(got.astype(np.float32), want.astype(np.float32))
    spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path / "bf.zarr")}}
    theirs = ts.open(spec).result().read().result()
    assert np.array_equal(np.asarray(theirs).astype(np.float32), want.astype(np.float32))
