#!/usr/bin/env bash
# The seed scenario against nginx with 50 ms latency per request: zarr-rs (async and
# blocking) over HTTP/1.1, HTTPS HTTP/1.1 (like S3), HTTPS h2 (ALPN) and h2c, the
# `zarr get URL -o out.npy` process over h2c and HTTPS h2 with the HTTP/2 connection
# cap at 1 and at its default (4), and the Python peers (bench/seed_peers.py) over
# HTTP/1.1 and HTTPS, in one run; one table.
#
#   bench/run_seed_bench.sh                 # REPEAT=5 LATENCY=0.05 PYTHON=... PEERS=1 GET=1
#
# ZARR=path/to/zarr measures that binary and skips the release build (e.g. a build
# another checkout already made); by default this checkout's is built and used.
#
# Needs nginx + libnginx-mod-http-echo + openssl (see bench/nginx.sh) and, for the
# peers, a Python with bench/requirements.txt (PYTHON, default /work/venv/bin/python
# or python3; PEERS=0 skips them). Every read is cold and checks every value.
# The `zarr get` rows time a whole process (start-up, TLS set-up, open, read, .npy
# written), what a user waits for, REPEAT cold processes each; PYTHON (with numpy)
# times them and checks each .npy with bench/seed_peers.py's check. GET=0 skips them.
# "nginx saw" is the protocol nginx logged for those requests; "conns/read" counts
# the distinct connections nginx saw per read.
#
# The zarrs crate is an optional peer (bench/zarrs-peer, a standalone Cargo project
# outside the workspace): ZARRS=1 builds it (release, slow the first time) and runs
# it; by default it runs only if bench/zarrs-peer/target/release/zarrs-peer exists;
# ZARRS=0 skips it. ZARRS_SYNC=0 skips its sync zarrs_http variants (HTTP/1.1 only).
#
# Over TLS every reader trusts the same CA file: by default the system's CA bundle
# with nginx's test CA appended (CA_BUNDLE=system), as a real server's CA sits among
# the ~150 of the system store, and loading that store is part of a client's cost;
# CA_BUNDLE=test gives the test CA alone.
set -euo pipefail
cd "$(dirname "$0")/.."

REPEAT=${REPEAT:-5}
LATENCY=${LATENCY:-0.05}
PEERS=${PEERS:-1}
GET=${GET:-1}
ZARRS=${ZARRS:-auto}
ZARRS_SYNC=${ZARRS_SYNC:-1}
CA_BUNDLE=${CA_BUNDLE:-system}
# BASELINE=path/to/an/older/zarr adds its async reads, labelled with BASELINE_LABEL.
BASELINE=${BASELINE:-}
BASELINE_LABEL=${BASELINE_LABEL:-baseline}
ZARRS_PEER=bench/zarrs-peer/target/release/zarrs-peer
if [ -z "${PYTHON:-}" ]; then
  if [ -x /work/venv/bin/python ]; then PYTHON=/work/venv/bin/python; else PYTHON=python3; fi
fi

if [ -n "${ZARR:-}" ]; then
  [ -x "$ZARR" ] || { echo "ZARR=$ZARR is not an executable" >&2; exit 1; }
  echo "== zarr: $ZARR (not built here)"
else
  echo "== build (release)"
  cargo build --release -q -p zarr-cli
  ZARR=${CARGO_TARGET_DIR:-target}/release/zarr
fi
if [ "$ZARRS" = 1 ]; then
  echo "== build bench/zarrs-peer (release)"
  (cd bench/zarrs-peer && CARGO_TARGET_DIR="$PWD/target" cargo build --release -q)
fi

. bench/start_nginx.sh
serve_seed "$ZARR" "$LATENCY" seed-bench || exit 1 # sets $work, PREFIX, CA, ACCESS_LOG, the URLs
case "$CA_BUNDLE" in
  system)
    system_ca=/etc/ssl/certs/ca-certificates.crt
    [ -r "$system_ca" ] || { echo "no system CA bundle at $system_ca (CA_BUNDLE=test skips it)" >&2; exit 1; }
    TLS_CA="$work/ca-bundle.pem"
    cat "$system_ca" "$CA" >"$TLS_CA"
    ;;
  test) TLS_CA=$CA ;;
  *) echo "CA_BUNDLE must be system or test" >&2; exit 1 ;;
esac
results="$work/results.jsonl"
: >"$results"

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); nginx $(nginx -v 2>&1 | sed 's|.*/||'), ${LATENCY} s latency per request, $REPEAT cold reads each; TLS CA file: $(grep -c 'BEGIN CERTIFICATE' "$TLS_CA") certificates ($CA_BUNDLE)"

# Runs one measurement ($1: protocol label, rest: command printing JSON lines) and
# appends its JSON lines with the protocol and nginx's connections per read.
measure() {
  local protocol=$1
  shift
  local before after conns protos
  before=$(wc -l <"$ACCESS_LOG")
  local out status=0
  out=$("$@" 2>"$work/stderr.txt") || status=$?
  after=$(wc -l <"$ACCESS_LOG")
  conns=$(sed -n "$((before + 1)),${after}p" "$ACCESS_LOG" | awk '{print $7}' | sort -u | wc -l)
  protos=$(sed -n "$((before + 1)),${after}p" "$ACCESS_LOG" | awk '{print $2}' | sort -u | paste -sd+ -)
  printf '%s\n' "$out" | python3 -c '
import json, sys
protocol, conns, repeat, protos = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("{"):
        continue
    d = json.loads(line)
    d["protocol"] = protocol
    d["conns_per_read"] = conns / repeat
    d["server_protocols"] = protos
    print(json.dumps(d))
' "$protocol" "$conns" "$REPEAT" "$protos" >>"$results"
  if [ "$status" != 0 ]; then
    echo "   ($protocol: exit status $status)" >&2
    tail -5 "$work/stderr.txt" >&2
  fi
}

for driver in async blocking; do
  echo "== zarr-rs $driver"
  measure "HTTP/1.1" "$ZARR" bench seed --url "$HTTP_URL/seed.zarr" -r "$REPEAT" --driver $driver --json
  measure "TLS HTTP/1.1" "$ZARR" bench seed --url "$HTTPS_H1_URL/seed.zarr" --cacert "$TLS_CA" -r "$REPEAT" --driver $driver --json
  measure "TLS h2 (ALPN)" "$ZARR" bench seed --url "$HTTPS_H2_URL/seed.zarr" --cacert "$TLS_CA" -r "$REPEAT" --driver $driver --json
  measure "h2c" "$ZARR" bench seed --url "$H2C_URL/seed.zarr" --h2c -r "$REPEAT" --driver $driver --json
done

if [ -n "$BASELINE" ]; then
  echo "== zarr-rs $BASELINE_LABEL ($BASELINE)"
  # Same reads, relabelled so the table keeps them apart from this build's.
  baseline() { "$BASELINE" "$@" | sed "s/\"impl\":\"zarr-rs\"/\"impl\":\"zarr-rs $BASELINE_LABEL async\"/"; }
  measure "HTTP/1.1" baseline bench seed --url "$HTTP_URL/seed.zarr" -r "$REPEAT" --driver async --json
  measure "TLS HTTP/1.1" baseline bench seed --url "$HTTPS_H1_URL/seed.zarr" --cacert "$TLS_CA" -r "$REPEAT" --driver async --json
  measure "TLS h2 (ALPN)" baseline bench seed --url "$HTTPS_H2_URL/seed.zarr" --cacert "$TLS_CA" -r "$REPEAT" --driver async --json
  measure "h2c" baseline bench seed --url "$H2C_URL/seed.zarr" --h2c -r "$REPEAT" --driver async --json
fi

# `zarr get` as a process, REPEAT cold runs ($1: label, $2: URL, rest: zarr get's
# options). The time ends when the process exits; the .npy is removed before each run
# (a run that writes nothing cannot pass on the previous one's file) and checked after.
zarr_get() {
  local label=$1 url=$2
  shift 2
  "$PYTHON" - "$ZARR" "$url" "$REPEAT" "$work/get.npy" "$label" "$@" <<'PY'
import json, os, statistics, subprocess, sys, time
zarr, url, repeat, out, label, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6:]
sys.path.insert(0, os.path.abspath("bench"))
import numpy as np
from seed_peers import check
runs = []
try:
    for _ in range(repeat):
        if os.path.exists(out):
            os.remove(out)
        start = time.perf_counter()
        subprocess.run([zarr, "get", url, "-o", out, *extra], check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        runs.append(time.perf_counter() - start)
        check(np.load(out))
except Exception as e:  # reported in the table like a peer that failed
    err = e.stderr.decode(errors="replace").strip()[-200:] if isinstance(e, subprocess.CalledProcessError) else ""
    print(json.dumps({"impl": label, "url": url, "error": f"{type(e).__name__}: {e} {err}".strip()}))
    sys.exit(1)
print(json.dumps({"impl": label, "url": url, "runs_s": runs, "best_s": min(runs),
                  "median_s": statistics.median(runs), "values_ok": True}))
PY
}

if [ "$GET" = 1 ]; then
  # The connection cap matters only where the server's stream limit binds (h2 and h2c:
  # 100 streams, 1290 requests); the default is the process as a user runs it.
  echo "== zarr get (process), HTTP/2 connection cap 1 and default (4)"
  measure "h2c" zarr_get "zarr get (process), cap 1" "$H2C_URL/seed.zarr" --h2c --h2-connections 1
  measure "h2c" zarr_get "zarr get (process), default cap 4" "$H2C_URL/seed.zarr" --h2c
  measure "TLS h2 (ALPN)" zarr_get "zarr get (process), cap 1" "$HTTPS_H2_URL/seed.zarr" --cacert "$TLS_CA" \
    --h2-connections 1
  measure "TLS h2 (ALPN)" zarr_get "zarr get (process), default cap 4" "$HTTPS_H2_URL/seed.zarr" --cacert "$TLS_CA"
fi

if [ "$PEERS" = 1 ]; then
  for impl in aiohttp zarr-obstore tensorstore zarr-fsspec; do
    echo "== $impl"
    measure "HTTP/1.1" "$PYTHON" bench/seed_peers.py --url "$HTTP_URL/seed.zarr" --impl $impl --repeat "$REPEAT" --json
    measure "TLS HTTP/1.1" env SSL_CERT_FILE="$TLS_CA" "$PYTHON" bench/seed_peers.py --url "$HTTPS_H1_URL/seed.zarr" \
      --impl $impl --repeat "$REPEAT" --json
    measure "TLS h2 (ALPN)" env SSL_CERT_FILE="$TLS_CA" "$PYTHON" bench/seed_peers.py --url "$HTTPS_H2_URL/seed.zarr" \
      --impl $impl --repeat "$REPEAT" --json
  done
fi

if [ "$ZARRS" != 0 ]; then
  if [ -x "$ZARRS_PEER" ]; then
    echo "== zarrs ($("$ZARRS_PEER" version 2>/dev/null || echo "bench/zarrs-peer"))"
    for variant in objstore objstore-c128; do
      measure "HTTP/1.1" "$ZARRS_PEER" seed --url "$HTTP_URL/seed.zarr" --variant $variant --repeat "$REPEAT"
      measure "TLS HTTP/1.1" "$ZARRS_PEER" seed --url "$HTTPS_H1_URL/seed.zarr" --cacert "$TLS_CA" --variant $variant \
        --repeat "$REPEAT"
      measure "TLS h2 (ALPN)" "$ZARRS_PEER" seed --url "$HTTPS_H2_URL/seed.zarr" --cacert "$TLS_CA" --variant $variant \
        --repeat "$REPEAT"
    done
    # object_store speaks HTTP/1.1 unless told otherwise; with_allow_http2 lets ALPN pick h2.
    measure "TLS h2 (ALPN)" "$ZARRS_PEER" seed --url "$HTTPS_H2_URL/seed.zarr" --cacert "$TLS_CA" \
      --variant objstore-c128-h2 --repeat "$REPEAT"
    if [ "$ZARRS_SYNC" = 1 ]; then
      for variant in http-sync http-sync-c128; do
        measure "HTTP/1.1" "$ZARRS_PEER" seed --url "$HTTP_URL/seed.zarr" --variant $variant --repeat "$REPEAT"
      done
    fi
  else
    echo "== zarrs: skipped, $ZARRS_PEER is not built (ZARRS=1 builds it)"
  fi
fi

echo
python3 - "$results" "$LATENCY" <<'EOF'
import json, math, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
latency = float(sys.argv[2])
# One connection with 100 streams (nginx's http2_max_concurrent_streams): 1290
# requests need ceil(1290/100) round trips; metadata must precede the chunks, so
# one more round trip is unavoidable in practice.
bound = math.ceil(1290 / 100) * latency
def name(r):
    return "zarr-rs " + r["driver"] if r["impl"] == "zarr-rs" else r["impl"]
ours = {(r["protocol"]): r["best_s"] for r in rows if r.get("impl") == "zarr-rs" and r.get("driver") == "async" and "best_s" in r}
print(f"| reader | endpoint | nginx saw | best s | median s | conns/read | x bound ({bound:.2f} s) | x zarr-rs async |")
print("|---|---|---|---:|---:|---:|---:|---:|")
for r in rows:
    if "error" in r:
        print(f"| {name(r)} | {r['protocol']} | | failed: {r['error'][:60]} | | | | |")
        continue
    ref = ours.get(r["protocol"])
    rel = f"{r['best_s'] / ref:.2f}" if ref else ""
    print(f"| {name(r)} | {r['protocol']} | {r['server_protocols']} | {r['best_s']:.3f} | {r['median_s']:.3f} | {r['conns_per_read']:.1f} | {r['best_s'] / bound:.2f} | {rel} |")
failed = [r for r in rows if "error" in r]
sys.exit(1 if failed else 0)
EOF
