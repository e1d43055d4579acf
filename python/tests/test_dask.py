"""zarr_rs arrays in Dask: pickled to worker processes of a LocalCluster, reopened
there from their URL, read chunk by chunk; the reduction equals numpy's."""

from __future__ import annotations

import os

import numpy as np
import pytest
import zarr

import zarr_rs

da = pytest.importorskip("dask.array", reason="dask[array] is in tests/requirements.txt")
distributed = pytest.importorskip("distributed")


def test_local_cluster_reduction_equals_numpy(tmp_path):
    rng = np.random.default_rng(16)
    data = rng.normal(size=(64, 50, 30))
    path = str(tmp_path / "dask.zarr")
    z = zarr.create_array(path, shape=data.shape, chunks=(16, 25, 10), shards=(32, 50, 30), dtype="float64")
    z[...] = data

    arr = zarr_rs.open(path)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    ) as cluster, distributed.Client(cluster) as client:
        x = da.from_array(arr, chunks=arr.chunks)
        assert x.numblocks == (4, 2, 3)
        total, by_axis = client.compute([x.sum(), x.mean(axis=(0, 2))], sync=True)
        # Two worker processes, neither of them this one: the array crossed a process
        # boundary (pickled as its URL) to be read.
        pids = set(client.run(os.getpid).values())
        assert len(pids) == 2 and os.getpid() not in pids
    assert np.isclose(total, data.sum())
    assert np.allclose(by_axis, data.mean(axis=(0, 2)))
