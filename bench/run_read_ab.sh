#!/usr/bin/env bash
# Two builds of `zarr` on the local volume of "Read throughput", taking turns per
# layout: the library in the process (`zarr bench read DIR --repeat 5`: best MiB/s and
# peak RSS over 5 reads) and what a user runs (`zarr get DIR -o out.npy`, three cold
# processes: wall seconds / peak RSS MiB from /usr/bin/time).
#
#   bench/run_read_ab.sh OLD_ZARR NEW_ZARR      # ROUNDS=3 LAYOUTS="v3-sharded-zstd v3-zstd v2-blosc-lz4"
#
# Needs the volume in bench-data/read (bench/make_volume.py, or bench/run_read_bench.sh
# once) and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."

OLD=${1:?usage: bench/run_read_ab.sh OLD_ZARR NEW_ZARR}
NEW=${2:?usage: bench/run_read_ab.sh OLD_ZARR NEW_ZARR}
ROUNDS=${ROUNDS:-3}
LAYOUTS=${LAYOUTS:-v3-sharded-zstd v3-zstd v2-blosc-lz4}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "load before: $(cat /proc/loadavg)"
for round in $(seq "$ROUNDS"); do
    for layout in $LAYOUTS; do
        # Alternate which build goes first, so neither always runs on a warmer machine.
        builds=("$OLD" "$NEW")
        if ((round % 2 == 0)); then builds=("$NEW" "$OLD"); fi
        for zarr in "${builds[@]}"; do
            which=old
            [ "$zarr" = "$NEW" ] && which=new
            bench=$("$zarr" bench read "bench-data/read/$layout" --repeat 5 2>&1 |
                awk '/^best/{b=$2} /^peak RSS/{p=$3} END{print b " MiB/s, peak " p " MiB"}')
            get=$(for _ in 1 2 3; do
                /usr/bin/time -f "%e %M" "$zarr" get "bench-data/read/$layout" -o "$out/out.npy" 2>&1 | tail -1
            done | awk '{printf "%s s/%.1f MiB  ", $1, $2 / 1024}')
            echo "round $round $layout $which: bench read $bench; zarr get $get"
        done
    done
done
echo "load after: $(cat /proc/loadavg)"
