#!/usr/bin/env python3
"""Full-array read throughput and peak RSS of zarr-python 3 and tensorstore.

Each measurement runs in a fresh Python subprocess (peak RSS cannot be reset), which
imports only the library it measures, reads the whole array --repeat times, and
prints one JSON line:

    {"impl": ..., "path": ..., "bytes": N, "runs_s": [...], "cpu_s": [user + system
     seconds of each run, all threads], "best_s": t,
     "best_mib_s": x, "peak_rss_bytes": ru_maxrss, "baseline_rss_bytes": VmRSS
     after import and open, "checksum": "<16 hex>"}

The checksum is the wrapping sum of the C-order bytes as little-endian uint64 words,
the same one `zarr bench read` prints and make_volume.py records.

    peers_read.py [--impl zarr-python|tensorstore ...] [--repeat 5] PATH...

Both libraries run with their defaults: zarr-python's async pipeline (concurrency
from zarr.config, default 10) and tensorstore's default file kvstore and thread pools,
no cache pool (nothing is cached between runs).
"""

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, os, resource, sys, time
import numpy as np

impl, path, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path.insert(0, sys.argv[4])  # bench/, for checksum.py
from checksum import word_sum

def vm_rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return None

if impl == "zarr-python":
    import zarr
    arr = zarr.open_array(path, mode="r")
    read = lambda: arr[...]
elif impl == "tensorstore":
    import tensorstore as ts
    fmt = 2 if os.path.exists(os.path.join(path, ".zarray")) else 3
    spec = {"driver": "zarr" if fmt == 2 else "zarr3", "kvstore": {"driver": "file", "path": path}}
    arr = ts.open(spec, read=True).result()
    read = lambda: arr.read().result()
else:
    sys.exit(f"unknown impl {impl}")

def cpu_time():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

baseline = vm_rss()
runs, cpu, checksum, nbytes = [], [], None, 0
for i in range(repeat):
    t, c = time.perf_counter(), cpu_time()
    out = read()
    runs.append(time.perf_counter() - t)
    cpu.append(cpu_time() - c)
    nbytes = out.nbytes
    if checksum is None:
        checksum = word_sum(out)
    del out
best = min(runs)
print(json.dumps({
    "impl": impl, "path": path, "bytes": nbytes, "runs_s": runs, "cpu_s": cpu, "best_s": best,
    "best_mib_s": nbytes / 2**20 / best,
    "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "baseline_rss_bytes": baseline, "checksum": f"{checksum:016x}",
}))
"""

IMPLS = ("zarr-python", "tensorstore")


def measure(impl, path, repeat):
    """Runs one measurement in a fresh interpreter and returns its JSON result."""
    bench_dir = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, impl, path, str(repeat), bench_dir], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{impl} {path}: exit {proc.returncode}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", metavar="PATH")
    ap.add_argument("--impl", action="append", choices=IMPLS, help="default: both")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    for path in args.paths:
        for impl in args.impl or IMPLS:
            result = measure(impl, path, args.repeat)
            print(json.dumps(result), flush=True)
            print(
                f"{impl:12} {path}: best {result['best_mib_s']:.1f} MiB/s, "
                f"peak RSS {result['peak_rss_bytes'] / 2**20:.1f} MiB",
                file=sys.stderr,
            )


if __name__ == "__main__":
    main()
