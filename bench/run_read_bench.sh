#!/usr/bin/env bash
# Read-throughput benchmark: zarr-rs (`zarr bench read`) next to zarr-python and
# tensorstore, full reads of the same three layouts of one 256 MiB volume.
#
#   bench/run_read_bench.sh [--repeat N] [--rounds R] [--out FILE.jsonl] [--shape X,Y,Z]
#
# 1. builds the `zarr` binary (release),
# 2. writes the volume with zarr-python under bench-data/read/ if it is not there
#    (bench/make_volume.py; bench-data/ is gitignored),
# 3. for each round and each layout runs zarr-rs, zarr-python and tensorstore one
#    after the other, each in a fresh process (peak RSS cannot be reset) reading the
#    whole array N times,
# 4. checks every reader's checksum against the one make_volume.py recorded and
#    prints markdown tables: best MiB/s and the ratios; peak RSS (largest over all
#    rounds, x the output size) and CPU seconds (user + system, all threads) per read.
#
# Rounds interleave the readers so a noisy neighbour slows all of them alike; the
# tables keep each reader's best run, its lowest CPU time and its largest peak RSS.
#
# The zarrs crate is an optional fourth reader (bench/zarrs-peer, a standalone Cargo
# project outside the workspace): ZARRS=1 builds it (release, slow the first time);
# it runs whenever bench/zarrs-peer/target/release/zarrs-peer exists (ZARRS=0 skips
# it) and gets its own table.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
PYTHON=${ZARR_BENCH_PYTHON:-/work/venv/bin/python}
REPEAT=5
ROUNDS=3
SHAPE=1024,1024,128
OUT=$ROOT/bench-data/read-results.jsonl
while [ $# -gt 0 ]; do
    case $1 in
        --repeat) REPEAT=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --shape) SHAPE=$2; shift 2 ;;
        *) echo "usage: $0 [--repeat N] [--rounds R] [--out FILE.jsonl] [--shape X,Y,Z]" >&2; exit 2 ;;
    esac
done
DATA=$ROOT/bench-data/read
if [ "$SHAPE" != 1024,1024,128 ]; then DATA=$ROOT/bench-data/read-${SHAPE//,/x}; fi
LAYOUTS="v3-zstd v2-blosc-lz4 v3-sharded-zstd"

cargo build --release -p zarr-cli >&2
ZARR=${CARGO_TARGET_DIR:-$ROOT/target}/release/zarr
ZARRS=${ZARRS:-auto}
ZARRS_PEER=$ROOT/bench/zarrs-peer/target/release/zarrs-peer
if [ "$ZARRS" = 1 ]; then
    (cd bench/zarrs-peer && CARGO_TARGET_DIR="$PWD/target" cargo build --release >&2)
fi
if [ "$ZARRS" != 0 ] && [ ! -x "$ZARRS_PEER" ]; then
    echo "zarrs: skipped, $ZARRS_PEER is not built (ZARRS=1 builds it)" >&2
    ZARRS=0
fi
"$PYTHON" bench/make_volume.py --out "$DATA" --shape "$SHAPE"

mkdir -p "$(dirname "$OUT")"
: > "$OUT"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$ROUNDS"); do
    for layout in $LAYOUTS; do
        echo "round $round/$ROUNDS: $layout" >&2
        "$ZARR" bench read "$DATA/$layout" --repeat "$REPEAT" --json >> "$OUT"
        "$PYTHON" bench/peers_read.py --repeat "$REPEAT" "$DATA/$layout" >> "$OUT"
        if [ "$ZARRS" != 0 ]; then
            "$ZARRS_PEER" read --path "$DATA/$layout" --repeat "$REPEAT" >> "$OUT"
        fi
    done
done

"$PYTHON" - "$OUT" "$DATA/volume.json" "$REPEAT" "$ROUNDS" "$LOAD_START" <<'EOF'
import json, os, platform, sys
results_path, manifest_path, repeat, rounds, load_start = sys.argv[1:6]
load_end = " ".join(open("/proc/loadavg").read().split()[:3])
manifest = json.load(open(manifest_path))
rows = [json.loads(line) for line in open(results_path) if line.strip()]
bad = [r for r in rows if r["checksum"] != manifest["checksum"]]
for r in bad:
    print(f"CHECKSUM MISMATCH: {r['impl']} {r['path']}: {r['checksum']} != {manifest['checksum']}", file=sys.stderr)
best = {}
for r in rows:
    key = (os.path.basename(r["path"].rstrip("/")), r["impl"])
    b = best.setdefault(key, {"mib_s": 0.0, "rss": 0, "cpu": float("inf")})
    b["mib_s"] = max(b["mib_s"], r["best_mib_s"])
    b["rss"] = max(b["rss"], r["peak_rss_bytes"] or 0)
    b["cpu"] = min([b["cpu"]] + list(r.get("cpu_s") or []))
out_mib = manifest["bytes"] / 2**20
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"Volume {manifest['shape']} {manifest['dtype']} ({out_mib:.0f} MiB), {os.cpu_count()} cores ({cpu}), "
      f"{platform.system()} {platform.release()}; best of {rounds} rounds x {repeat} reads, warm page cache; "
      f"load average {load_start} before, {load_end} after.\n")
IMPLS = ("zarr-rs", "zarr-python", "tensorstore")
LAYOUTS = [l for l in ("v3-zstd", "v2-blosc-lz4", "v3-sharded-zstd") if all((l, i) in best for i in IMPLS)]
print("| layout | stored MiB | zarr-rs MiB/s | zarr-python MiB/s | tensorstore MiB/s "
      "| zarr-rs / tensorstore | zarr-rs / zarr-python |")
print("|---|---:|---:|---:|---:|---:|---:|")
for layout in LAYOUTS:
    rs, zp, ts = (best[(layout, i)] for i in IMPLS)
    stored = manifest["layouts"].get(layout, {}).get("stored_bytes", 0) / 2**20
    print(f"| {layout} | {stored:.0f} | {rs['mib_s']:.0f} | {zp['mib_s']:.0f} | {ts['mib_s']:.0f} "
          f"| {rs['mib_s'] / ts['mib_s']:.2f} | {rs['mib_s'] / zp['mib_s']:.2f} |")
print()
print("| layout | zarr-rs peak RSS MiB | zarr-python peak RSS | tensorstore peak RSS "
      "| zarr-rs CPU s / read | zarr-python CPU s | tensorstore CPU s |")
print("|---|---:|---:|---:|---:|---:|---:|")
for layout in LAYOUTS:
    cells = [f"{best[(layout, i)]['rss'] / 2**20:.0f} ({best[(layout, i)]['rss'] / manifest['bytes']:.2f}x)"
             for i in IMPLS]
    cells += [f"{best[(layout, i)]['cpu']:.2f}" for i in IMPLS]
    print(f"| {layout} | " + " | ".join(cells) + " |")
if any((l, "zarrs") in best for l in LAYOUTS):
    print()
    print("| layout | zarrs MiB/s | zarr-rs / zarrs | zarrs peak RSS MiB | zarrs CPU s / read |")
    print("|---|---:|---:|---:|---:|")
    for layout in LAYOUTS:
        z = best.get((layout, "zarrs"))
        if z:
            print(f"| {layout} | {z['mib_s']:.0f} | {best[(layout, 'zarr-rs')]['mib_s'] / z['mib_s']:.2f} "
                  f"| {z['rss'] / 2**20:.0f} ({z['rss'] / manifest['bytes']:.2f}x) | {z['cpu']:.2f} |")
if bad:
    sys.exit(1)
EOF
