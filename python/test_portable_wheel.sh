#!/usr/bin/env bash
# Smoke test of a portable wheel (python/build_portable_wheel.sh) in a fresh virtualenv.
#
#   python/test_portable_wheel.sh [WHEEL]     # default: the one in target/portable-wheel/
#
# Installs the wheel with numpy and zarr-python (versions pinned by
# tests/requirements.txt), then reads fixtures through zarr_rs.open and compares them
# with zarr-python: from the filesystem, and over HTTPS (h2 and HTTP/1.1) from the
# repository's nginx (bench/nginx.sh, needs nginx) trusting its CA through SSL_CERT_FILE,
# directly (hyper's clients) and through a redirect (which libcurl follows).
# It also checks that, with the compiled-in OpenSSL, verification stays on (the test
# CA is refused when not named) and that the system's CA bundle is found: a read from
# https://pypi.org (only run when it is reachable) ends in an HTTP status, not in a
# certificate error, with no variable set and with SSL_CERT_DIR alone.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
wheel=${1:-$(ls "$root"/target/portable-wheel/zarr_rs-*.whl)}
tmp=$(mktemp -d)
prefix=
cleanup() {
    if [ -n "$prefix" ]; then "$root/bench/nginx.sh" stop "$prefix" >/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

python3 -m venv "$tmp/venv"
# The pins as constraints (pip refuses extras there, as in dask[array]).
grep -v '\[' "$root/tests/requirements.txt" >"$tmp/constraints.txt"
"$tmp/venv/bin/pip" install --quiet -c "$tmp/constraints.txt" "$wheel" numpy zarr

eval "$("$root/bench/nginx.sh" start "$root/tests/fixtures/data" "${PORT:-18640}" 0 | grep -E '^(PREFIX|CA|HTTPS_H2_URL|HTTPS_H1_URL)=')"
prefix=$PREFIX
export PREFIX CA HTTPS_H2_URL HTTPS_H1_URL
cd "$tmp"
env -u SSL_CERT_FILE -u SSL_CERT_DIR "$tmp/venv/bin/python" - "$root/tests/fixtures/data" <<'EOF'
import os, sys, numpy as np, zarr, zarr_rs

data = sys.argv[1]
print("zarr_rs from", os.path.dirname(zarr_rs.__file__))
names = ["v3_1d.zarr", "v2_4d.zarr", "v2_blosc_lz4_shuffle.zarr", "v3_shard_blosc_gzip.zarr"]
names = [n for n in names if os.path.isdir(os.path.join(data, n))]
for n in names:
    want = zarr.open_array(os.path.join(data, n), mode="r")[...]
    got = zarr_rs.open(os.path.join(data, n))[...]
    assert np.array_equal(got, want, equal_nan=True), n
    print(f"file  {n}: {got.shape} {got.dtype} ok")

os.environ["SSL_CERT_FILE"] = os.environ["CA"]
for kind in ["HTTPS_H2_URL", "HTTPS_H1_URL"]:
    for n in names:
        want = zarr.open_array(os.path.join(data, n), mode="r")[...]
        got = zarr_rs.open(f"{os.environ[kind]}/{n}")[...]
        assert np.array_equal(got, want, equal_nan=True), (kind, n)
    print(f"{kind}: {len(names)} arrays ok (SSL_CERT_FILE={os.environ['CA']})")

# libcurl's TLS (the same compiled-in OpenSSL): it follows redirects, so a small HTTPS
# server here answers every GET with a 301 to nginx.
import http.server, ssl, threading
class Redirect(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(301)
        self.send_header("Location", os.environ["HTTPS_H1_URL"] + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls.load_cert_chain(os.path.join(os.environ["PREFIX"], "server.pem"), os.path.join(os.environ["PREFIX"], "server.key"))
server.socket = tls.wrap_socket(server.socket, server_side=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
for n in names:
    want = zarr.open_array(os.path.join(data, n), mode="r")[...]
    got = zarr_rs.open(f"https://127.0.0.1:{server.server_address[1]}/{n}")[...]
    assert np.array_equal(got, want, equal_nan=True), ("redirect", n)
print(f"HTTPS redirect to HTTPS_H1_URL (libcurl): {len(names)} arrays ok")
del os.environ["SSL_CERT_FILE"]

try:
    zarr_rs.open(f"{os.environ['HTTPS_H2_URL']}/{names[0]}")[...]
    sys.exit("error: the test CA was trusted without SSL_CERT_FILE")
except zarr_rs.StoreError as e:
    print("untrusted test CA refused:", str(e).splitlines()[0][:160])

import socket
try:
    socket.create_connection(("pypi.org", 443), timeout=5).close()
except OSError:
    print("pypi.org not reachable: system CA check skipped")
    sys.exit(0)
for env in [{}, {"SSL_CERT_DIR": "/etc/ssl/certs"}]:
    os.environ.update(env)
    try:
        zarr_rs.open("https://pypi.org/no-such-array.zarr")
        sys.exit("error: pypi.org served an array")
    except zarr_rs.ZarrError as e:
        # An HTTP answer (404, or pypi.org's 403 for dot-files) means TLS verified.
        msg = str(e).splitlines()[0]
        if "TLS" in msg or not (isinstance(e, zarr_rs.NodeNotFoundError) or "http status" in msg):
            raise
        print(f"system CAs {env or '(probed)'}: pypi.org verified, answer:", msg[:100])
    for k in env:
        del os.environ[k]
print("smoke test passed")
EOF
