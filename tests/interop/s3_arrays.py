"""zarr-rs and zarr-python 3 + obstore on the same S3 server (s3s-fs, which checks SigV4).

1. `zarr put` writes .npy files as v2 and v3 arrays (chunked, sharded) to s3:// URLs;
   zarr-python reads each through obstore's S3Store and it equals the source.
2. `zarr create` makes an empty array on s3://; zarr-python sees its shape, dtype and
   fill value.
3. `zarr cp` copies a whole hierarchy (a group with arrays and a subgroup) from disk to
   s3://, s3:// to s3://, and s3:// back to disk; zarr-python reads the copy in the
   bucket and `zarr get` the local one, both equal to the source.
4. zarr-python writes an array through obstore; `zarr get` reads it from s3://.

Usage: python s3_arrays.py PATH/TO/zarr PATH/TO/s3s-fs WORKDIR
"""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import obstore.store
import zarr
import zarr.storage

ZARR, S3S_FS, WORK = sys.argv[1], sys.argv[2], Path(sys.argv[3])
ACCESS, SECRET, REGION = "zarrtestkey", "zarr-test-secret-0123456789", "us-east-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


root = WORK / "s3-root"
(root / "zarr").mkdir(parents=True)
port = free_port()
server = subprocess.Popen(
    [S3S_FS, "--host", "127.0.0.1", "--port", str(port), "--access-key", ACCESS, "--secret-key", SECRET, str(root)],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
ENDPOINT = f"http://127.0.0.1:{port}"
ENV = {**os.environ, "AWS_ENDPOINT_URL": ENDPOINT, "AWS_ACCESS_KEY_ID": ACCESS, "AWS_SECRET_ACCESS_KEY": SECRET,
       "AWS_REGION": REGION, "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent"}


def zarr_cli(*args):
    run = subprocess.run([ZARR, *args], capture_output=True, text=True, env=ENV)
    if run.returncode != 0:
        raise SystemExit(f"zarr {' '.join(args)} failed: {run.stderr}")
    return run


def s3(prefix):
    """zarr-python's view of s3://zarr/PREFIX through obstore."""
    store = obstore.store.S3Store("zarr", prefix=prefix, endpoint=ENDPOINT, access_key_id=ACCESS,
                                  secret_access_key=SECRET, region=REGION, client_options={"allow_http": True})
    return zarr.storage.ObjectStore(store)


def same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


try:
    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"s3s-fs exited: {server.returncode}")
            time.sleep(0.02)

    rng = np.random.default_rng(11)
    checked = 0
    sources = {
        "u16": rng.integers(0, 60000, (37, 21), dtype=np.uint16),
        "f64": rng.standard_normal((37, 21)),
        "i32be": rng.integers(-10**6, 10**6, (6, 7, 8)).astype(">i4"),
    }
    for name, data in sources.items():
        npy = WORK / f"{name}.npy"
        np.save(npy, data)
        for fmt, codec, shards in [("2", "blosc", None), ("3", "zstd", None), ("3", "gzip", "shards")]:
            key = f"put/{name}_v{fmt}_{codec}_{shards or 'chunks'}.zarr"
            chunk = "4" if shards else "10"
            args = ["put", f"s3://zarr/{key}", "--from", str(npy), "--chunks", ",".join([chunk] * data.ndim),
                    "--zarr-format", fmt, "--codec", codec]
            if shards:
                args += ["--shards", ",".join(["8"] * data.ndim)]
            zarr_cli(*args)
            got = zarr.open_array(s3(key), mode="r")[...]
            if not same(got, data.astype(data.dtype.newbyteorder("="))) and not same(got, data):
                raise SystemExit(f"{key}: zarr-python reads different values")
            checked += 1

    zarr_cli("create", "s3://zarr/created.zarr", "--shape", "30,40", "--dtype", "float32", "--chunks", "7,9",
             "--fill-value", "1.5")
    created = zarr.open_array(s3("created.zarr"), mode="r")
    if created.shape != (30, 40) or created.dtype != np.float32 or not np.all(created[...] == 1.5):
        raise SystemExit(f"created.zarr: {created.shape} {created.dtype} {created[0, 0]}")
    checked += 1

    # A hierarchy: disk -> s3 -> s3 -> disk.
    src = WORK / "tree.zarr"
    tree = zarr.open_group(str(src), mode="w")
    tree.attrs["title"] = "tree"
    tree.create_array("a", data=sources["u16"], chunks=(10, 10))
    sub = tree.create_group("sub")
    sub.create_array("b", data=sources["f64"], chunks=(5, 21))
    zarr_cli("cp", str(src), "s3://zarr/tree.zarr")
    zarr_cli("cp", "s3://zarr/tree.zarr", "s3://zarr/tree2.zarr")
    back = WORK / "tree_back.zarr"
    zarr_cli("cp", "s3://zarr/tree2.zarr", str(back))
    for where, group in [("s3://zarr/tree2.zarr", zarr.open_group(s3("tree2.zarr"), mode="r")),
                         (str(back), zarr.open_group(str(back), mode="r"))]:
        if group.attrs["title"] != "tree":
            raise SystemExit(f"{where}: attributes {dict(group.attrs)}")
        if not same(group["a"][...], sources["u16"]) or not same(group["sub/b"][...], sources["f64"]):
            raise SystemExit(f"{where}: values differ")
        checked += 1

    # zarr-python writes through obstore; zarr-rs reads from s3://.
    written = zarr.create_array(s3("by_python.zarr"), shape=(50, 13), chunks=(8, 8), dtype="int64")
    values = np.arange(50 * 13, dtype=np.int64).reshape(50, 13)
    written[...] = values
    npy = WORK / "by_python.npy"
    zarr_cli("get", "s3://zarr/by_python.zarr", "-o", str(npy))
    if not same(np.load(npy), values):
        raise SystemExit("by_python.zarr: zarr get reads different values")
    checked += 1
    print(f"s3 interop: {checked} arrays and hierarchies written by one side and read by the other")
finally:
    server.kill()
    server.wait()
