#!/usr/bin/env bash
# Two builds of `zarr` on the seed scenario over nginx endpoints, taking turns:
# A, B, B, A, A, B, ... so that neither always runs first (or on a warmer machine).
#
#   bench/run_seed_ab.sh OLD_ZARR NEW_ZARR     # ROUNDS=4 REPEAT=5 LATENCY=0.05
#                                              # ENDPOINTS=HTTP_URL DRIVERS="async blocking"
#   DRIVERS=get ENDPOINTS="H2C_URL HTTPS_H2_URL HTTP_URL HTTPS_H1_URL" bench/run_seed_ab.sh OLD NEW
#
# ENDPOINTS are bench/nginx.sh's URLs (HTTP_URL, HTTPS_H1_URL, HTTPS_H2_URL, H2C_URL;
# the TLS ones trust nginx's test CA, H2C_URL adds --h2c). DRIVERS: `async` and
# `blocking` time the library in the process (`zarr bench seed --driver D`); `get`
# times what a user runs, the `zarr get URL -o out.npy` process from start to exit,
# with no other options (each run a cold process). Every read checks every value.
# Prints one JSON line per invocation, then per endpoint, build and driver the median
# and best of all its reads and the connections nginx saw per read. Needs nginx +
# libnginx-mod-http-echo (see bench/nginx.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

OLD=${1:?usage: bench/run_seed_ab.sh OLD_ZARR NEW_ZARR}
NEW=${2:?usage: bench/run_seed_ab.sh OLD_ZARR NEW_ZARR}
ROUNDS=${ROUNDS:-4}
REPEAT=${REPEAT:-5}
LATENCY=${LATENCY:-0.05}
ENDPOINTS=${ENDPOINTS:-${ENDPOINT:-HTTP_URL}}
DRIVERS=${DRIVERS:-async blocking}

. bench/start_nginx.sh
serve_seed "$NEW" "$LATENCY" seed-ab || exit 1 # sets $work, PREFIX, CA, ACCESS_LOG, the URLs
results="$work/results.jsonl"
: >"$results"
echo "== $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $ENDPOINTS, ${LATENCY} s per request"

run() { # label binary driver endpoint
  local before after conns url extra=()
  url="${!4}/seed.zarr"
  case "$4" in
    HTTPS_*) extra=(--cacert "$CA") ;;
    H2C_URL) extra=(--h2c) ;;
  esac
  before=$(wc -l <"$ACCESS_LOG")
  if [ "$3" = get ]; then
    python3 -c '
import json, subprocess, sys, time
zarr, url, work, repeat, extra = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
runs = []
for _ in range(repeat):
    start = time.perf_counter()
    subprocess.run([zarr, "get", url, "-o", f"{work}/out.npy", *extra], check=True, capture_output=True)
    runs.append(time.perf_counter() - start)
print(json.dumps({"driver": "get", "runs_s": runs}))' "$2" "$url" "$work" "$REPEAT" "${extra[@]}" >"$work/out.json"
  else
    "$2" bench seed --url "$url" "${extra[@]}" -r "$REPEAT" --driver "$3" --json >"$work/out.json"
  fi
  after=$(wc -l <"$ACCESS_LOG")
  conns=$(sed -n "$((before + 1)),${after}p" "$ACCESS_LOG" | awk '{print $7}' | sort -u | wc -l)
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
d["build"], d["endpoint"], d["conns_per_read"] = sys.argv[2], sys.argv[5], int(sys.argv[3]) / int(sys.argv[4])
print(json.dumps(d))' "$work/out.json" "$1" "$conns" "$REPEAT" "$4" | tee -a "$results"
}

for round in $(seq 1 "$ROUNDS"); do
  for endpoint in $ENDPOINTS; do
    for driver in $DRIVERS; do
      if [ $((round % 2)) = 1 ]; then
        run old "$OLD" "$driver" "$endpoint"
        run new "$NEW" "$driver" "$endpoint"
      else
        run new "$NEW" "$driver" "$endpoint"
        run old "$OLD" "$driver" "$endpoint"
      fi
    done
  done
done
echo "== load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$results" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| endpoint | build | driver | reads | median s | best s | conns/read |")
print("|---|---|---|---:|---:|---:|---:|")
med = {}
groups = sorted({(r["endpoint"], r["driver"]) for r in rows})
for endpoint, driver in groups:
    for build in ("old", "new"):
        rs = [r for r in rows if (r["build"], r["endpoint"], r["driver"]) == (build, endpoint, driver)]
        runs = [t for r in rs for t in r["runs_s"]]
        med[build, endpoint, driver] = statistics.median(runs)
        conns = statistics.mean(r["conns_per_read"] for r in rs)
        print(f"| {endpoint} | {build} | {driver} | {len(runs)} | {med[build, endpoint, driver]:.3f} | {min(runs):.3f} | {conns:.1f} |")
for endpoint, driver in groups:
    print(f"{endpoint} {driver}: new / old median = {med['new', endpoint, driver] / med['old', endpoint, driver]:.3f}")
EOF
