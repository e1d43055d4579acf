"""Ctrl-C during a long read stops it promptly.

`zarr serve` answers each request after 50 ms and the read may have one request in
flight, so reading the 1289 chunks of v2_seed_6443 takes over a minute; SIGINT half a
second in must end it with KeyboardInterrupt in a small fraction of that (no finer
timing is asserted: CI machines are shared)."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

import zarr_rs
from conftest import FIXTURES

CHUNKS = 1289
LATENCY_MS = 50
FULL_READ_S = CHUNKS * LATENCY_MS / 1000


@pytest.mark.parametrize("how", ["sigint", "interrupt_main"])
def test_ctrl_c_stops_a_long_read(serve, how):
    url = serve(FIXTURES, latency_ms=LATENCY_MS)
    arr = zarr_rs.open(f"{url}/v2_seed_6443.zarr", concurrency=1)
    progress = []

    def interrupt():
        if how == "sigint":
            os.kill(os.getpid(), signal.SIGINT)
        else:
            import _thread

            _thread.interrupt_main()

    # Python's own Ctrl-C handler, whatever this process inherited: a shell that starts
    # a job in the background sets SIGINT to "ignore", and Python then installs none.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.5, interrupt)
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            arr.read(progress=lambda done, total: progress.append((done, total)))
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    elapsed = time.monotonic() - start
    assert elapsed < FULL_READ_S / 4, f"took {elapsed:.1f} s after Ctrl-C"
    # It had started, and had not finished.
    assert progress and progress[-1][1] == CHUNKS and progress[-1][0] < CHUNKS
    # The array is still usable afterwards.
    assert np.array_equal(arr[:3], zarr_rs.open(FIXTURES / "v2_seed_6443.zarr")[:3], equal_nan=True)
