#!/usr/bin/env python3
"""Test frames for zarr-proto's blosc codec, made and checked with numcodecs (c-blosc 1.21).

    python gen.py generate   # writes numcodecs.txt + numcodecs.bin (frames numcodecs wrote)
    python gen.py verify     # decodes rust.txt + rust.bin (frames our encoder wrote) with numcodecs

The Rust tests rebuild every input with the same `pattern` function, so only the
frames are stored. `rust.bin` is written by the Rust test `write_rust_frames` when
BLOSC_WRITE_TESTDATA=1; the test `encoder_output_is_unchanged` keeps it in sync, so
after changing the encoder: regenerate, run `verify`, commit both.

Manifest lines: name cname clevel shuffle typesize blocksize kind nbytes offset length
"""
import os
import sys

import numpy as np
import numcodecs
from numcodecs.blosc import Blosc

HERE = os.path.dirname(os.path.abspath(__file__))
M32 = np.uint64(0xFFFFFFFF)


def pattern(kind, n, ts):
    """Deterministic test input; mirrored by `pattern` in ../../src/codec/blosc/tests.rs."""
    if kind == "random":
        h = (np.arange(n, dtype=np.uint64) * np.uint64(2654435761)) & M32
        h ^= h >> np.uint64(15)
        h = (h * np.uint64(2246822519)) & M32
        h ^= h >> np.uint64(13)
        return (h & np.uint64(0xFF)).astype(np.uint8).tobytes()
    # "smooth": element k is 3k/16 plus sparse noise, little endian, zero padded to ts bytes
    ne = (n + ts - 1) // ts
    k = np.arange(ne, dtype=np.uint64)
    h = (k * np.uint64(2654435761)) & M32
    noise = np.where((h & np.uint64(0x3F0)) == 0, (h >> np.uint64(13)) & np.uint64(3), np.uint64(0))
    v = k * np.uint64(3) // np.uint64(16) + noise
    b = v.astype("<u8").view(np.uint8).reshape(ne, 8)
    if ts <= 8:
        b = b[:, :ts]
    else:
        b = np.concatenate([b, np.zeros((ne, ts - 8), dtype=np.uint8)], axis=1)
    return b.reshape(-1)[:n].tobytes()


def cases():
    for cname in ["lz4", "lz4hc", "blosclz", "zlib", "zstd"]:
        for shuffle in [0, 1, 2]:
            for ts in [1, 2, 4, 8]:
                for n in [200, 1003, 300_032]:
                    yield (cname, 5, shuffle, ts, 0, "smooth", n)
    # Non power-of-two and large typesizes (generic shuffle paths, typesize > 16 never splits).
    for cname in ["lz4", "blosclz"]:
        for shuffle in [1, 2]:
            for ts in [3, 16, 24]:
                yield (cname, 5, shuffle, ts, 0, "smooth", 50_001)
    # Other levels change the block size (clevel 1: small blocks, 9: large ones).
    for cname in ["lz4", "blosclz", "zstd", "zlib"]:
        for clevel in [1, 9]:
            for shuffle in [1, 2]:
                yield (cname, clevel, shuffle, 4, 0, "smooth", 300_007)
    # Forced block sizes, a leftover block with a bitshuffle tail.
    yield ("lz4", 5, 2, 4, 4096, "smooth", 100_003)
    yield ("blosclz", 5, 1, 2, 256, "smooth", 20_001)
    yield ("zstd", 3, 2, 8, 8192, "smooth", 40_000)
    # Memcpyed frames: clevel 0, too small, incompressible.
    yield ("lz4", 0, 1, 4, 0, "smooth", 1000)
    yield ("zstd", 5, 1, 2, 0, "smooth", 100)
    yield ("lz4", 5, 0, 1, 0, "random", 5000)
    yield ("blosclz", 9, 1, 4, 0, "random", 70_000)
    # Incompressible data inside a compressed frame (raw streams next to compressed ones).
    yield ("lz4", 5, 1, 4, 4096, "mixed", 40_000)


def make_input(kind, n, ts):
    if kind == "mixed":
        half = n // 2
        return pattern("smooth", half, ts) + pattern("random", n - half, ts)
    return pattern(kind, n, ts)


def name_of(c):
    cname, clevel, shuffle, ts, bs, kind, n = c
    return f"{cname}-c{clevel}-s{shuffle}-t{ts}-b{bs}-{kind}-{n}"


def generate():
    lines, blob = [], bytearray()
    for c in cases():
        cname, clevel, shuffle, ts, bs, kind, n = c
        data = make_input(kind, n, ts)
        codec = Blosc(cname=cname, clevel=clevel, shuffle=shuffle, blocksize=bs, typesize=ts)
        frame = codec.encode(data)
        assert codec.decode(frame) == data
        lines.append(f"{name_of(c)} {cname} {clevel} {shuffle} {ts} {bs} {kind} {n} {len(blob)} {len(frame)}")
        blob += frame
    with open(os.path.join(HERE, "numcodecs.txt"), "w") as f:
        f.write(f"# numcodecs {numcodecs.__version__}, c-blosc {numcodecs.blosc.VERSION_STRING}\n")
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(HERE, "numcodecs.bin"), "wb") as f:
        f.write(blob)
    print(f"{len(lines)} frames, {len(blob)} bytes")


def verify():
    blob = open(os.path.join(HERE, "rust.bin"), "rb").read()
    count = 0
    for line in open(os.path.join(HERE, "rust.txt")):
        if line.startswith("#") or not line.strip():
            continue
        name, cname, clevel, shuffle, ts, bs, kind, n, off, ln = line.split()
        frame = blob[int(off) : int(off) + int(ln)]
        expected = make_input(kind, int(n), int(ts))
        got = numcodecs.blosc.decompress(frame) if int(n) else b""
        assert got == expected, f"{name}: numcodecs decodes something else"
        nbytes, cbytes, blocksize = numcodecs.blosc._cbuffer_sizes(frame)
        assert (nbytes, cbytes) == (int(n), len(frame)), name
        count += 1
    print(f"numcodecs decoded all {count} frames written by the Rust encoder")


if __name__ == "__main__":
    {"generate": generate, "verify": verify}[sys.argv[1]]()
