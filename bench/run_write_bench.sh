#!/usr/bin/env bash
# Write-throughput benchmark: zarr-rs (`zarr put`) next to zarr-python and tensorstore,
# writing the read benchmark's 256 MiB uint16 volume from a .npy into a new local array
# in the same three layouts (v3 zstd, v2 blosc-lz4, v3 sharded zstd).
#
#   bench/run_write_bench.sh [--rounds R] [--dir DIR] [--out FILE.jsonl] [--shape X,Y,Z]
#   (--shape: x and y multiples of 256, z of 32; a new shape rewrites DIR/vol.npy)
#
# 1. builds the `zarr` binary (release),
# 2. writes the volume (bench/make_volume.py's data, same seed) as DIR/vol.npy if it is
#    not there (default DIR: bench-data/write/, gitignored),
# 3. for each round and each layout runs zarr-rs, zarr-python and tensorstore one after
#    the other, each a fresh process under GNU time writing DIR/out/<impl>-<layout>
#    (deleted and `sync`ed before each write; bench/write_peers.py), and in round 1
#    reads every output back with zarr-python and checks it equals the .npy,
# 4. prints markdown tables: median over rounds of process wall time (as MiB/s of the
#    256 MiB input), of the Python writers' in-process write time, of CPU seconds, and
#    the largest peak RSS, with the ratios zarr-rs / peer.
#
# Needs /usr/bin/time (GNU time; `apt-get install time`) and the Python of the README's
# set-up (zarr 3.1.6, numcodecs, tensorstore; override with ZARR_BENCH_PYTHON).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
PYTHON=${ZARR_BENCH_PYTHON:-/work/venv/bin/python}
ROUNDS=3
SHAPE=1024,1024,128
DIR=$ROOT/bench-data/write
OUT=
while [ $# -gt 0 ]; do
    case $1 in
        --rounds) ROUNDS=$2; shift 2 ;;
        --dir) DIR=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --shape) SHAPE=$2; shift 2 ;;
        *) echo "usage: $0 [--rounds R] [--dir DIR] [--out FILE.jsonl] [--shape X,Y,Z]" >&2; exit 2 ;;
    esac
done
if [ ! -x /usr/bin/time ]; then
    echo "/usr/bin/time (GNU time) is missing: apt-get install time" >&2
    exit 1
fi
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
OUT=${OUT:-$DIR/write-results.jsonl}
LAYOUTS="v3-zstd v2-blosc-lz4 v3-sharded-zstd"
IMPLS="zarr-rs zarr-python tensorstore"

cargo build --release -p zarr-cli >&2
ZARR=${CARGO_TARGET_DIR:-$ROOT/target}/release/zarr
"$PYTHON" bench/write_peers.py make-npy --out "$DIR" --shape "$SHAPE"

mkdir -p "$(dirname "$OUT")" "$DIR/out"
: > "$OUT"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$ROUNDS"); do
    for layout in $LAYOUTS; do
        echo "round $round/$ROUNDS: $layout" >&2
        for impl in $IMPLS; do
            verify=()
            if [ "$round" = 1 ]; then verify=(--verify); fi
            "$PYTHON" bench/write_peers.py run --impl "$impl" --layout "$layout" --npy "$DIR/vol.npy" \
                --dst "$DIR/out/$impl-$layout" --zarr "$ZARR" "${verify[@]}" >> "$OUT"
        done
    done
done
rm -rf "$DIR/out"

"$PYTHON" - "$OUT" "$ROUNDS" "$LOAD_START" "$DIR/vol.json" <<'EOF'
import json, os, platform, statistics, sys
results_path, rounds, load_start, vol_json = sys.argv[1:5]
shape = json.load(open(vol_json))["shape"]
load_end = " ".join(open("/proc/loadavg").read().split()[:3])
rows = [json.loads(line) for line in open(results_path) if line.strip()]
IMPLS = ("zarr-rs", "zarr-python", "tensorstore")
LAYOUTS = [l for l in ("v3-zstd", "v2-blosc-lz4", "v3-sharded-zstd") if all(
    any(r["layout"] == l and r["impl"] == i for r in rows) for i in IMPLS)]
agg = {}
for r in rows:
    a = agg.setdefault((r["layout"], r["impl"]), {"wall": [], "write": [], "cpu": [], "write_cpu": [], "rss": 0, "stored": 0,
                                                  "verified": []})
    a["wall"].append(r["wall_s"])
    if r["write_s"] is not None:
        a["write"].append(r["write_s"])
        a["write_cpu"].append(r.get("write_cpu_s") or 0.0)
    a["cpu"].append(r["user_s"] + r["sys_s"])
    a["rss"] = max(a["rss"], r["peak_rss_bytes"])
    a["stored"] = r["stored_bytes"]
    if r["verified"] is not None:
        a["verified"].append(r["verified"])
nbytes = rows[0]["bytes"]
mib = nbytes / 2**20
med = statistics.median
def mibs(ts):
    return mib / med(ts) if ts else float("nan")
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"Input {mib:.0f} MiB .npy (uint16, {' x '.join(map(str, shape))}), {os.cpu_count()} cores ({cpu}), "
      f"{platform.system()} {platform.release()}; median of {rounds} rounds, one process per write, page cache "
      f"(no fsync); load average {load_start} before, {load_end} after.\n")
print("Process start to exit (load the .npy, create, write, exit), MiB/s of input:\n")
print("| layout | stored MiB (zarr-rs) | zarr-rs MiB/s | zarr-python MiB/s | tensorstore MiB/s "
      "| zarr-rs / tensorstore | zarr-rs / zarr-python |")
print("|---|---:|---:|---:|---:|---:|---:|")
for l in LAYOUTS:
    rs, zp, ts = (agg[(l, i)] for i in IMPLS)
    print(f"| {l} | {rs['stored'] / 2**20:.0f} | {mibs(rs['wall']):.0f} | {mibs(zp['wall']):.0f} "
          f"| {mibs(ts['wall']):.0f} | {med(ts['wall']) / med(rs['wall']):.2f} "
          f"| {med(zp['wall']) / med(rs['wall']):.2f} |")
print()
print("The write alone (Python writers, in-process, after np.load and create; zarr-rs has only its "
      "whole process):\n")
print("| layout | zarr-python write MiB/s | tensorstore write MiB/s | zarr-rs process / tensorstore write "
      "| zarr-rs process / zarr-python write | zarr-python write CPU s | tensorstore write CPU s |")
print("|---|---:|---:|---:|---:|---:|---:|")
for l in LAYOUTS:
    rs, zp, ts = (agg[(l, i)] for i in IMPLS)
    print(f"| {l} | {mibs(zp['write']):.0f} | {mibs(ts['write']):.0f} | {med(ts['write']) / med(rs['wall']):.2f} "
          f"| {med(zp['write']) / med(rs['wall']):.2f} | {med(zp['write_cpu']):.2f} | {med(ts['write_cpu']):.2f} |")
print()
print(f"Peak RSS (largest over rounds, x the {mib:.0f} MiB input) and CPU s (user + system, whole process, median):\n")
print("| layout | zarr-rs peak RSS MiB | zarr-python peak RSS | tensorstore peak RSS "
      "| zarr-rs CPU s | zarr-python CPU s | tensorstore CPU s |")
print("|---|---:|---:|---:|---:|---:|---:|")
for l in LAYOUTS:
    cells = [f"{agg[(l, i)]['rss'] / 2**20:.0f} ({agg[(l, i)]['rss'] / nbytes:.2f}x)" for i in IMPLS]
    cells += [f"{med(agg[(l, i)]['cpu']):.2f}" for i in IMPLS]
    print(f"| {l} | " + " | ".join(cells) + " |")
bad = [(k, a["verified"]) for k, a in agg.items() if False in a["verified"] or not a["verified"]]
for (l, i), v in bad:
    print(f"NOT VERIFIED: {i} {l}: {v}", file=sys.stderr)
if bad:
    sys.exit(1)
EOF
