#!/usr/bin/env bash
# Builds a portable zarr_rs wheel: abi3 (CPython 3.10+), manylinux2014 (manylinux_2_17)
# x86_64, with OpenSSL compiled from source and linked into the module.
#
#   python/build_portable_wheel.sh            # the wheel lands in target/portable-wheel/
#   python/test_portable_wheel.sh             # then: a smoke test in a fresh virtualenv
#
# Needs python3 (3.10+), perl and make (OpenSSL's build), network access to PyPI and
# crates.io; no docker. 15 minutes from scratch on two busy cores.
# Not part of .ci/run for that reason.
#
# Environment: WHEEL_VENV (default target/portable-wheel-venv) is the virtualenv the
# build tools are installed into; WHEEL_OUT (default target/portable-wheel) is where
# the wheel goes; CARGO_TARGET_DIR is honoured as by cargo.
#
# Why each choice:
# - `--features portable` (python/Cargo.toml): the openssl crate's `vendored` feature,
#   so openssl-sys builds OpenSSL 3 from openssl-src and links it statically. There is
#   one openssl-sys in the dependency graph, so the libcurl that curl-sys builds
#   (isahc's `static-curl`) links that same copy: the module needs no libssl,
#   libcrypto or libcurl on the user's system, which no manylinux policy provides.
#   The feature also makes the module look for the system's CA bundle with
#   openssl-probe (python/src/options.rs), as the vendored OpenSSL's own default
#   (/usr/local/ssl) is empty on every distribution; SSL_CERT_FILE / SSL_CERT_DIR,
#   when set, keep precedence.
# - `--zig`: zig's C toolchain links against the glibc 2.17 symbol versions whatever
#   the build machine's glibc is, so no manylinux docker image is needed; the C parts
#   (OpenSSL, libcurl, nghttp2, zlib, zstd, mimalloc) are compiled by zig cc too.
# - `--compatibility manylinux2014`: the oldest policy pip on any current Linux accepts
#   and the one the Rust toolchain still supports (glibc 2.17, kernel 3.2).
# - `--auditwheel check`: maturin's own policy check fails the build if the module
#   needs a library or a symbol version outside manylinux2014, rather than repairing
#   (bundling) anything. These two flags override pyproject.toml's
#   `compatibility = "linux"` / `auditwheel = "skip"`, which stay the settings of the
#   ordinary `pip install ./python`, a build for the machine that runs it.
# - Pinned tool versions: maturin as in tests/requirements.txt; ziglang and auditwheel
#   as tested when this script was written.
# - After the build, `auditwheel show` (an independent check of the tag) and
#   `readelf -d` (the module's NEEDED libraries: libc, libm, libgcc_s and the like,
#   no libssl / libcrypto / libcurl) print what the wheel holds.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv=${WHEEL_VENV:-$root/target/portable-wheel-venv}
out=${WHEEL_OUT:-$root/target/portable-wheel}

if [ ! -x "$venv/bin/maturin" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet maturin==1.16.0 ziglang==0.17.1 auditwheel==6.8.2
fi
export PATH="$venv/bin:$PATH"

mkdir -p "$out"
rm -f "$out"/zarr_rs-*.whl
maturin build --release --zig --compatibility manylinux2014 --auditwheel check \
    --features portable -m "$root/python/Cargo.toml" --out "$out"

wheel=$(ls "$out"/zarr_rs-*.whl)
echo "wheel: $wheel ($(du -h "$wheel" | cut -f1))"
auditwheel show "$wheel"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m zipfile -e "$wheel" "$tmp"
so=$(ls "$tmp"/zarr_rs/_native*.so)
echo "NEEDED of $(basename "$so"):"
readelf -d "$so" | grep NEEDED
if readelf -d "$so" | grep NEEDED | grep -Eq 'libssl|libcrypto|libcurl'; then
    echo "error: the module still needs a system OpenSSL or libcurl" >&2
    exit 1
fi
