#!/usr/bin/env bash
# The Python readers of issue 16 in one run: full reads of the three layouts of the
# 256 MiB volume (bench/make_volume.py) and the seed scenario over HTTP (nginx, 50 ms
# per request) through
#   (a) zarr_rs.open(path)[...]
#   (b) zarr-python 3.1.6 + zarr_rs.pipeline.ZarrRsCodecPipeline
#   (c) zarr-python 3.1.6 + zarrs.ZarrsCodecPipeline (zarrs-python)
#   (d) zarr-python 3.1.6 defaults
#   (e) tensorstore (volume only)
# next to the `zarr` CLI (`zarr get URL -o F.npy`, a whole process) for the seed.
#
#   bench/run_python_bench.sh               # REPEAT=5 ROUNDS=2 LATENCY=0.05 PYTHON=/work/venv-pybench/bin/python
#                                           # ZARRS_SEED_REPEAT=1 (0 skips zarrs-python over HTTP) BUILD=1
#
# BASELINE_SITE=DIR adds (a) and (b) of another zarr_rs build, installed with
# `pip install --no-deps --target DIR WHEEL` (found first through PYTHONPATH), to the
# same run, labelled "(before)": before/after numbers of a change from one run.
#
# 1. builds `zarr` (release) and the zarr_rs wheel (release, maturin) and installs the
#    wheel into PYTHON's environment (which needs bench/requirements.txt and
#    tests/requirements.txt; zarrs is pinned in bench/requirements.txt); BUILD=0 skips
#    both and uses what is there,
# 2. writes the volume under bench-data/read/ if it is not there, and the seed array,
# 3. starts nginx (bench/nginx.sh) with LATENCY seconds per request,
# 4. ROUNDS times: every reader of every layout, then every seed reader, each reader
#    in a fresh Python process (bench/python_peers.py) that opens and reads REPEAT
#    times; every answer is checked (the volume's checksum, every seed value),
# 5. prints the tables: best and median seconds over all runs, ratios, and the CPU
#    seconds (user + system, all threads) of a read, lowest over all runs; keeps the
#    raw results in OUT (default bench-data/python-results.jsonl).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

REPEAT=${REPEAT:-5}
ROUNDS=${ROUNDS:-2}
LATENCY=${LATENCY:-0.05}
BUILD=${BUILD:-1}
BASELINE_SITE=${BASELINE_SITE:-}
ZARRS_SEED_REPEAT=${ZARRS_SEED_REPEAT:-1}
PYTHON=${PYTHON:-/work/venv-pybench/bin/python}
DATA=${DATA:-$ROOT/bench-data/read}
OUT=${OUT:-$ROOT/bench-data/python-results.jsonl}
LAYOUTS="v3-zstd v2-blosc-lz4 v3-sharded-zstd"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
ZARR=$CARGO_TARGET_DIR/release/zarr

if [ "$BUILD" = 1 ]; then
  echo "== build zarr and the zarr_rs wheel (release)" >&2
  cargo build --release -q -p zarr-cli
  wheels=$CARGO_TARGET_DIR/wheels-release
  rm -rf "$wheels"
  "$(dirname "$PYTHON")/maturin" build -q --locked --release -m python/Cargo.toml -o "$wheels"
  "$PYTHON" -m pip uninstall -q -y zarr-rs
  "$PYTHON" -m pip install -q --no-deps "$wheels"/zarr_rs-*.whl
fi

"$PYTHON" bench/make_volume.py --out "$DATA"

. bench/start_nginx.sh
serve_seed "$ZARR" "$LATENCY" python-bench || exit 1 # sets $work, PREFIX, CA, ACCESS_LOG, the URLs
SEED_URL=$HTTP_URL/seed.zarr

results=$work/results.jsonl
: >"$results"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
status=0
for round in $(seq 1 "$ROUNDS"); do
  for layout in $LAYOUTS; do
    echo "== round $round/$ROUNDS: $layout" >&2
    "$PYTHON" bench/python_peers.py volume --path "$DATA/$layout" --repeat "$REPEAT" >>"$results" || status=1
    if [ -n "$BASELINE_SITE" ]; then
      PYTHONPATH=$BASELINE_SITE "$PYTHON" bench/python_peers.py volume --path "$DATA/$layout" --repeat "$REPEAT" \
        --impl zarr-rs --impl zarr-rs-pipeline --tag before >>"$results" || status=1
    fi
  done
  echo "== round $round/$ROUNDS: seed over HTTP ($LATENCY s per request)" >&2
  ZARR=$ZARR "$PYTHON" bench/python_peers.py seed --url "$SEED_URL" --repeat "$REPEAT" --impl zarr-get \
    --impl zarr-rs --impl zarr-rs-pipeline --impl zarr-python >>"$results" || status=1
  # zarrs-python over fsspec HTTP takes about a minute per read: ZARRS_SEED_REPEAT reads, first round only.
  if [ "$round" = 1 ] && [ "$ZARRS_SEED_REPEAT" != 0 ]; then
    "$PYTHON" bench/python_peers.py seed --url "$SEED_URL" --repeat "$ZARRS_SEED_REPEAT" --impl zarrs-pipeline \
      >>"$results" || status=1
  fi
  if [ -n "$BASELINE_SITE" ]; then
    PYTHONPATH=$BASELINE_SITE "$PYTHON" bench/python_peers.py seed --url "$SEED_URL" --repeat "$REPEAT" \
      --impl zarr-rs --impl zarr-rs-pipeline --tag before >>"$results" || status=1
  fi
done

mkdir -p "$(dirname "$OUT")"
cp "$results" "$OUT"
versions=$("$PYTHON" -c 'import importlib.metadata as m; print(", ".join(f"{p} {m.version(p)}" for p in ("zarr", "zarrs", "tensorstore", "numpy", "zarr-rs")))')
"$PYTHON" - "$results" "$DATA/volume.json" "$REPEAT" "$ROUNDS" "$LOAD_START" "$LATENCY" "$versions" <<'EOF'
import json, os, platform, statistics, sys
results, manifest_path, repeat, rounds, load_start, latency, versions = sys.argv[1:8]
load_end = " ".join(open("/proc/loadavg").read().split()[:3])
manifest = json.load(open(manifest_path))
rows = [json.loads(l) for l in open(results) if l.strip()]
bad = False
runs, errors, cpus = {}, {}, {}
for r in rows:
    key = (r["scenario"], os.path.basename(r["target"].rstrip("/")) if r["scenario"] == "volume" else "seed", r["impl"])
    if "error" in r:
        errors[key] = r["error"]
        bad = True
        continue
    if r["scenario"] == "volume" and r["checksum"] != manifest["checksum"]:
        print(f"CHECKSUM MISMATCH: {key}: {r['checksum']} != {manifest['checksum']}", file=sys.stderr)
        errors[key] = "checksum mismatch"
        bad = True
        continue
    runs.setdefault(key, []).extend(r["runs_s"])
    cpus.setdefault(key, []).extend(r.get("cpu_s") or [])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}; Python {platform.python_version()}, "
      f"{versions}; {rounds} rounds x {repeat} reads per reader (fresh process per reader and round, "
      f"open + read timed); load average {load_start} before, {load_end} after.\n")

def cell(key):
    if key in errors:
        return "failed", "", None
    r = runs.get(key)
    if not r:
        return "", "", None
    return f"{min(r):.3f}", f"{statistics.median(r):.3f}", min(r)

def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "-"

mib = manifest["bytes"] / 2**20
names = {"zarr-rs": "(a) zarr_rs", "zarr-rs-pipeline": "(b) zarr + zarr-rs pipeline",
         "zarrs-pipeline": "(c) zarr + zarrs pipeline", "zarr-python": "(d) zarr defaults",
         "tensorstore": "(e) tensorstore", "zarr-get": "zarr get (CLI process)"}
impls = ["zarr-rs", "zarr-rs-pipeline", "zarrs-pipeline", "zarr-python", "tensorstore"]
print(f"Volume {manifest['shape']} {manifest['dtype']} ({mib:.0f} MiB), full read; best / median seconds (MiB/s of the best):\n")
print("| layout | " + " | ".join(names[i] for i in impls) + " | a/c | b/c | a/e | b/e |")
print("|---|" + "---:|" * (len(impls) + 4))
cpu_rows = []
for layout in ("v3-zstd", "v2-blosc-lz4", "v3-sharded-zstd"):
    best, cells = {}, []
    for i in impls:
        b, m, v = cell(("volume", layout, i))
        best[i] = v
        cells.append(f"{b} / {m} ({mib / v:.0f})" if v else b)
    cpu_rows.append(f"| {layout} | " + " | ".join(
        f"{min(cpus[('volume', layout, i)]):.2f}" if cpus.get(("volume", layout, i)) else "" for i in impls) + " |")
    # Time ratios: below 1 means the first reader is faster.
    print(f"| {layout} | " + " | ".join(cells) + " | "
          + " | ".join(ratio(best[x], best[y]) for x, y in (("zarr-rs", "zarrs-pipeline"), ("zarr-rs-pipeline", "zarrs-pipeline"),
                                                         ("zarr-rs", "tensorstore"), ("zarr-rs-pipeline", "tensorstore"))) + " |")
print()
print("CPU seconds per read (user + system, all threads; lowest over all runs):\n")
print("| layout | " + " | ".join(names[i] for i in impls) + " |")
print("|---|" + "---:|" * len(impls))
print("\n".join(cpu_rows))
before = [i for i in ("zarr-rs", "zarr-rs-pipeline") if any(k[2] == f"{i} (before)" for k in runs)]
if before:
    print()
    print("Before / after (BASELINE_SITE, same run): best / median seconds, after / before of the best:\n")
    print("| layout | " + " | ".join(f"{names[i]} before | after | after / before" for i in before) + " |")
    print("|---|" + "---:|" * (3 * len(before)))
    for layout in ("v3-zstd", "v2-blosc-lz4", "v3-sharded-zstd", "seed"):
        scen = "seed" if layout == "seed" else "volume"
        cells = []
        for i in before:
            b0, m0, v0 = cell((scen, layout, f"{i} (before)"))
            b1, m1, v1 = cell((scen, layout, i))
            cells += [f"{b0} / {m0}", f"{b1} / {m1}", ratio(v1, v0)]
        print(f"| {layout} | " + " | ".join(cells) + " |")
print()
seed_impls = ["zarr-get", "zarr-rs", "zarr-rs-pipeline", "zarrs-pipeline", "zarr-python"]
cli = cell(("seed", "seed", "zarr-get"))[2]
print(f"Seed scenario over HTTP/1.1, nginx, {latency} s per request (1289 chunks):\n")
print("| reader | best s | median s | x zarr get |")
print("|---|---:|---:|---:|")
for i in seed_impls:
    b, m, v = cell(("seed", "seed", i))
    print(f"| {names[i]} | {b} | {m} | {ratio(v, cli)} |")
sys.exit(1 if bad else 0)
EOF
exit $status
