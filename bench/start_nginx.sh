# Sourced by the benchmark scripts: `start_nginx DIR LATENCY_SECONDS` starts
# bench/nginx.sh on free loopback ports and prints its KEY=value lines (eval them).
#
# Six consecutive free ports (bench/nginx.sh listens on PORT..PORT+5), below the
# ephemeral range: a client socket's TIME_WAIT blocks nginx from binding a port.
# Another process can take a port between the check and nginx's bind, hence the tries.

free_ports() {
  python3 - <<'PY'
import random, socket
for _ in range(50):
    base = random.randrange(20000, 30000)
    ok = True
    for i in range(6):
        t = socket.socket()
        try:
            t.bind(("127.0.0.1", base + i))
        except OSError:
            ok = False
        finally:
            t.close()
    if ok:
        print(base); break
PY
}

start_nginx() {
  local port out
  for _ in 1 2 3 4 5; do
    port=$(free_ports)
    if out=$(bench/nginx.sh start "$1" "$port" "$2"); then
      printf '%s\n' "$out"
      return 0
    fi
  done
  echo "could not start nginx" >&2
  return 1
}

# `serve_seed ZARR LATENCY_SECONDS LABEL`: the seed scenario behind nginx, as the seed
# benchmarks use it. Makes a temporary directory ($work), writes the seed array into
# $work/data/seed.zarr with ZARR, starts nginx on it and sets bench/nginx.sh's variables
# (PREFIX, CA, ACCESS_LOG, HTTP_URL, HTTPS_H2_URL, HTTPS_H1_URL, H2C_URL, ...). An EXIT
# trap stops nginx and removes $work, whenever the script ends.
serve_seed() {
  local zarr=$1 latency=$2 label=$3 out
  work=$(mktemp -d "${TMPDIR:-/tmp}/zarr-$label.XXXXXX")
  PREFIX=""
  trap 'if [ -n "$PREFIX" ]; then bench/nginx.sh stop "$PREFIX" || true; fi; rm -rf "$work"' EXIT
  "$zarr" bench seed --write "$work/data/seed.zarr" >/dev/null
  out=$(start_nginx "$work/data" "$latency") || return 1
  eval "$out"
}
