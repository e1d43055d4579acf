#!/usr/bin/env python3
"""The seed scenario over S3, read by Python peers against the same endpoint as
`zarr bench seed --url s3://...` (bench/run_s3_bench.sh: s3s-fs behind a latency proxy).

  zarr-obstore  zarr-python 3 over zarr.storage.ObjectStore with obstore's S3Store,
                async.concurrency = 128
  obstore       obstore alone: `.zarray`, then every chunk with obstore.get_async,
                at most 128 in flight (asyncio.gather and a semaphore), decoded with
                numcodecs' Blosc: what a hand-written reader over the same client does

Each reads cold --repeat times (a new S3Store per run), checks every value, and prints
one JSON line per peer: {"impl", "url", "runs_s", "best_s", "median_s", "values_ok"}.
Credentials, region and endpoint come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_REGION and AWS_ENDPOINT_URL.

    s3_peers.py --url s3://bucket/seed.zarr [--impl NAME ...] [--repeat 3]
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time

from seed_peers import check

PEERS = ["zarr-obstore", "obstore"]


def s3_store(url):
    from obstore.store import S3Store

    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    return S3Store(
        bucket,
        prefix=prefix or None,
        endpoint=endpoint,
        access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        region=os.environ.get("AWS_REGION", "us-east-1"),
        client_options={"allow_http": endpoint.startswith("http://")},
    )


def read_zarr_obstore(url):
    import zarr
    from zarr.storage import ObjectStore

    zarr.config.set({"async.concurrency": 128})
    store = ObjectStore(s3_store(url), read_only=True)
    return zarr.open_array(store, mode="r", zarr_format=2)[:]


def read_obstore(url):
    import numcodecs
    import numpy as np
    import obstore

    async def main():
        store = s3_store(url)
        meta = json.loads(bytes(await (await obstore.get_async(store, ".zarray")).bytes_async()))
        n = -(-meta["shape"][0] // meta["chunks"][0])
        limit = asyncio.Semaphore(128)

        async def get(key):
            async with limit:
                return bytes(await (await obstore.get_async(store, key)).bytes_async())

        return meta, await asyncio.gather(*[get(str(i)) for i in range(n)])

    meta, chunks = asyncio.run(main())
    codec = numcodecs.get_codec(meta["compressor"])
    dtype = np.dtype(meta["dtype"])
    values = np.concatenate([np.frombuffer(codec.decode(c), dtype=dtype) for c in chunks])
    return values[: meta["shape"][0]].astype(np.int64)


READERS = {"zarr-obstore": read_zarr_obstore, "obstore": read_obstore}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="s3://bucket/prefix of the seed array")
    p.add_argument("--impl", action="append", choices=PEERS, help="peer to run (repeatable; default all)")
    p.add_argument("--repeat", type=int, default=3, help="cold reads per peer")
    args = p.parse_args()
    url = args.url.rstrip("/")
    failed = False
    for impl in args.impl or PEERS:
        try:
            runs = []
            for _ in range(max(1, args.repeat)):
                start = time.perf_counter()
                values = READERS[impl](url)
                runs.append(time.perf_counter() - start)
                check(values)
            result = {"impl": impl, "url": url, "runs_s": runs, "best_s": min(runs),
                      "median_s": statistics.median(runs), "values_ok": True}
        except Exception as e:  # a peer that cannot read is reported, the others still run
            failed = True
            result = {"impl": impl, "url": url, "error": f"{type(e).__name__}: {e}"}
        print(json.dumps(result), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
