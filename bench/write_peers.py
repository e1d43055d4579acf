#!/usr/bin/env python3
"""Write-throughput benchmark: one process per write, timed from outside and inside.

Writes the read benchmark's 256 MiB uint16 volume (bench/make_volume.py's data, saved
once as a .npy) into a new array in one of three layouts, with one of three writers:

    zarr-rs      `zarr put DST --from vol.npy --chunks .. [--shards ..] --codec ..
                 --zarr-format ..` (process start to exit; it reads the .npy itself)
    zarr-python  np.load(vol.npy), zarr.create_array(..), arr[...] = data
    tensorstore  np.load(vol.npy), ts.open({"driver": "zarr3"|"zarr", ..., create,
                 delete_existing}), arr.write(data).result()

Layouts (as the read benchmark writes them, same codecs and levels in every writer):

    v3-zstd          v3, 64^3 chunks, zstd level 3, no checksum      (512 chunks)
    v2-blosc-lz4     v2, 64^3 chunks, blosc lz4 clevel 5, byte shuffle, blocksize 0
    v3-sharded-zstd  v3, 256x256x128 shards of 32^3 inner chunks, zstd level 3,
                     index bytes + crc32c at the end                 (16 shards)

(`zarr put --codec zstd` writes level 0, which libzstd maps to its default level 3, the
same compression as level 3; `--codec blosc` is lz4 clevel 5 byte shuffle.)

Every process runs under GNU time (`/usr/bin/time -f '%e %M %U %S'`): wall seconds,
peak RSS (KiB), user and system CPU seconds. The Python writers also report, measured
in-process with time.perf_counter, the load of the .npy and the write alone (the
assignment / the write future, not imports, np.load or array creation). The
destination is deleted (and `sync` run, so earlier writes' writeback does not land in
this one) before each write; no writer fsyncs, so this measures encoding and writing
into the page cache, not the disk.

    write_peers.py make-npy --out DIR [--shape 1024,1024,128]   # DIR/vol.npy (+ vol.json)
    write_peers.py run --impl zarr-rs|zarr-python|tensorstore --layout L --npy F --dst D
                       [--zarr target/release/zarr] [--verify]
    write_peers.py verify --npy F --dst D

`run` prints one JSON line: {"impl", "layout", "bytes", "wall_s", "peak_rss_bytes",
"user_s", "sys_s", "load_s", "write_s", "write_cpu_s" (user + system seconds of the
write alone, all threads), "stored_bytes", "verified"}. With --verify
it reads the result back with zarr-python and checks np.array_equal with the .npy.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

LAYOUTS = ("v3-zstd", "v2-blosc-lz4", "v3-sharded-zstd")

# zarr put's flags per layout.
ZARR_RS_FLAGS = {
    "v3-zstd": ["--chunks", "64,64,64", "--codec", "zstd", "--zarr-format", "3"],
    "v2-blosc-lz4": ["--chunks", "64,64,64", "--codec", "blosc", "--zarr-format", "2"],
    "v3-sharded-zstd": ["--chunks", "32,32,32", "--shards", "256,256,{nz}", "--codec", "zstd", "--zarr-format", "3"],
}

CHILD = r"""
import json, resource, sys, time
impl, layout, npy, dst = sys.argv[1:5]
import numpy as np
if impl == "zarr-python":
    import zarr
    from numcodecs import Blosc
    from zarr.codecs import ZstdCodec
else:
    import tensorstore as ts

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

t = time.perf_counter()
data = np.load(npy)
load_s = time.perf_counter() - t
shape = list(data.shape)

if impl == "zarr-python":
    kw = {
        "v3-zstd": dict(zarr_format=3, chunks=(64, 64, 64), compressors=ZstdCodec(level=3)),
        "v2-blosc-lz4": dict(zarr_format=2, chunks=(64, 64, 64),
                             compressors=Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE)),
        "v3-sharded-zstd": dict(zarr_format=3, shards=(256, 256, min(128, shape[2])), chunks=(32, 32, 32),
                                compressors=ZstdCodec(level=3)),
    }[layout]
    arr = zarr.create_array(store=dst, shape=shape, dtype="uint16", fill_value=0, **kw)
    t, c = time.perf_counter(), cpu()
    arr[...] = data
    write_s, write_cpu_s = time.perf_counter() - t, cpu() - c
else:
    kv = {"driver": "file", "path": dst}
    raw = [{"name": "bytes", "configuration": {"endian": "little"}}]
    zstd = {"name": "zstd", "configuration": {"level": 3, "checksum": False}}
    if layout == "v2-blosc-lz4":
        spec = {"driver": "zarr", "kvstore": kv, "metadata": {
            "shape": shape, "chunks": [64, 64, 64], "dtype": "<u2", "order": "C", "fill_value": 0,
            "compressor": {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0},
            "filters": None}}
    elif layout == "v3-zstd":
        spec = {"driver": "zarr3", "kvstore": kv, "metadata": {
            "shape": shape, "data_type": "uint16", "fill_value": 0,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [64, 64, 64]}},
            "codecs": raw + [zstd]}}
    else:
        spec = {"driver": "zarr3", "kvstore": kv, "metadata": {
            "shape": shape, "data_type": "uint16", "fill_value": 0,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [256, 256, min(128, shape[2])]}},
            "codecs": [{"name": "sharding_indexed", "configuration": {
                "chunk_shape": [32, 32, 32], "codecs": raw + [zstd],
                "index_codecs": raw + [{"name": "crc32c"}], "index_location": "end"}}]}}
    arr = ts.open(spec, create=True, delete_existing=True).result()
    t, c = time.perf_counter(), cpu()
    arr.write(data).result()
    write_s, write_cpu_s = time.perf_counter() - t, cpu() - c
print(json.dumps({"load_s": load_s, "write_s": write_s, "write_cpu_s": write_cpu_s,
                  "ru_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def store_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def timed(cmd):
    """Runs cmd under GNU time; returns (stdout, wall s, peak RSS bytes, user s, sys s)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%e %M %U %S", "-o", tf.name] + cmd, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        wall, rss_kib, user, system = tf.read().split()[-4:]
    return proc.stdout, float(wall), int(rss_kib) * 1024, float(user), float(system)


def verify(npy, dst):
    """Reads dst back with zarr-python; True when it equals the .npy."""
    import numpy as np
    import zarr

    want = np.load(npy, mmap_mode="r")
    got = zarr.open_array(dst, mode="r")
    return got.shape == want.shape and got.dtype == want.dtype and bool(np.array_equal(got[...], want))


def run(args):
    shutil.rmtree(args.dst, ignore_errors=True)
    subprocess.run(["sync"], check=False)
    if args.impl == "zarr-rs":
        import numpy as np

        nz = min(128, np.load(args.npy, mmap_mode="r").shape[2])
        flags = [f.format(nz=nz) for f in ZARR_RS_FLAGS[args.layout]]
        cmd = [args.zarr, "put", args.dst, "--from", args.npy] + flags
        _, wall, rss, user, system = timed(cmd)
        inner = {"load_s": None, "write_s": None, "write_cpu_s": None}
    else:
        out, wall, rss, user, system = timed([sys.executable, "-c", CHILD, args.impl, args.layout, args.npy, args.dst])
        inner = json.loads(out.strip().splitlines()[-1])
        inner.pop("ru_maxrss_bytes", None)
    result = {
        "impl": args.impl,
        "layout": args.layout,
        "bytes": os.path.getsize(args.npy),
        "wall_s": wall,
        "peak_rss_bytes": rss,
        "user_s": user,
        "sys_s": system,
        **inner,
        "stored_bytes": store_bytes(args.dst),
        "verified": verify(args.npy, args.dst) if args.verify else None,
    }
    print(json.dumps(result), flush=True)
    w = f", write {result['write_s']:.2f} s" if result["write_s"] is not None else ""
    print(
        f"{args.impl:12} {args.layout:16} wall {wall:.2f} s{w}, peak RSS {rss / 2**20:.0f} MiB, "
        f"CPU {user + system:.2f} s" + ("" if result["verified"] is None else f", verified {result['verified']}"),
        file=sys.stderr,
    )
    if result["verified"] is False:
        sys.exit(f"{args.impl} {args.layout}: {args.dst} does not read back equal to {args.npy}")


def make_npy(args):
    import numpy as np

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from make_volume import SEED, make_data, word_sum

    shape = tuple(int(s) for s in args.shape.split(","))
    os.makedirs(args.out, exist_ok=True)
    npy = os.path.join(args.out, "vol.npy")
    meta_path = os.path.join(args.out, "vol.json")
    if os.path.exists(npy) and os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        if meta.get("shape") == list(shape) and meta.get("seed") == SEED:
            print(f"{npy}: present", file=sys.stderr)
            return
    data = make_data(shape)
    np.save(npy, data)
    with open(meta_path, "w") as f:
        json.dump({"shape": list(shape), "dtype": "uint16", "seed": SEED, "checksum": f"{word_sum(data):016x}"}, f)
        f.write("\n")
    print(f"{npy}: wrote {data.nbytes} bytes", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make-npy")
    m.add_argument("--out", required=True)
    m.add_argument("--shape", default="1024,1024,128")
    r = sub.add_parser("run")
    r.add_argument("--impl", required=True, choices=("zarr-rs", "zarr-python", "tensorstore"))
    r.add_argument("--layout", required=True, choices=LAYOUTS)
    r.add_argument("--npy", required=True)
    r.add_argument("--dst", required=True)
    r.add_argument("--zarr", default="target/release/zarr")
    r.add_argument("--verify", action="store_true")
    v = sub.add_parser("verify")
    v.add_argument("--npy", required=True)
    v.add_argument("--dst", required=True)
    args = ap.parse_args()
    if args.cmd == "make-npy":
        make_npy(args)
    elif args.cmd == "run":
        run(args)
    else:
        ok = verify(args.npy, args.dst)
        print("equal" if ok else "DIFFERENT")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
