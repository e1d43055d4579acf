#!/usr/bin/env python3
"""Decode throughput of numcodecs (the C libraries zarr-python uses) on one chunk.

Called by `cargo bench -p zarr-proto --features zstd-native --bench decode`, which
writes the raw chunk first and then decodes the same compressed blobs this script
writes, so both sides measure identical input:

    decode_peers.py --raw CHUNK.bin --out DIR [--min-time 1.0]

For each codec it writes DIR/<name>.bin (numcodecs' encoding of the raw chunk),
checks that decoding gives the raw bytes back, times `codec.decode(blob)` and
prints one JSON object per line:
    {"name": ..., "codec": ..., "encoded_bytes": N, "decoded_bytes": N,
     "median_s": t, "mib_per_s": x, "iterations": k}
"""

import argparse
import json
import statistics
import sys
import time

import numcodecs
from numcodecs import GZip, Zstd
from numcodecs.blosc import Blosc

# name -> (numcodecs codec, its config as zarr v2 would store it)
CODECS = {
    "zstd": Zstd(level=3),
    "gzip": GZip(level=5),
    "blosc-lz4-shuffle": Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE, blocksize=0),
    "blosc-lz4-bitshuffle": Blosc(cname="lz4", clevel=5, shuffle=Blosc.BITSHUFFLE, blocksize=0),
    "blosc-lz4-shuffle-f4": Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE, blocksize=0),
    "blosc-lz4-bitshuffle-f4": Blosc(cname="lz4", clevel=5, shuffle=Blosc.BITSHUFFLE, blocksize=0),
    "blosc-lz4-shuffle-f8": Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE, blocksize=0),
    "blosc-lz4-bitshuffle-f8": Blosc(cname="lz4", clevel=5, shuffle=Blosc.BITSHUFFLE, blocksize=0),
}

# Cases on another element type: the first 1 MiB of `uint16 value * 0.1` in that float
# type (the Rust bench derives the same bytes: one correctly rounded multiply).
DTYPES = {
    "blosc-lz4-shuffle-f4": "<f4",
    "blosc-lz4-bitshuffle-f4": "<f4",
    "blosc-lz4-shuffle-f8": "<f8",
    "blosc-lz4-bitshuffle-f8": "<f8",
}


def _input(name, raw):
    """The raw bytes a case encodes, and the array numcodecs' Blosc gets (its typesize)."""
    import numpy as np

    u16 = np.frombuffer(raw, dtype="<u2")
    dtype = np.dtype(DTYPES.get(name, "<u2"))
    if dtype == np.dtype("<u2"):
        return raw, u16
    arr = (u16[: len(raw) // dtype.itemsize].astype(dtype) * dtype.type(0.1)).astype(dtype)
    return arr.tobytes(), arr


def measure(fn, min_time, min_iters=10, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_iters or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), len(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", required=True, help="the raw (decoded) chunk")
    parser.add_argument("--out", required=True, help="directory for the encoded blobs")
    parser.add_argument("--min-time", type=float, default=1.0, help="seconds per codec")
    args = parser.parse_args()

    raw = open(args.raw, "rb").read()
    # Blosc's shuffle needs the element size; the chunk is uint16.
    numcodecs.blosc.use_threads = False  # one thread, like the Rust decoder
    numcodecs.blosc.set_nthreads(1)
    print(
        json.dumps({"numcodecs": numcodecs.__version__, "blosc_version": _blosc_version(), "python": sys.version.split()[0]}),
        flush=True,
    )
    chunk = raw
    for name, codec in CODECS.items():
        raw, arr = _input(name, chunk)
        if isinstance(codec, Blosc):
            blob = bytes(codec.encode(arr))
        else:
            blob = bytes(codec.encode(raw))
        with open(f"{args.out}/{name}.bin", "wb") as f:
            f.write(blob)
        if bytes(codec.decode(blob)) != raw:
            raise SystemExit(f"{name}: numcodecs round trip failed")
        median, iters = measure(lambda: codec.decode(blob), args.min_time)
        print(
            json.dumps(
                {
                    "name": name,
                    "codec": codec.get_config(),
                    "encoded_bytes": len(blob),
                    "decoded_bytes": len(raw),
                    "median_s": median,
                    "mib_per_s": len(raw) / median / 2**20,
                    "iterations": iters,
                }
            ),
            flush=True,
        )


def _blosc_version():
    try:
        from numcodecs import blosc

        return blosc.VERSION_STRING.decode() if isinstance(blosc.VERSION_STRING, bytes) else str(blosc.VERSION_STRING)
    except Exception:  # noqa: BLE001 - informational only
        return "unknown"


if __name__ == "__main__":
    main()
