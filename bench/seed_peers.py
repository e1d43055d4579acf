#!/usr/bin/env python3
"""The seed scenario read by other libraries, against the same server as `zarr bench seed`.

The seed array (6443 int64 in 1289 chunks of 5, v2 blosc-lz4) is written by
`zarr bench seed --write DIR` and served by nginx (bench/nginx.sh). Each peer reads
it cold --repeat times (a new session/store/context per run, nothing cached between
runs), checks every value, and prints the best and median seconds:

  aiohttp       the original report's lower bound: one aiohttp session with 100
                connections, `.zarray` then `asyncio.gather` of every chunk URL,
                decoded with numcodecs' Blosc
  zarr-obstore  zarr-python 3, obstore's HTTPStore, async.concurrency = 128
  tensorstore   tensorstore's zarr driver over its http kvstore, defaults
  zarr-fsspec   zarr-python 3 defaults: an http:// URL (fsspec HTTPFileSystem,
                aiohttp), async.concurrency = 10
  zarrs         optional, not in the default list: the Rust zarrs crate, run as
                bench/zarrs-peer's binary if it is built (ZARRS=1 bench/run_seed_bench.sh
                or cargo build --release in bench/zarrs-peer); one line per variant

For https URLs with a private CA, set SSL_CERT_FILE (honoured by Python's ssl,
hence aiohttp and fsspec, and by obstore's rustls); tensorstore is given
TENSORSTORE_CA_BUNDLE from it.

    seed_peers.py --url http://127.0.0.1:8080/seed.zarr [--impl NAME ...] [--repeat 5] [--json]

With --json, one line per peer:
    {"impl": ..., "url": ..., "runs_s": [...], "best_s": t, "median_s": t, "values_ok": true}
A peer that fails prints {"impl": ..., "error": "..."} and the script exits 1 at the end.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time

import numpy as np

SEED_LEN = 6443
SEED_CHUNK = 5
PEERS = ["aiohttp", "zarr-obstore", "tensorstore", "zarr-fsspec"]
ZARRS_PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zarrs-peer", "target", "release", "zarrs-peer")


def expected_values():
    """The values `zarr demo` writes: daily timestamps in seconds."""
    return 1_306_886_400 + np.arange(SEED_LEN, dtype=np.int64) * 86_400


def check(values):
    values = np.asarray(values)
    if values.dtype != np.int64 or values.shape != (SEED_LEN,):
        raise ValueError(f"read {values.dtype} {values.shape}, expected int64 ({SEED_LEN},)")
    if not np.array_equal(values, expected_values()):
        bad = int(np.flatnonzero(values != expected_values())[0])
        raise ValueError(f"value {bad} is {values[bad]}, expected {expected_values()[bad]}")


def read_aiohttp(url):
    import aiohttp
    import numcodecs

    async def get(session, u):
        async with session.get(u) as r:
            r.raise_for_status()
            return await r.read()

    async def main():
        connector = aiohttp.TCPConnector(limit=100)
        async with aiohttp.ClientSession(connector=connector) as session:
            meta = json.loads(await get(session, f"{url}/.zarray"))
            n = -(-meta["shape"][0] // meta["chunks"][0])
            return meta, await asyncio.gather(*[get(session, f"{url}/{i}") for i in range(n)])

    meta, chunks = asyncio.run(main())
    codec = numcodecs.get_codec(meta["compressor"])
    dtype = np.dtype(meta["dtype"])
    values = np.concatenate([np.frombuffer(codec.decode(c), dtype=dtype) for c in chunks])
    return values[: meta["shape"][0]].astype(np.int64)


def read_zarr_obstore(url):
    import zarr
    from obstore.store import HTTPStore
    from zarr.storage import ObjectStore

    zarr.config.set({"async.concurrency": 128})
    options = {"allow_http": "true"} if url.startswith("http://") else {}
    store = ObjectStore(HTTPStore.from_url(url, client_options=options), read_only=True)
    return zarr.open_array(store, mode="r", zarr_format=2)[:]


def read_tensorstore(url):
    import tensorstore as ts

    spec = {"driver": "zarr", "kvstore": {"driver": "http", "base_url": url}}
    array = ts.open(spec, read=True, context=ts.Context()).result()
    return array.read().result()


def read_zarr_fsspec(url):
    import zarr

    zarr.config.set({"async.concurrency": 10})
    # fsspec caches filesystem instances (and their aiohttp sessions) by URL; a
    # fresh one per run keeps every read cold, like the other peers.
    return zarr.open_array(url, mode="r", zarr_format=2, storage_options={"skip_instance_cache": True})[:]


READERS = {
    "aiohttp": read_aiohttp,
    "zarr-obstore": read_zarr_obstore,
    "tensorstore": read_tensorstore,
    "zarr-fsspec": read_zarr_fsspec,
}


def measure(impl, url, repeat):
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        values = READERS[impl](url)
        runs.append(time.perf_counter() - start)
        check(values)
    return {
        "impl": impl,
        "url": url,
        "runs_s": runs,
        "best_s": min(runs),
        "median_s": statistics.median(runs),
        "values_ok": True,
    }


def run_zarrs(url, repeat, as_json):
    """Runs bench/zarrs-peer's binary (all its variants); returns whether one failed."""
    import subprocess

    if not os.access(ZARRS_PEER, os.X_OK):
        print(f"zarrs         skipped: {ZARRS_PEER} is not built", file=sys.stderr, flush=True)
        return False
    proc = subprocess.run([ZARRS_PEER, "seed", "--url", url, "--repeat", str(max(1, repeat))],
                          capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        r = json.loads(line)
        if as_json:
            print(line, flush=True)
        elif "error" in r:
            print(f"{r['impl']} FAILED: {r['error']}", flush=True)
        else:
            print(f"{r['impl']}: best {r['best_s']:.3f} s  median {r['median_s']:.3f} s  values ok", flush=True)
    return proc.returncode != 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="base URL of the seed array")
    p.add_argument("--impl", action="append", choices=PEERS + ["zarrs"], help="peer to run (repeatable; default all)")
    p.add_argument("--repeat", type=int, default=5, help="cold reads per peer")
    p.add_argument("--json", action="store_true", help="one JSON object per peer")
    args = p.parse_args()
    url = args.url.rstrip("/")
    if os.environ.get("SSL_CERT_FILE") and "TENSORSTORE_CA_BUNDLE" not in os.environ:
        os.environ["TENSORSTORE_CA_BUNDLE"] = os.environ["SSL_CERT_FILE"]
    failed = False
    for impl in args.impl or PEERS:
        if impl == "zarrs":
            failed |= run_zarrs(url, args.repeat, args.json)
            continue
        try:
            result = measure(impl, url, max(1, args.repeat))
        except Exception as e:  # a peer that cannot read is reported, the others still run
            failed = True
            result = {"impl": impl, "url": url, "error": f"{type(e).__name__}: {e}"}
        if args.json:
            print(json.dumps(result), flush=True)
        elif "error" in result:
            print(f"{impl:<13} FAILED: {result['error']}", flush=True)
        else:
            print(f"{impl:<13} best {result['best_s']:.3f} s  median {result['median_s']:.3f} s  values ok", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
