"""The HTTP store options of `zarr_rs.open` against nginx (bench/nginx.sh, a third-party
server): a private CA through `ca_file`, HTTP/2 over TLS and h2c, one or more h2
connections; nginx's access log says which protocol and how many connections it saw."""

from __future__ import annotations

import os
import socket
import subprocess

import numpy as np
import pytest
import zarr

import zarr_rs
from conftest import FIXTURES, REPO

ARRAY = "v3_shard_blosc_gzip.zarr"


def _free_ports(n: int) -> int:
    """The first of `n` consecutive free loopback ports (below the ephemeral range)."""
    for base in range(21000, 30000, 97):
        try:
            for i in range(n):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", base + i))
        except OSError:
            continue
        return base
    raise RuntimeError("no free ports")


@pytest.fixture(scope="module")
def nginx():
    if os.environ.get("ZARR_SKIP_NGINX") == "1":
        pytest.skip("ZARR_SKIP_NGINX=1")
    script = REPO / "bench" / "nginx.sh"
    out = subprocess.run(
        ["bash", str(script), "start", str(FIXTURES), str(_free_ports(6)), "0"], capture_output=True, text=True
    )
    if out.returncode != 0:
        pytest.fail(f"bench/nginx.sh start failed (apt-get install nginx libnginx-mod-http-echo): {out.stderr}")
    env = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    yield env
    subprocess.run(["bash", str(script), "stop", env["PREFIX"]], check=False)


def _log_lines(env: dict[str, str]) -> list[list[str]]:
    with open(env["ACCESS_LOG"]) as f:
        return [line.split() for line in f]


def _read(env: dict[str, str], url_var: str, **options) -> tuple[np.ndarray, set[str], int]:
    """The whole array, with the protocols and connections nginx logged for it."""
    before = len(_log_lines(env))
    got = zarr_rs.open(f"{env[url_var]}/{ARRAY}", **options)[...]
    lines = _log_lines(env)[before:]
    return got, {line[1] for line in lines}, len({line[6] for line in lines})


def test_private_ca_through_ca_file(nginx):
    want = zarr.open_array(str(FIXTURES / ARRAY), mode="r")[...]
    got, protocols, _ = _read(nginx, "HTTPS_H2_URL", ca_file=nginx["CA"])
    np.testing.assert_array_equal(got, want)
    assert protocols == {"HTTP/2.0"}
    got, protocols, _ = _read(nginx, "HTTPS_H1_URL", ca_file=nginx["CA"], http_version="1.1")
    np.testing.assert_array_equal(got, want)
    assert protocols == {"HTTP/1.1"}
    # Without it the test CA is not trusted: a store error that says so.
    with pytest.raises(zarr_rs.StoreError, match="not trusted"):
        zarr_rs.open(f"{nginx['HTTPS_H2_URL']}/{ARRAY}", timeout=10)


def test_h2c_and_its_connections(nginx):
    want = zarr.open_array(str(FIXTURES / ARRAY), mode="r")[...]
    got, protocols, conns = _read(nginx, "H2C_URL", http_version="h2c", h2_connections=1)
    np.testing.assert_array_equal(got, want)
    assert protocols == {"HTTP/2.0"} and conns == 1
    got, protocols, _ = _read(nginx, "HTTP_URL")
    np.testing.assert_array_equal(got, want)
    assert protocols == {"HTTP/1.1"}


def test_bad_http_options():
    with pytest.raises(ValueError, match="http_version"):
        zarr_rs.open(FIXTURES / ARRAY, http_version="3")
    with pytest.raises(ValueError, match="h2_connections"):
        zarr_rs.open(FIXTURES / ARRAY, h2_connections=0)
