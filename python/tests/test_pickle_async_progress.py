"""Pickling (reopen from URL and options), the asyncio variants and progress callbacks."""

from __future__ import annotations

import asyncio
import pickle

import numpy as np
import pytest

import zarr_rs
from conftest import FIXTURES


def test_array_pickles_by_url_and_options(serve):
    url = serve(FIXTURES)
    arr = zarr_rs.open(f"{url}/v2_seed_6443.zarr", concurrency=4, timeout=30)
    again = pickle.loads(pickle.dumps(arr))
    assert isinstance(again, zarr_rs.Array)
    assert again.url == arr.url and again.shape == arr.shape
    assert np.array_equal(again[100:300], arr[100:300])


def test_group_member_pickles_with_its_path():
    group = zarr_rs.open(FIXTURES / "v3_group.zarr")
    child = group["sub"]
    again = pickle.loads(pickle.dumps(group))
    assert again.keys() == group.keys()
    nested = [m for _, m in child.members() if isinstance(m, zarr_rs.Array)]
    for arr in nested:
        back = pickle.loads(pickle.dumps(arr))
        assert back.path == arr.path
        assert np.array_equal(back[...], arr[...], equal_nan=True)


def test_async_open_and_read():
    async def main():
        arr = await zarr_rs.open_async(FIXTURES / "v3_shard_nested_compression.zarr")
        # Several reads at once on the event loop.
        parts = await asyncio.gather(*(arr.read_async(np.s_[i]) for i in range(arr.shape[0])))
        return arr, parts

    arr, parts = asyncio.run(main())
    assert np.array_equal(np.stack(parts), arr[...])


def test_progress_callback_reaches_total():
    arr = zarr_rs.open(FIXTURES / "v2_seed_6443.zarr")
    seen = []
    out = arr.read(slice(None), progress=lambda done, total: seen.append((done, total)))
    assert np.array_equal(out, arr[...])
    assert seen and seen[-1][0] == seen[-1][1] > 1
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_progress_callback_exception_stops_the_read():
    arr = zarr_rs.open(FIXTURES / "v2_seed_6443.zarr")

    def boom(done, total):
        raise RuntimeError(f"stop at {done}")

    with pytest.raises(RuntimeError, match="stop at"):
        arr.read(progress=boom)


def test_progress_true_draws_a_tqdm_bar(capsys):
    pytest.importorskip("tqdm", reason="tqdm is in tests/requirements.txt")
    arr = zarr_rs.open(FIXTURES / "v2_seed_6443.zarr")
    out = arr.read(slice(0, 640), progress=True)
    assert np.array_equal(out, arr[:640], equal_nan=True)
    bar = capsys.readouterr().err
    # The last state of the bar: every chunk of the selection done (640 elements in
    # chunks of 5).
    assert "128/128" in bar
