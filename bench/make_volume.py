#!/usr/bin/env python3
"""Writes the read-throughput benchmark volume with zarr-python, in three layouts.

A 1024 x 1024 x 128 uint16 volume (256 MiB): a smooth background (a few
low-frequency waves around 400) with 24 bright Gaussian blobs (like a microscopy
volume) plus Gaussian noise of sigma 4, from a fixed seed, so it compresses like
real data (about 1.5x with zstd, 2x with blosc-lz4 + shuffle), not like zeros. Layouts, each a directory under OUT:

    v3-zstd          zarr v3, 64^3 chunks, zstd level 3
    v2-blosc-lz4     zarr v2, 64^3 chunks, blosc lz4 clevel 5, byte shuffle
    v3-sharded-zstd  zarr v3, 256x256x128 shards of 32^3 inner chunks, zstd level 3

OUT/volume.json records the shape, dtype and the checksum every reader must
reproduce: the wrapping sum of the C-order bytes read as little-endian uint64 words.

    make_volume.py [--out bench-data/read] [--shape 1024,1024,128] [--force]

Existing layouts whose metadata matches are kept unless --force is given.
"""

import argparse
import json
import os
import shutil
import sys
import time

import numpy as np
import zarr
from checksum import word_sum
from numcodecs import Blosc
from zarr.codecs import ZstdCodec

SEED = 20240611
NOISE_SIGMA = 4.0


def make_data(shape):
    """The volume: smooth field + noise, generated slab by slab to bound memory."""
    nx, ny, nz = shape
    rng = np.random.default_rng(SEED)
    out = np.empty(shape, dtype=np.uint16)
    y = np.arange(ny, dtype=np.float32)[None, :, None]
    z = np.arange(nz, dtype=np.float32)[None, None, :]
    # A few blobs ("cells") with random centres and radii.
    blobs = [
        (rng.uniform(0, nx), rng.uniform(0, ny), rng.uniform(0, nz), rng.uniform(20, 90), rng.uniform(500, 4000))
        for _ in range(24)
    ]
    slab = 64
    for x0 in range(0, nx, slab):
        x = np.arange(x0, min(x0 + slab, nx), dtype=np.float32)[:, None, None]
        f = (
            400.0
            + 120.0 * np.sin(x / 97.0) * np.cos(y / 131.0)
            + 80.0 * np.sin(z / 23.0 + x / 211.0)
            + 60.0 * np.cos((x + y) / 59.0 + z / 41.0)
        )
        for cx, cy, cz, r, a in blobs:
            d2 = ((x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2) / (r * r)
            f = f + a * np.exp(-d2)
        f = f + rng.normal(0.0, NOISE_SIGMA, size=f.shape).astype(np.float32)
        out[x0 : x0 + slab] = np.clip(f, 0, 65535).astype(np.uint16)
    return out


def layouts(shape):
    nz = shape[2]
    return {
        "v3-zstd": dict(zarr_format=3, chunks=(64, 64, 64), compressors=ZstdCodec(level=3)),
        "v2-blosc-lz4": dict(
            zarr_format=2, chunks=(64, 64, 64), compressors=Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE)
        ),
        "v3-sharded-zstd": dict(
            zarr_format=3, shards=(256, 256, min(128, nz)), chunks=(32, 32, 32), compressors=ZstdCodec(level=3)
        ),
    }


def store_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "bench-data", "read"))
    ap.add_argument("--shape", default="1024,1024,128", help="x,y,z (z a multiple of 32)")
    ap.add_argument("--force", action="store_true", help="rewrite layouts that already exist")
    args = ap.parse_args()
    shape = tuple(int(s) for s in args.shape.split(","))
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    manifest_path = os.path.join(out, "volume.json")
    manifest = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
    same_volume = manifest.get("shape") == list(shape) and manifest.get("seed") == SEED
    todo = [
        name
        for name in layouts(shape)
        if args.force or not same_volume or not os.path.isdir(os.path.join(out, name))
    ]
    if not todo:
        print(f"{out}: all layouts present ({manifest_path})", file=sys.stderr)
        return
    t = time.perf_counter()
    data = make_data(shape)
    checksum = word_sum(data)
    print(f"generated {shape} uint16 in {time.perf_counter() - t:.1f} s, checksum {checksum:016x}", file=sys.stderr)
    manifest = {
        "shape": list(shape),
        "dtype": "uint16",
        "bytes": int(data.nbytes),
        "seed": SEED,
        "noise_sigma": NOISE_SIGMA,
        "checksum": f"{checksum:016x}",
        "zarr_python": zarr.__version__,
        "layouts": manifest.get("layouts", {}) if same_volume else {},
    }
    for name, kw in layouts(shape).items():
        path = os.path.join(out, name)
        if name not in todo:
            continue
        shutil.rmtree(path, ignore_errors=True)
        t = time.perf_counter()
        arr = zarr.create_array(store=path, shape=shape, dtype="uint16", fill_value=0, **kw)
        arr[...] = data
        size = store_bytes(path)
        print(
            f"{name}: wrote in {time.perf_counter() - t:.1f} s, {size / 2**20:.1f} MiB on disk "
            f"(ratio {data.nbytes / size:.2f})",
            file=sys.stderr,
        )
        manifest["layouts"][name] = {"stored_bytes": size, "ratio": round(data.nbytes / size, 3)}
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
