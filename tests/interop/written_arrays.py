"""Writes both ways with zarr-python.

1. `zarr put` writes .npy files of a spread of dtypes as v2 and v3 arrays, with every
   compressor, sharded and not; zarr-python reads each and it equals the source.
2. zarr-python writes arrays; `zarr put --select` updates a region (a read-modify-write
   of the partly covered chunks); zarr-python reads them back with the update in place
   and nothing else changed.
3. A .npy whose dtype or shape does not fit is refused with a non-zero exit, and the
   array is unchanged.

Usage: python written_arrays.py PATH/TO/zarr WORKDIR
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import zarr

ZARR, WORK = sys.argv[1], Path(sys.argv[2])


def zarr_cli(*args, ok=True):
    run = subprocess.run([ZARR, *args], capture_output=True, text=True)
    if ok and run.returncode != 0:
        raise SystemExit(f"zarr {' '.join(args)} failed: {run.stderr}")
    if not ok and run.returncode == 0:
        raise SystemExit(f"zarr {' '.join(args)} should have failed")
    return run


def same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(
        a, b, equal_nan=np.issubdtype(a.dtype, np.inexact))


rng = np.random.default_rng(7)
SOURCES = {
    "u8": rng.integers(0, 255, (45, 33), dtype=np.uint8),
    "i16be": rng.integers(-3000, 3000, (45, 33)).astype(">i2"),
    "u64": rng.integers(0, 2**63, (45, 33), dtype=np.uint64),
    "f32": rng.standard_normal((45, 33)).astype(np.float32),
    "f64nan": np.where(rng.random((45, 33)) < 0.2, np.nan, rng.standard_normal((45, 33))),
    "bool": rng.random((45, 33)) < 0.5,
    "c128": (rng.standard_normal((45, 33)) + 1j * rng.standard_normal((45, 33))),
    "m8": rng.integers(0, 10**12, (45, 33)).astype("datetime64[ms]"),
    "zeros": np.zeros((45, 33), dtype=np.int32),  # every chunk is the fill value: none stored
    "3d": rng.integers(0, 1000, (9, 10, 11), dtype=np.int32),
}

checked = 0
for name, data in SOURCES.items():
    npy = WORK / f"{name}.npy"
    np.save(npy, data)
    for fmt in ("2", "3"):
        for codec in ("zstd", "blosc", "gzip", "none"):
            for shards in ([None, "shards"] if fmt == "3" else [None]):
                path = WORK / f"{name}_v{fmt}_{codec}_{shards or 'chunks'}.zarr"
                chunks = ",".join(["4"] * data.ndim) if shards else ",".join(["10"] * data.ndim)
                args = ["put", str(path), "--from", str(npy), "--chunks", chunks,
                        "--codec", codec, "--zarr-format", fmt]
                if shards:
                    args += ["--shards", ",".join(["8"] * data.ndim)]
                # Blocks of one row of stored objects: the .npy read and written in parts.
                zarr_cli(*args, *(["--block-bytes", "1"] if name in ("i16be", "3d", "f64nan") else []))
                a = zarr.open_array(path, mode="r")
                expected = data.astype(data.dtype.newbyteorder("=")) if data.dtype.byteorder == ">" else data
                assert same(a[...], expected), f"{path}: zarr-python reads something else"
                if name == "zeros":
                    stored = [p for p in path.rglob("*") if p.is_file() and p.name not in
                              ("zarr.json", ".zarray", ".zattrs")]
                    assert not stored, f"{path}: chunks equal to the fill value were stored: {stored[:3]}"
                checked += 1

# zarr-python writes, `zarr put --select` updates a region, zarr-python reads back.
updates = 0
for fmt in (2, 3):
    for shards in ([None, (20, 20)] if fmt == 3 else [None]):
        path = WORK / f"py_v{fmt}_{'sh' if shards else 'ch'}.zarr"
        base = rng.integers(0, 60000, (57, 41), dtype=np.uint16)
        kwargs = {"shards": shards} if shards else {}
        z = zarr.create_array(path, shape=base.shape, chunks=(10, 10), dtype="uint16",
                              zarr_format=fmt, fill_value=3, **kwargs)
        z[...] = base
        patch = rng.integers(0, 60000, (13, 7), dtype=np.uint16)
        np.save(WORK / "patch.npy", patch)
        zarr_cli("put", str(path), "--from", str(WORK / "patch.npy"), "--select", "5:31:2, 17:24")
        base[5:31:2, 17:24] = patch
        assert same(zarr.open_array(path, mode="r")[...], base), f"{path}: the update is not what zarr-python reads"
        # Wrong dtype, wrong shape: refused, nothing changed.
        np.save(WORK / "bad_dtype.npy", patch.astype(np.int64))
        zarr_cli("put", str(path), "--from", str(WORK / "bad_dtype.npy"), "--select", "5:31:2, 17:24", ok=False)
        zarr_cli("put", str(path), "--from", str(WORK / "patch.npy"), "--select", "0:10, 0:10", ok=False)
        zarr_cli("put", str(path), "--from", str(WORK / "patch.npy"), "--select", "50:63, 0:7", ok=False)
        assert same(zarr.open_array(path, mode="r")[...], base), f"{path}: a refused put changed the array"
        updates += 1

# Partial shard updates (an index read, ranged reads of the inner chunks the new shard
# needs, untouched inner chunks copied as they are): zarr-python writes sharded arrays
# with the index at the start and at the end, some shards sparse; a sequence of
# `zarr put --select` (one element, whole inner chunks, a strided region across shards,
# a region back to the fill value) each read back by zarr-python with the update in place.
from zarr.codecs import BytesCodec, Crc32cCodec, ShardingCodec, ZstdCodec  # noqa: E402

shard_updates = 0
for location in ("start", "end"):
    path = WORK / f"py_shard_{location}.zarr"
    base = np.full((57, 41), 3, dtype=np.uint16)
    base[:30, :] = rng.integers(0, 60000, (30, 41), dtype=np.uint16)  # the lower shards stay sparse
    serializer = ShardingCodec(chunk_shape=(5, 5), codecs=[BytesCodec(), ZstdCodec()],
                               index_codecs=[BytesCodec(), Crc32cCodec()], index_location=location)
    z = zarr.create_array(path, shape=base.shape, chunks=(20, 20), dtype="uint16", zarr_format=3,
                          fill_value=3, serializer=serializer, compressors=None)
    z[...] = base
    steps = [
        ("7:8, 9:10", (1, 1)),        # one element of one inner chunk
        ("5:10, 20:25", (5, 5)),      # exactly one inner chunk
        ("3:40:4, 1:40:3", (10, 13)), # strided, across the shards of the upper rows
        ("41:44, 0:41", (3, 41)),     # rows in the empty lower shards
        ("41:44, 0:41", (3, 41)),     # and back to the fill value: those shards are deleted
    ]
    for i, (expr, shape) in enumerate(steps):
        patch = (np.full(shape, 3, dtype=np.uint16) if i == len(steps) - 1
                 else rng.integers(0, 60000, shape, dtype=np.uint16))
        np.save(WORK / "patch.npy", patch)
        zarr_cli("put", str(path), "--from", str(WORK / "patch.npy"), "--select", expr)
        base[eval(f"np.s_[{expr}]")] = patch
        assert same(zarr.open_array(path, mode="r")[...], base), f"{path} step {i}: zarr-python reads something else"
        shard_updates += 1
    lower = sorted(p.name for p in (path / "c" / "2").glob("*")) if (path / "c" / "2").exists() else []
    assert not lower, f"{path}: shards left all fill value are still stored: {lower}"

# `zarr cp` of a zarr-python hierarchy: as it is, converted to v2, re-chunked into shards.
root = zarr.open_group(WORK / "tree.zarr", mode="w", zarr_format=3, attributes={"title": "tree"})
temps = root.create_array("temps", shape=(40, 30), chunks=(7, 9), dtype="float32", fill_value=np.nan,
                          dimension_names=["y", "x"], attributes={"units": "K"})
temps[:25, :] = rng.standard_normal((25, 30)).astype(np.float32)
sub = root.create_group("sub", attributes={"kind": "nested"})
counts = sub.create_array("counts", shape=(1000,), chunks=(64,), shards=(256,), dtype="int64")
counts[100:900] = np.arange(800)
copies = 0
for flags in ([], ["--zarr-format", "2", "--codec", "blosc"], ["--chunks", "5,5", "--shards", "10,15"]):
    if flags[:2] == ["--chunks", "5,5"]:
        src, dst = WORK / "tree.zarr" / "temps", WORK / f"cp{copies}.zarr"
    else:
        src, dst = WORK / "tree.zarr", WORK / f"cp{copies}.zarr"
    zarr_cli("cp", str(src), str(dst), *flags)
    if src.name == "temps":
        a, b = zarr.open_array(src, mode="r"), zarr.open_array(dst, mode="r")
        assert b.chunks == (5, 5) and b.shards == (10, 15), (b.chunks, b.shards)
        assert same(b[...], a[...]) and dict(b.attrs) == dict(a.attrs), dst
    else:
        g = zarr.open_group(dst, mode="r")
        assert dict(g.attrs) == {"title": "tree"}, dict(g.attrs)
        assert g.metadata.zarr_format == (2 if "2" in flags else 3)
        assert same(g["temps"][...], temps[...]) and dict(g["temps"].attrs) == {"units": "K"}
        assert same(g["sub/counts"][...], counts[...]) and dict(g["sub"].attrs) == {"kind": "nested"}
    copies += 1

print(f"{shard_updates} partial shard updates read back by zarr-python; "
      f"{checked} arrays written by `zarr put` read back in zarr-python {zarr.__version__}; "
      f"{updates} zarr-python arrays updated in place by `zarr put --select`; "
      f"{copies} `zarr cp` copies of a zarr-python hierarchy equal their source")
