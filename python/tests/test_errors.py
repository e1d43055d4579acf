"""The documented exceptions, each naming the key, for real failures."""

from __future__ import annotations

import socket

import pytest

import zarr_rs
from conftest import FIXTURES


def test_missing_node_is_key_and_file_not_found_error(tmp_path):
    missing = tmp_path / "nothing.zarr"
    with pytest.raises(zarr_rs.NodeNotFoundError) as info:
        zarr_rs.open(missing)
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, FileNotFoundError)
    assert str(missing) in str(info.value)
    assert info.value.key == str(missing)


def test_missing_child_of_group():
    group = zarr_rs.open(FIXTURES / "v3_group.zarr")
    with pytest.raises(KeyError, match="nope"):
        group["nope"]
    assert "nope" not in group
    assert "a" in group


def test_missing_node_over_http(serve):
    url = serve(FIXTURES)
    with pytest.raises(FileNotFoundError, match="no_such.zarr"):
        zarr_rs.open(f"{url}/no_such.zarr")


def test_bad_selection_is_value_error():
    arr = zarr_rs.open(FIXTURES / "v3_zstd.zarr")
    with pytest.raises(ValueError, match="out of bounds"):
        arr[arr.shape[0]]
    with pytest.raises(ValueError):
        arr[1, 2, 3, 4, 5]


def test_corrupt_chunk_names_its_key(fixture_copy):
    path = fixture_copy("v3_zstd.zarr")
    (path / "c" / "0" / "1").write_bytes(b"this is not zstd data at all")
    arr = zarr_rs.open(path)
    with pytest.raises(zarr_rs.ChunkError) as info:
        arr[...]
    assert isinstance(info.value, ValueError)
    assert "c/0/1" in str(info.value)
    assert info.value.key == "c/0/1"
    # Reads that do not touch the chunk still work.
    assert arr.blocks[0, 0].shape == arr.chunks


def test_corrupt_v2_chunk_names_its_key(fixture_copy):
    path = fixture_copy("v2_zstd.zarr")
    (path / "1.1").write_bytes(b"\x28\xb5\x2f\xfd garbage")
    with pytest.raises(zarr_rs.ChunkError, match=r"1\.1"):
        zarr_rs.open(path)[...]


def test_bad_metadata_is_metadata_error(tmp_path):
    (tmp_path / "bad.zarr").mkdir()
    (tmp_path / "bad.zarr" / "zarr.json").write_text('{"zarr_format": 3, "node_type": "array"}')
    with pytest.raises(zarr_rs.MetadataError, match="zarr.json"):
        zarr_rs.open(tmp_path / "bad.zarr")


def test_store_failure_is_os_error():
    # A loopback port with nobody listening: connection refused.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(zarr_rs.StoreError) as info:
        zarr_rs.open(f"http://127.0.0.1:{port}/a.zarr", timeout=5, connect_timeout=2)
    assert isinstance(info.value, OSError)
    assert info.value.key


def test_unknown_store_option():
    with pytest.raises(TypeError, match="unknown store option"):
        zarr_rs.open(FIXTURES / "v3_zstd.zarr", bogus=1)
    with pytest.raises(ValueError):
        zarr_rs.open(FIXTURES / "v3_zstd.zarr", concurrency=0)


def test_exception_hierarchy():
    for cls in (
        zarr_rs.NodeNotFoundError,
        zarr_rs.StoreError,
        zarr_rs.SelectionError,
        zarr_rs.ChunkError,
        zarr_rs.MetadataError,
    ):
        assert issubclass(cls, zarr_rs.ZarrError)
    assert issubclass(zarr_rs.StoreError, OSError)
