"""Shared pieces of the zarr_rs tests: the conformance fixtures and `zarr serve`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "data"


def zarr_binary() -> str:
    """The `zarr` CLI (for `zarr serve`): $ZARR_BIN, which .ci/run sets, else the
    workspace's debug build."""
    path = os.environ.get("ZARR_BIN") or str(REPO / "target" / "debug" / "zarr")
    if not os.access(path, os.X_OK):
        pytest.fail(f"no zarr binary at {path}: build it (cargo build -p zarr-cli) or set ZARR_BIN")
    return path


class Served:
    """`zarr serve DIR` on a free loopback port, stopped by `close`."""

    def __init__(self, directory: Path, latency_ms: int = 0, writable: bool = False):
        self._log = tempfile.TemporaryFile(mode="w+")
        args = [zarr_binary(), "serve", str(directory), "--addr", "127.0.0.1:0", "--latency-ms", str(latency_ms)]
        self._proc = subprocess.Popen(
            args + (["--writable"] if writable else []),
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        deadline = time.monotonic() + 30
        self.url = ""
        while time.monotonic() < deadline:
            self._log.seek(0)
            found = re.search(r"http://127\.0\.0\.1:\d+", self._log.read())
            if found:
                self.url = found.group(0)
                return
            if self._proc.poll() is not None:
                break
            time.sleep(0.05)
        self.close()
        raise RuntimeError("zarr serve did not start")

    def close(self) -> None:
        self._proc.kill()
        self._proc.wait()
        self._log.close()


@pytest.fixture
def serve():
    """A factory of servers, each stopped at the end of the test."""
    servers: list[Served] = []

    def start(directory: Path, latency_ms: int = 0, writable: bool = False) -> str:
        s = Served(directory, latency_ms, writable)
        servers.append(s)
        return s.url

    yield start
    for s in servers:
        s.close()


@pytest.fixture
def fixture_copy(tmp_path):
    """A writable copy of one conformance fixture."""

    def copy(name: str) -> Path:
        dest = tmp_path / name
        shutil.copytree(FIXTURES / name, dest)
        return dest

    return copy
