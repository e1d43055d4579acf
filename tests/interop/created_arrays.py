"""Arrays made by `zarr create` open in zarr-python, and what zarr-python then
writes into them reads back through `zarr get`, for both formats, every
compressor, sharding, a spread of dtypes and fill values.

Usage: python created_arrays.py PATH/TO/zarr WORKDIR
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import zarr

ZARR, WORK = sys.argv[1], Path(sys.argv[2])

CASES = [
    # (name, dtype arg, numpy dtype, fill value arg, expected fill)
    ("u16", "uint16", np.uint16, "7", 7),
    ("i8", "int8", np.int8, "-3", -3),
    ("f64nan", "float64", np.float64, "NaN", np.nan),
    ("f32", "<f4", np.float32, "1.5", 1.5),
    ("bool", "bool", np.bool_, "true", True),
    ("c64", "complex64", np.complex64, "[1.0, -2.0]", 1 - 2j),
]


def zarr_cli(*args):
    run = subprocess.run([ZARR, *args], capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"zarr {' '.join(args)} failed: {run.stderr}")
    return run.stdout


def same(a, b):
    return np.array_equal(a, b, equal_nan=np.issubdtype(np.asarray(a).dtype, np.inexact))


checked = 0
for fmt in ("2", "3"):
    for codec in ("zstd", "blosc", "gzip", "none"):
        for shards in ([None, "20,24"] if fmt == "3" else [None]):
            for name, dtype_arg, dtype, fill_arg, fill in CASES:
                path = WORK / f"v{fmt}_{codec}_{'sh' if shards else 'ch'}_{name}.zarr"
                args = ["create", str(path), "--shape", "37,50", "--dtype", dtype_arg,
                        "--chunks", "10,12", "--codec", codec, "--zarr-format", fmt,
                        f"--fill-value={fill_arg}", "--attrs", json.dumps({"case": name})]
                if shards:
                    args += ["--shards", shards]
                zarr_cli(*args)
                a = zarr.open_array(path, mode="r+")
                assert a.metadata.zarr_format == int(fmt), path
                assert a.shape == (37, 50) and a.dtype == np.dtype(dtype), (path, a.shape, a.dtype)
                assert a.chunks == (10, 12), (path, a.chunks)
                if shards:
                    assert a.shards == (20, 24), (path, a.shards)
                assert dict(a.attrs) == {"case": name}, (path, dict(a.attrs))
                assert same(a[...], np.full((37, 50), fill, dtype=dtype)), f"{path}: fill value"
                rng = np.random.default_rng(len(str(path)))
                data = (rng.random((37, 50)) * 100).astype(dtype)
                a[3:30, 5:41] = data[3:30, 5:41]
                expected = np.full((37, 50), fill, dtype=dtype)
                expected[3:30, 5:41] = data[3:30, 5:41]
                out = path.with_suffix(".npy")
                zarr_cli("get", str(path), "-o", str(out))
                got = np.load(out)
                assert got.dtype == np.dtype(dtype) and same(got, expected), f"{path}: zarr get differs"
                checked += 1
print(f"{checked} arrays created by `zarr create` open in zarr-python {zarr.__version__} and read back")
