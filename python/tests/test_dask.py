"""zarr_rs arrays in Dask: pickled to worker processes of a LocalCluster, reopened
there from their URL, read chunk by chunk; the reduction equals numpy's."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import numpy as np
import pytest
import zarr

import zarr_rs

da = pytest.importorskip("dask.array", reason="dask[array] is in tests/requirements.txt")
distributed = pytest.importorskip("distributed")


@contextlib.contextmanager
def two_worker_processes() -> Iterator[distributed.Client]:
    """A client of a LocalCluster of two single-threaded worker processes, which start
    with this process's environment."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    ) as cluster, distributed.Client(cluster) as client:
        yield client


def test_local_cluster_reduction_equals_numpy(tmp_path):
    rng = np.random.default_rng(16)
    data = rng.normal(size=(64, 50, 30))
    path = str(tmp_path / "dask.zarr")
    z = zarr.create_array(path, shape=data.shape, chunks=(16, 25, 10), shards=(32, 50, 30), dtype="float64")
    z[...] = data

    arr = zarr_rs.open(path)
    with two_worker_processes() as client:
        x = da.from_array(arr, chunks=arr.chunks)
        assert x.numblocks == (4, 2, 3)
        total, by_axis = client.compute([x.sum(), x.mean(axis=(0, 2))], sync=True)
        # Two worker processes, neither of them this one: the array crossed a process
        # boundary (pickled as its URL) to be read.
        pids = set(client.run(os.getpid).values())
        assert len(pids) == 2 and os.getpid() not in pids
    assert np.isclose(total, data.sum())
    assert np.allclose(by_axis, data.mean(axis=(0, 2)))


PIPELINE_PATH = "zarr_rs.pipeline.ZarrRsCodecPipeline"


def _zarr_setting(key: str) -> object:
    """A zarr setting as the calling process has it. (`client.run(zarr.config.get, key)`
    would not tell: the bound method pickles this process's configuration with it.)"""
    return zarr.config.get(key)


def _worker_pipeline(path: str) -> tuple[str, float]:
    """In a worker: the pipeline of an array opened there, and the array's sum."""
    z = zarr.open_array(path, mode="r")
    return type(z._async_array.codec_pipeline).__name__, float(z[...].sum())


def test_local_cluster_reduction_over_a_256_mib_volume(tmp_path):
    """The scale of the read benchmark's volume (1024 x 1024 x 128 uint16, 256 MiB,
    64^3 chunks in 32 shards, written by zarr-python): two worker processes read it in
    256 x 256 x 128 blocks (each reopening the array from its pickled URL) and the sums
    equal numpy's, whole and per plane."""
    rng = np.random.default_rng(256)
    data = rng.integers(0, 4096, size=(1024, 1024, 128), dtype=np.uint16)
    path = str(tmp_path / "volume.zarr")
    z = zarr.create_array(path, shape=data.shape, chunks=(64, 64, 64), shards=(256, 256, 128), dtype="uint16")
    z[...] = data

    arr = zarr_rs.open(path)
    with two_worker_processes() as client:
        x = da.from_array(arr, chunks=(256, 256, 128))
        assert x.numblocks == (4, 4, 1)
        total, per_plane = client.compute([x.sum(dtype=np.uint64), x.sum(axis=(0, 1), dtype=np.uint64)], sync=True)
        assert len(client.run(os.getpid)) == 2
    assert int(total) == int(data.sum(dtype=np.uint64))
    np.testing.assert_array_equal(per_plane, data.sum(axis=(0, 1), dtype=np.uint64))


def test_from_zarr_through_pipeline_on_local_cluster(tmp_path, monkeypatch):
    """`dask.array.from_zarr` on two worker processes with the zarr_rs pipeline.

    `zarr.config.set` changes this process's configuration only. An array pickled to a
    worker takes its pipeline along (what `from_zarr` does), but the worker's own
    settings (`codec_pipeline.strict`, the pipeline of arrays opened there) come from the
    environment variables zarr reads when it is imported, which the workers inherit from
    this process when the cluster starts them."""
    rng = np.random.default_rng(61)
    data = rng.normal(size=(40, 36, 20))
    path = str(tmp_path / "from_zarr.zarr")
    z = zarr.create_array(path, shape=data.shape, chunks=(10, 12, 10), shards=(20, 36, 20), dtype="float64")
    z[...] = data
    broken = tmp_path / "broken.zarr"
    zarr.create_array(str(broken), shape=(8,), chunks=(4,), dtype="int32")[...] = np.arange(8)
    (broken / "c" / "1").write_bytes(b"not a chunk")

    monkeypatch.setenv("ZARR_CODEC_PIPELINE__PATH", PIPELINE_PATH)
    # Strict: a store the pipeline cannot serve raises in the workers instead of falling
    # back to zarr-python's pipeline ("True", not "true": donfig parses Python literals).
    monkeypatch.setenv("ZARR_CODEC_PIPELINE__STRICT", "True")
    pipeline = {"codec_pipeline.path": PIPELINE_PATH, "codec_pipeline.strict": True}
    with zarr.config.set(pipeline), two_worker_processes() as client:
        pids = client.run(os.getpid)
        assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()
        # The settings are in effect in both workers, for arrays opened there too.
        assert set(client.run(_zarr_setting, "codec_pipeline.path").values()) == {PIPELINE_PATH}
        assert set(client.run(_zarr_setting, "codec_pipeline.strict").values()) == {True}
        seen = client.gather([client.submit(_worker_pipeline, path, workers=[w], pure=False) for w in pids])
        assert {kind for kind, _ in seen} == {"ZarrRsCodecPipeline"}
        assert all(np.isclose(total, data.sum()) for _, total in seen)

        # Dask's own reading: from_zarr opens the path with fsspec's local filesystem.
        x = da.from_zarr(path)
        assert x.numblocks == (4, 3, 2)  # one task per inner chunk, several per shard
        total, by_axis = client.compute([x.sum(), x.mean(axis=(0, 2))], sync=True)
        # The reads ran in the workers through zarr_rs: a corrupt chunk raises zarr_rs's
        # error, naming its key.
        with pytest.raises(zarr_rs.ChunkError, match="c/1"):
            client.compute(da.from_zarr(str(broken)).sum(), sync=True)
    assert np.isclose(total, data.sum())
    assert np.allclose(by_axis, data.mean(axis=(0, 2)))
