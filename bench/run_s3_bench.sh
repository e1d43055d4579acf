#!/usr/bin/env bash
# The seed scenario over s3:// (1289 chunks of 40 bytes, v2 blosc-lz4): s3s-fs behind a
# proxy that holds every request LATENCY seconds (bench/..., zarr-store's LatencyProxy,
# one upstream connection per client connection, kept alive), read in one run by
# zarr-rs (`zarr bench seed`, async and blocking drivers in-process; `zarr get` as a
# whole process), zarr-python 3 + obstore and obstore alone (bench/s3_peers.py).
#
#   bench/run_s3_bench.sh            # REPEAT=5 LATENCY=0.05 PYTHON=... S3S_FS=...
#
# Needs the s3s-fs binary (S3S_FS, else ZARR_S3S_FS, else target/s3s-fs/bin/s3s-fs as
# .ci/run builds it) and a Python with bench/requirements.txt (PYTHON, default
# /work/venv/bin/python or python3). Every read is cold and checks every value. The
# proxy counts requests and client connections: "conns/read" is what each reader opened.
set -euo pipefail
cd "$(dirname "$0")/.."

REPEAT=${REPEAT:-5}
LATENCY=${LATENCY:-0.05}
S3S_FS=${S3S_FS:-${ZARR_S3S_FS:-target/s3s-fs/bin/s3s-fs}}
if [ -z "${PYTHON:-}" ]; then
  if [ -x /work/venv/bin/python ]; then PYTHON=/work/venv/bin/python; else PYTHON=python3; fi
fi
[ -x "$S3S_FS" ] || { echo "no s3s-fs at $S3S_FS (set S3S_FS)" >&2; exit 1; }

echo "== build (release)"
cargo build --release -q -p zarr-cli
cargo build --release -q -p zarr-store --example latency_proxy
target=${CARGO_TARGET_DIR:-target}/release
ZARR=$target/zarr

work=$(mktemp -d "${TMPDIR:-/tmp}/zarr-s3-bench.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mkdir -p "$work/root/bench"
s3_port=$(free_port)
export AWS_ACCESS_KEY_ID=zarrbenchkey AWS_SECRET_ACCESS_KEY=zarr-bench-secret AWS_REGION=us-east-1
export AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_CONFIG_FILE=/nonexistent
"$S3S_FS" --host 127.0.0.1 --port "$s3_port" --access-key "$AWS_ACCESS_KEY_ID" \
  --secret-key "$AWS_SECRET_ACCESS_KEY" "$work/root" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 200); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $s3_port), 0.2)" 2>/dev/null && break
  sleep 0.05
done

# The seed array, uploaded through s3:// straight to the server (no proxy).
"$ZARR" bench seed --write "$work/seed.zarr" >/dev/null
AWS_ENDPOINT_URL="http://127.0.0.1:$s3_port" "$ZARR" cp "$work/seed.zarr" s3://bench/seed.zarr

stats="$work/proxy-stats"
"$target/examples/latency_proxy" "127.0.0.1:$s3_port" "$LATENCY" "$stats" >"$work/proxy-url" &
pids+=($!)
for _ in $(seq 200); do [ -s "$work/proxy-url" ] && [ -s "$stats" ] && break; sleep 0.05; done
export AWS_ENDPOINT_URL
AWS_ENDPOINT_URL=$(head -1 "$work/proxy-url")
URL=s3://bench/seed.zarr
results="$work/results.jsonl"
: >"$results"

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg); s3s-fs $("$S3S_FS" --version 2>/dev/null | head -1 || echo '?'), ${LATENCY} s per request at the proxy, two rounds of $REPEAT cold reads per reader"

# Runs one reader (rest: command printing JSON lines) and appends its lines with the
# requests and connections the proxy saw per read.
measure() {
  sleep 0.2
  local before after out status=0
  before=$(cat "$stats")
  out=$("$@" 2>"$work/stderr.txt") || status=$?
  sleep 0.2
  after=$(cat "$stats")
  printf '%s\n' "$out" | python3 -c '
import json, sys
b, a, repeat = [int(x) for x in sys.argv[1].split()], [int(x) for x in sys.argv[2].split()], int(sys.argv[3])
lines = [json.loads(l) for l in sys.stdin if l.strip().startswith("{")]
for d in lines:
    # Several readers in one command (both drivers): the counts are for all of them.
    d["requests_per_read"] = (a[0] - b[0]) / repeat / len(lines)
    d["conns_per_read"] = (a[1] - b[1]) / repeat / len(lines)
    print(json.dumps(d))
' "$before" "$after" "$REPEAT" >>"$results"
  if [ "$status" != 0 ]; then
    echo "   (exit status $status)" >&2
    tail -5 "$work/stderr.txt" >&2
  fi
}

# `zarr get` as a process (start-up, credentials, open, read, .npy written), REPEAT runs.
zarr_get() {
  python3 - "$ZARR" "$URL" "$REPEAT" "$work/get.npy" <<'PY'
import json, statistics, subprocess, sys, time
zarr, url, repeat, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
runs = []
for _ in range(repeat):
    start = time.perf_counter()
    subprocess.run([zarr, "get", url, "-o", out], check=True, stdout=subprocess.DEVNULL)
    runs.append(time.perf_counter() - start)
print(json.dumps({"impl": "zarr get (process)", "runs_s": runs, "best_s": min(runs), "median_s": statistics.median(runs)}))
PY
}

for round in 1 2; do
  echo "== round $round: zarr-rs async"
  measure "$ZARR" bench seed --url "$URL" -r "$REPEAT" --driver async --json
  echo "== round $round: zarr-rs blocking"
  measure "$ZARR" bench seed --url "$URL" -r "$REPEAT" --driver blocking --json
  echo "== round $round: zarr get"
  measure zarr_get
  for impl in zarr-obstore obstore; do
    echo "== round $round: $impl"
    measure "$PYTHON" bench/s3_peers.py --url "$URL" --impl $impl --repeat "$REPEAT"
  done
done
"$PYTHON" -c 'import obstore, zarr; print(f"(zarr-python {zarr.__version__}, obstore {obstore.__version__})")'

echo
python3 - "$results" "$LATENCY" <<'EOF2'
import json, math, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
latency = float(sys.argv[2])
def name(r):
    return "zarr-rs " + r["driver"] if r["impl"] == "zarr-rs" else r["impl"]
# Both rounds of each reader together: best of all runs, median of all runs.
by = {}
for r in rows:
    by.setdefault(name(r), []).append(r)
ours = min(t for r in by.get("zarr-rs async", []) for t in r.get("runs_s", [])) if "zarr-rs async" in by else None
# 1290 requests, 128 at a time, after the metadata: the round trips a reader cannot avoid.
bound = (1 + math.ceil(1289 / 128)) * latency
print(f"| reader | best s | median s | requests/read | conns/read | x bound ({bound:.2f} s) | x zarr-rs async best |")
print("|---|---:|---:|---:|---:|---:|---:|")
for n, rs in by.items():
    errs = [r["error"] for r in rs if "error" in r]
    if errs:
        print(f"| {n} | failed: {errs[0][:80]} | | | | | |")
        continue
    runs = sorted(t for r in rs for t in r["runs_s"])
    best, median = runs[0], runs[len(runs) // 2]
    reqs = sum(r["requests_per_read"] for r in rs) / len(rs)
    conns = sum(r["conns_per_read"] for r in rs) / len(rs)
    ratio = f"{best / ours:.2f}" if ours else "-"
    print(f"| {n} | {best:.3f} | {median:.3f} | {reqs:.0f} | {conns:.1f} | {best / bound:.2f} | {ratio} |")
EOF2
