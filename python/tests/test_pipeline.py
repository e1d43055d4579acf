"""zarr-python's own API (and xarray's) reading and writing through zarr-rs with one
configuration line: `codec_pipeline.path = "zarr_rs.pipeline.ZarrRsCodecPipeline"`."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

import zarr_rs
from conftest import FIXTURES
from test_fixtures import NAMES, assert_same

PIPELINE = {"codec_pipeline.path": "zarr_rs.pipeline.ZarrRsCodecPipeline"}
ARRAYS = [n for n in NAMES if isinstance(zarr.open(str(FIXTURES / n), mode="r"), zarr.Array)]


def pipeline_of(z: zarr.Array) -> str:
    return type(z._async_array.codec_pipeline).__name__


@pytest.mark.parametrize("name", ARRAYS)
def test_fixture_through_pipeline_equals_default(name):
    path = str(FIXTURES / name)
    want = zarr.open_array(path, mode="r")[...]
    with zarr.config.set(PIPELINE):
        z = zarr.open_array(path, mode="r")
        assert pipeline_of(z) == "ZarrRsCodecPipeline"
        assert_same(z[...], want)
        if z.ndim and all(n > 2 for n in z.shape):
            key = tuple(slice(1, None, 2) for _ in z.shape)
            assert_same(z[key], want[key])


@pytest.fixture
def sharded(tmp_path):
    rng = np.random.default_rng(3)
    data = rng.integers(0, 10_000, size=(30, 41)).astype(np.uint16)
    path = str(tmp_path / "p.zarr")
    z = zarr.create_array(path, shape=data.shape, chunks=(5, 7), shards=(10, 14), dtype="uint16", fill_value=3)
    z[...] = data
    return path, data


def test_selection_modes_through_pipeline(sharded):
    path, data = sharded
    with zarr.config.set(PIPELINE):
        z = zarr.open_array(path, mode="r")
        assert pipeline_of(z) == "ZarrRsCodecPipeline"
        assert np.array_equal(z[3:27:4, -10:], data[3:27:4, -10:])
        assert np.array_equal(z[7], data[7])
        assert z[29, 40] == data[29, 40]
        assert np.array_equal(z.oindex[[0, 29, 15], [40, 0]], data[np.ix_([0, 29, 15], [40, 0])])
        assert np.array_equal(z.vindex[[0, 29, 15], [40, 0, 3]], data[[0, 29, 15], [40, 0, 3]])
        assert np.array_equal(z.blocks[1, 2], data[10:20, 28:41])
        mask = data % 5 == 0
        assert np.array_equal(z.vindex[mask], data[mask])


def test_tiling_reads_decode_into_zarr_pythons_output(sharded, monkeypatch):
    """`z[...]` and `z[a:b]` go to the engine's read_into, straight into zarr-python's
    output (no second buffer); other selections still take the copying path."""
    path, data = sharded
    calls = []
    real = zarr_rs._native.NativeArray.read_into

    def spy(self, mode, key, out):
        calls.append(key)
        return real(self, mode, key, out)

    monkeypatch.setattr(zarr_rs._native.NativeArray, "read_into", spy, raising=False)
    with zarr.config.set(PIPELINE):
        z = zarr.open_array(path, mode="r")
        assert np.array_equal(z[...], data)
        assert np.array_equal(z[3:27, 5:], data[3:27, 5:])
        assert len(calls) == 2
        assert np.array_equal(z[3:27:2, 5:], data[3:27:2, 5:])
        assert np.array_equal(z[7, 5:], data[7, 5:])
        assert len(calls) == 2


def test_read_into_checks_the_buffer(sharded):
    path, data = sharded
    arr = zarr_rs.open(path)
    out = np.empty(data.shape, dtype=data.dtype)
    arr._native.read_into("basic", (slice(None), slice(None)), out.reshape(-1).view(np.uint8))
    assert np.array_equal(out, data)
    with pytest.raises(zarr_rs.ZarrError):
        arr._native.read_into("basic", (slice(None), slice(None)), np.empty(10, np.uint8))
    with pytest.raises(TypeError):
        arr._native.read_into("basic", (slice(None), slice(None)), np.empty(2 * data.size * 2, np.uint8)[::2])


@pytest.mark.parametrize("shards", [None, (8, 8)])
def test_writes_through_pipeline(tmp_path, shards):
    path = str(tmp_path / "w.zarr")
    want = np.full((23, 9), 3, dtype=np.int32)
    with zarr.config.set(PIPELINE):
        z = zarr.create_array(path, shape=want.shape, chunks=(4, 4), shards=shards, dtype="int32", fill_value=3)
        assert pipeline_of(z) == "ZarrRsCodecPipeline"
        z[2:19, 1:8] = np.arange(17 * 7, dtype=np.int32).reshape(17, 7)
        want[2:19, 1:8] = np.arange(17 * 7).reshape(17, 7)
        z[5] = -1
        want[5] = -1
        z.oindex[[0, 22], [0, 8]] = 9
        want[np.ix_([0, 22], [0, 8])] = 9
        z[1:22:3, 6] = np.arange(7)  # strided: written chunk by chunk
        want[1:22:3, 6] = np.arange(7)
        z.vindex[[3, 20], [2, 7]] = [-5, -6]
        want[[3, 20], [2, 7]] = [-5, -6]
        z.oindex[[0, 9, 21], 4] = 11  # a scalar, with an axis dropped
        want[[0, 9, 21], 4] = 11
        z[7, 2:6] = 12
        want[7, 2:6] = 12
        assert np.array_equal(z[...], want)
    # Read back by zarr-python's own pipeline and by zarr_rs directly.
    assert np.array_equal(zarr.open_array(path, mode="r")[...], want)
    assert np.array_equal(zarr_rs.open(path)[...], want)


def test_reads_go_through_zarr_rs(fixture_copy):
    """A corrupt chunk raises zarr_rs's error, naming the key: the engine read it."""
    path = fixture_copy("v3_zstd.zarr")
    (path / "c" / "0" / "1").write_bytes(b"not zstd")
    with zarr.config.set(PIPELINE):
        z = zarr.open_array(str(path), mode="r")
        with pytest.raises(zarr_rs.ChunkError, match="c/0/1"):
            z[...]


def test_unsupported_store_falls_back_or_raises():
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    with zarr.config.set(PIPELINE):
        z = zarr.create_array(zarr.storage.MemoryStore(), shape=(3, 4), chunks=(2, 2), dtype="float32")
        with pytest.warns(UserWarning, match="MemoryStore is not supported"):
            z[...] = data
        with pytest.warns(UserWarning):
            assert np.array_equal(z[...], data)
    with zarr.config.set({**PIPELINE, "codec_pipeline.strict": True}):
        z = zarr.open_array(z.store, mode="r")
        with pytest.raises(NotImplementedError, match="MemoryStore"):
            z[...]


def test_xarray_open_zarr(tmp_path):
    xr = pytest.importorskip("xarray", reason="xarray is in tests/requirements.txt")
    path = str(tmp_path / "ds.zarr")
    rng = np.random.default_rng(7)
    temperature = rng.normal(15, 5, size=(6, 8, 10)).astype(np.float32)
    ds = xr.Dataset(
        {"temperature": (("time", "y", "x"), temperature, {"units": "degC"})},
        coords={"time": np.arange(6), "y": np.linspace(0, 1, 8), "x": np.linspace(0, 2, 10)},
        attrs={"title": "small"},
    )
    ds.to_zarr(path, zarr_format=3, consolidated=False, encoding={"temperature": {"chunks": (2, 4, 5)}})
    with zarr.config.set(PIPELINE):
        opened = xr.open_zarr(path, consolidated=False, chunks=None)
        assert opened.attrs["title"] == "small"
        assert opened.temperature.attrs["units"] == "degC"
        assert np.array_equal(opened.temperature.values, temperature)
        assert np.array_equal(opened.temperature.isel(time=2, x=slice(1, 9, 3)).values, temperature[2, :, 1:9:3])
        assert float(opened.temperature.mean()) == pytest.approx(float(temperature.mean()), rel=1e-6)


def test_dask_from_zarr_through_pipeline(sharded):
    da = pytest.importorskip("dask.array", reason="dask[array] is in tests/requirements.txt")
    path, data = sharded
    with zarr.config.set(PIPELINE):
        z = zarr.open_array(path, mode="r")
        assert pipeline_of(z) == "ZarrRsCodecPipeline"
        x = da.from_zarr(z)
        assert x.chunksize == z.chunks  # one Dask chunk per (inner) chunk
        total = x.astype(np.int64).sum().compute(scheduler="threads")
        rows = x[5:25].max(axis=1).compute(scheduler="threads")
    assert total == data.astype(np.int64).sum()
    assert np.array_equal(rows, data[5:25].max(axis=1))


def _remote_stores(url: str):
    """zarr-python's HTTP stores for `url`: fsspec's and obstore's, where installed."""
    stores = []
    try:
        import aiohttp  # noqa: F401  (fsspec's HTTP filesystem)

        stores.append(("fsspec", zarr.storage.FsspecStore.from_url(url, read_only=True)))
    except ImportError:
        pass
    try:
        from obstore.store import HTTPStore

        stores.append(("obstore", zarr.storage.ObjectStore(HTTPStore.from_url(url, client_options={"allow_http": True}), read_only=True)))
    except ImportError:
        pass
    return stores


@pytest.mark.parametrize("name", ["v3_shard_nested_compression.zarr", "v2_seed_6443.zarr"])
def test_http_stores_through_pipeline(serve, name):
    url = f"{serve(FIXTURES)}/{name}"
    want = zarr.open_array(str(FIXTURES / name), mode="r")[...]
    stores = _remote_stores(url)
    assert stores, "aiohttp or obstore (tests/requirements.txt) is needed"
    for kind, store in stores:
        with zarr.config.set({**PIPELINE, "codec_pipeline.strict": True}):
            z = zarr.open_array(store, mode="r")
            assert pipeline_of(z) == "ZarrRsCodecPipeline", kind
            assert z._async_array.codec_pipeline.location[0].rstrip("/") == url, kind
            assert_same(z[...], want)


def test_obstore_local_store_through_pipeline(sharded):
    obstore = pytest.importorskip("obstore.store", reason="obstore is in tests/requirements.txt")
    path, data = sharded
    store = zarr.storage.ObjectStore(obstore.LocalStore(prefix=path), read_only=True)
    with zarr.config.set({**PIPELINE, "codec_pipeline.strict": True}):
        z = zarr.open_array(store, mode="r")
        assert pipeline_of(z) == "ZarrRsCodecPipeline"
        assert np.array_equal(z[2:29, 3:40:5], data[2:29, 3:40:5])


def _stored_keys(root) -> list[str]:
    """Every object under a LocalStore's root (files; empty directories are no objects)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _fill_value_writes(z: zarr.Array) -> None:
    """Writes of fill value (0) through each of the pipeline's two paths, to chunks not
    stored yet and to chunks they leave all fill value."""
    z.oindex[[9, 10, 22], [0, 2]] = 0  # index arrays: written chunk by chunk
    z[1:22:3, 6] = 0  # strided: written chunk by chunk
    z[...] = 0  # contiguous: one selection
    z[2:19, 1:8] = 5
    z[4:8, 4:8] = 0  # a chunk (or part of a shard) back to fill value
    z[9, 8] = 7
    z.oindex[[9, 22], [8]] = 0  # and one through the chunk-by-chunk path


@pytest.mark.parametrize("how", ["array config", "global config"])
@pytest.mark.parametrize("write_empty", [True, False])
@pytest.mark.parametrize("layout", ["v3", "v3 sharded", "v2"])
def test_write_empty_chunks_like_zarr_python(tmp_path, layout, write_empty, how):
    """zarr-python's `write_empty_chunks` (per array or global) decides, through the
    pipeline as through zarr-python's own, which chunks of fill value are stored: the
    store holds the same objects both ways."""
    keys = {}
    for pipeline in ("default", "zarr_rs"):
        root = tmp_path / f"{pipeline}.zarr"
        settings = dict(PIPELINE, **{"codec_pipeline.strict": True}) if pipeline == "zarr_rs" else {}
        if how == "global config":
            settings["array.write_empty_chunks"] = write_empty
        array_config = {"write_empty_chunks": write_empty} if how == "array config" else None
        shards = (8, 8) if layout == "v3 sharded" else None
        with zarr.config.set(settings):
            z = zarr.create_array(
                str(root), shape=(23, 9), chunks=(4, 4), shards=shards, dtype="int32", fill_value=0,
                zarr_format=2 if layout == "v2" else 3, config=array_config,
            )
            assert pipeline_of(z) == ("ZarrRsCodecPipeline" if pipeline == "zarr_rs" else "BatchedCodecPipeline")
            assert z._async_array.config.write_empty_chunks is write_empty
            _fill_value_writes(z)
            keys[pipeline] = _stored_keys(root)
            values = z[...]
        want = zarr.open_array(str(tmp_path / "default.zarr"), mode="r")[...]
        assert np.array_equal(values, want)
    chunk_keys = [k for k in keys["default"] if not k.endswith(("zarr.json", ".zarray", ".zattrs"))]
    if write_empty:
        assert chunk_keys, "fill-value chunks are stored"
    else:
        assert len(chunk_keys) < (6 * 3 if layout != "v3 sharded" else 3 * 2)
    assert keys["zarr_rs"] == keys["default"]


def test_fsspec_local_store_through_pipeline(sharded):
    """fsspec's local filesystem: what Dask's `from_zarr(path)` opens a path with."""
    path, data = sharded
    with zarr.config.set({**PIPELINE, "codec_pipeline.strict": True}):
        z = zarr.open_array(zarr.storage.FsspecStore.from_url(path), mode="r+")
        assert pipeline_of(z) == "ZarrRsCodecPipeline"
        assert z._async_array.codec_pipeline.location == (path, {})
        assert np.array_equal(z[2:29, 3:40:5], data[2:29, 3:40:5])
        z[0, :] = 7
    data[0, :] = 7
    assert np.array_equal(zarr.open_array(path, mode="r")[...], data)


def test_zero_dimensional_writes_through_pipeline(tmp_path):
    path = str(tmp_path / "scalar.zarr")
    with zarr.config.set({**PIPELINE, "codec_pipeline.strict": True}):
        z = zarr.create_array(path, shape=(), dtype="int64", fill_value=42)
        assert pipeline_of(z) == "ZarrRsCodecPipeline"
        z[...] = 5
        assert z[...] == 5
        z[()] = 6
        assert z[()] == 6
    assert zarr.open_array(path, mode="r")[()] == 6


def test_pickled_array_equals_its_original(sharded):
    """zarr-python compares arrays by value, the pipeline included: the engine arrays the
    pipeline opened (not pickled) take no part."""
    import pickle

    path, data = sharded
    with zarr.config.set(PIPELINE):
        z = zarr.open_array(path, mode="r")
        assert np.array_equal(z[...], data)  # opens the engine's array
        copy = pickle.loads(pickle.dumps(z))
        assert copy == z
        assert np.array_equal(copy[...], data)


def test_resize_and_append_through_pipeline(tmp_path):
    """zarr-python's resize and append change the array's metadata in place, after the
    pipeline opened the array with the engine: the pipeline reopens it."""
    path = str(tmp_path / "grow.zarr")
    with zarr.config.set({**PIPELINE, "codec_pipeline.strict": True}):
        z = zarr.create_array(path, shape=(5, 4), chunks=(2, 3), dtype="int32", fill_value=-1)
        z[...] = np.arange(20).reshape(5, 4)
        assert np.array_equal(z[...], np.arange(20).reshape(5, 4))
        z.append(np.full((3, 4), 7, dtype=np.int32))
        want = np.concatenate([np.arange(20).reshape(5, 4), np.full((3, 4), 7)])
        assert np.array_equal(z[...], want)
        z.resize((9, 7))  # within the last row of chunks, into a new column of them
        grown = np.full((9, 7), -1)
        grown[:8, :4] = want
        assert np.array_equal(z[...], grown)
        z[8, 6] = 3
        grown[8, 6] = 3
        assert np.array_equal(z[...], grown)
        z.resize((10, 7))  # within the same chunks
        grown = np.concatenate([grown, np.full((1, 7), -1)])
        grown[9, 1] = 4
        z[9, 1] = 4
        assert np.array_equal(z[8:], grown[8:])
    assert np.array_equal(zarr.open_array(path, mode="r")[...], grown)


def test_shrink_write_grow_like_zarr_python(tmp_path):
    """After a shrinking resize, a chunk that became an edge chunk is written complete with
    fill value past the new end, as zarr-python's own pipeline does: growing the array
    again shows the same elements both ways."""
    got = {}
    for pipeline in ("default", "zarr_rs"):
        settings = {**PIPELINE, "codec_pipeline.strict": True} if pipeline == "zarr_rs" else {}
        with zarr.config.set(settings):
            z = zarr.create_array(str(tmp_path / f"{pipeline}.zarr"), shape=(6, 4), chunks=(4, 4), dtype="int32", fill_value=-1)
            z[...] = np.arange(24).reshape(6, 4)
            z[1]  # the engine opened the array at its first shape
            z.resize((3, 4))
            z[:, :] = 9  # chunk 0 is an edge chunk now, written complete
            z.resize((6, 4))
            got[pipeline] = z[...]
    assert np.array_equal(got["zarr_rs"], got["default"])
