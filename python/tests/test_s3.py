"""`zarr_rs.open("s3://...")` against s3s-fs, a real S3 server that checks SigV4
signatures (.ci/run installs it and sets ZARR_S3S_FS)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import numpy as np
import pytest
import zarr

import zarr_rs
from conftest import FIXTURES

ACCESS_KEY, SECRET_KEY = "zarr-rs-test", "zarr-rs-test-secret"


@pytest.fixture
def s3(tmp_path, monkeypatch):
    binary = os.environ.get("ZARR_S3S_FS")
    if not binary:
        pytest.skip("ZARR_S3S_FS is unset (.ci/run sets it)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = tmp_path / "s3"
    (root / "bucket").mkdir(parents=True)
    proc = subprocess.Popen(
        [binary, "--host", "127.0.0.1", "--port", str(port), "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY, str(root)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "s3s-fs exited at start"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "s3s-fs did not listen"
                time.sleep(0.02)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
        yield root / "bucket", f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait()


def test_s3_read_write_and_pickle(s3):
    bucket_dir, endpoint = s3
    name = "v3_shard_nested_compression.zarr"
    shutil.copytree(FIXTURES / name, bucket_dir / name)
    options = {"endpoint": endpoint, "region": "us-east-1", "path_style": True}
    arr = zarr_rs.open(f"s3://bucket/{name}", **options)
    want = zarr.open_array(str(FIXTURES / name), mode="r")[...]
    assert np.array_equal(arr[...], want)
    arr[2:5, 1] = 7
    want[2:5, 1] = 7
    assert np.array_equal(zarr.open_array(str(bucket_dir / name), mode="r")[...], want)
    assert np.array_equal(pickle_roundtrip(arr)[...], want)
    with pytest.raises(zarr_rs.NodeNotFoundError):
        zarr_rs.open("s3://bucket/missing.zarr", **options)
    with pytest.raises(zarr_rs.StoreError):
        zarr_rs.open(f"s3://bucket/{name}", **{**options, "anonymous": True})[...]


def pickle_roundtrip(obj):
    import pickle

    return pickle.loads(pickle.dumps(obj))
