#!/usr/bin/env bash
# Two builds of `zarr` on the seed scenario over one nginx endpoint, taking turns:
# A, B, B, A, A, B, ... so that neither always runs first (or on a warmer machine).
#
#   bench/run_seed_ab.sh OLD_ZARR NEW_ZARR     # ROUNDS=4 REPEAT=5 LATENCY=0.05
#                                              # ENDPOINT=HTTP_URL DRIVERS="async blocking"
#
# ENDPOINT is one of bench/nginx.sh's URLs (HTTP_URL, HTTPS_H1_URL, HTTPS_H2_URL,
# H2C_URL; the TLS ones trust nginx's test CA, H2C_URL adds --h2c). Every read is
# cold and checks every value. Prints one JSON line per invocation, then per build
# and driver the median and best of all its reads and the connections nginx saw per
# read. Needs nginx + libnginx-mod-http-echo (see bench/nginx.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

OLD=${1:?usage: bench/run_seed_ab.sh OLD_ZARR NEW_ZARR}
NEW=${2:?usage: bench/run_seed_ab.sh OLD_ZARR NEW_ZARR}
ROUNDS=${ROUNDS:-4}
REPEAT=${REPEAT:-5}
LATENCY=${LATENCY:-0.05}
ENDPOINT=${ENDPOINT:-HTTP_URL}
DRIVERS=${DRIVERS:-async blocking}

work=$(mktemp -d "${TMPDIR:-/tmp}/zarr-seed-ab.XXXXXX")
prefix=""
cleanup() {
  if [ -n "$prefix" ]; then bench/nginx.sh stop "$prefix" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$NEW" bench seed --write "$work/data/seed.zarr" >/dev/null
. bench/start_nginx.sh
out=$(start_nginx "$work/data" "$LATENCY") || exit 1
eval "$out" # PREFIX CA ACCESS_LOG HTTP_URL HTTPS_H2_URL HTTPS_H1_URL H2C_URL
prefix=$PREFIX
url="${!ENDPOINT}/seed.zarr"
extra=()
case "$ENDPOINT" in
  HTTPS_*) extra=(--cacert "$CA") ;;
  H2C_URL) extra=(--h2c) ;;
esac
results="$work/results.jsonl"
: >"$results"
echo "== $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $url, ${LATENCY} s per request"

run() { # label binary driver
  local before after conns
  before=$(wc -l <"$ACCESS_LOG")
  "$2" bench seed --url "$url" "${extra[@]}" -r "$REPEAT" --driver "$3" --json >"$work/out.json"
  after=$(wc -l <"$ACCESS_LOG")
  conns=$(sed -n "$((before + 1)),${after}p" "$ACCESS_LOG" | awk '{print $7}' | sort -u | wc -l)
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
d["build"], d["conns_per_read"] = sys.argv[2], int(sys.argv[3]) / int(sys.argv[4])
print(json.dumps(d))' "$work/out.json" "$1" "$conns" "$REPEAT" | tee -a "$results"
}

for round in $(seq 1 "$ROUNDS"); do
  for driver in $DRIVERS; do
    if [ $((round % 2)) = 1 ]; then
      run old "$OLD" "$driver"
      run new "$NEW" "$driver"
    else
      run new "$NEW" "$driver"
      run old "$OLD" "$driver"
    fi
  done
done
echo "== load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$results" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| build | driver | reads | median s | best s | conns/read |")
print("|---|---|---:|---:|---:|---:|")
med = {}
for driver in sorted({r["driver"] for r in rows}):
    for build in ("old", "new"):
        rs = [r for r in rows if r["build"] == build and r["driver"] == driver]
        runs = [t for r in rs for t in r["runs_s"]]
        med[build, driver] = statistics.median(runs)
        conns = statistics.mean(r["conns_per_read"] for r in rs)
        print(f"| {build} | {driver} | {len(runs)} | {med[build, driver]:.3f} | {min(runs):.3f} | {conns:.1f} |")
for driver in sorted({r["driver"] for r in rows}):
    print(f"{driver}: new / old median = {med['new', driver] / med['old', driver]:.3f}")
EOF
