#!/usr/bin/env bash
# Two `zarr` builds side by side on the seed scenario: `zarr get URL -o out.npy` with
# no other options, process start to exit, over h2c, h2 with TLS (ALPN), HTTP/1.1 and
# HTTP/1.1 with TLS, against nginx with 50 ms latency per request (100 streams per h2
# connection). The builds alternate run by run, so a loaded machine slows both alike.
#
#   bench/compare_seed_get.sh OLD_ZARR NEW_ZARR      # REPEAT=7 LATENCY=0.05
#
# Prints, per endpoint, each build's median and all runs, and new/old.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=$1
NEW=$2
REPEAT=${REPEAT:-7}
LATENCY=${LATENCY:-0.05}

work=$(mktemp -d "${TMPDIR:-/tmp}/zarr-seed-compare.XXXXXX")
prefix=""
cleanup() {
  if [ -n "$prefix" ]; then bench/nginx.sh stop "$prefix" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$NEW" bench seed --write "$work/data/seed.zarr" >/dev/null
. bench/start_nginx.sh
out=$(start_nginx "$work/data" "$LATENCY") || exit 1
eval "$out" # PREFIX CA HTTP_URL HTTPS_H2_URL HTTPS_H1_URL H2C_URL
prefix=$PREFIX

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $REPEAT runs per build and endpoint"
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
for endpoint in "h2c|$H2C_URL|--h2c" "h2 TLS|$HTTPS_H2_URL|--cacert=$CA" "HTTP/1.1|$HTTP_URL|" \
  "HTTP/1.1 TLS|$HTTPS_H1_URL|--cacert=$CA"; do
  IFS="|" read -r name url extra <<<"$endpoint"
  old=()
  new=()
  for _ in $(seq "$REPEAT"); do
    for build in old new; do
      zarr=$OLD
      [ "$build" = new ] && zarr=$NEW
      start=$(date +%s.%N)
      # shellcheck disable=SC2086 # $extra is one option or none
      "$zarr" get "$url/seed.zarr" -o "$work/out.npy" $extra >/dev/null 2>"$work/err" ||
        { echo "$name ($build) failed:" >&2; tail -3 "$work/err" >&2; exit 1; }
      t=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$start" "$(date +%s.%N)")
      if [ "$build" = old ]; then old+=("$t"); else new+=("$t"); fi
    done
  done
  mo=$(median "${old[@]}")
  mn=$(median "${new[@]}")
  ratio=$(python3 -c "import sys; print(f'{float(sys.argv[2]) / float(sys.argv[1]):.2f}')" "$mo" "$mn")
  echo "$name: old median $mo s, new median $mn s, new/old $ratio | old: ${old[*]} | new: ${new[*]}"
done
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
