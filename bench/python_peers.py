#!/usr/bin/env python3
"""Python readers of issue 16: zarr_rs direct, zarr-python through the zarr-rs and the
zarrs codec pipelines, zarr-python's defaults and tensorstore, on the same data.

Two scenarios (bench/run_python_bench.sh runs both and prints the tables):

    python_peers.py volume --path DIR [--repeat 5] [--impl NAME ...]
        full reads (`[...]`) of one layout of bench/make_volume.py's 256 MiB volume;
        the checksum (wrapping sum of the C-order bytes as little-endian uint64
        words) must equal DIR/../volume.json's.
    python_peers.py seed --url URL [--repeat 5] [--impl NAME ...]
        full reads of the seed array (`zarr bench seed --write`, 1289 chunks) over
        HTTP; every value is checked (bench/seed_peers.py's check).

Readers (--impl, default all that apply):

    zarr-rs            (a) zarr_rs.open(path)[...]
    zarr-rs-pipeline   (b) zarr.open_array with codec_pipeline.path =
                           zarr_rs.pipeline.ZarrRsCodecPipeline
    zarrs-pipeline     (c) zarr.open_array with codec_pipeline.path =
                           zarrs.ZarrsCodecPipeline (zarrs-python)
    zarr-python        (d) zarr.open_array, zarr-python's defaults
    tensorstore        (e) tensorstore's zarr/zarr3 driver, file kvstore (volume only)
    zarr-get           the `zarr` CLI as a whole process, `$ZARR get URL -o F.npy`
                       (start-up, open, read, .npy written; seed only, ZARR names
                       the binary); the .npy is loaded and checked after each run

Both pipelines run with `codec_pipeline.strict`, so a pipeline that cannot handle
the array fails instead of quietly falling back to zarr-python's own pipeline.
Over HTTP the zarr-python readers get the plain URL (fsspec's HTTPFileSystem, a new
instance each run), as a user would write it.

Each reader runs in a fresh Python process that imports only what it measures,
opens the array anew for every run (the open is timed: nothing is cached between
runs) and prints one JSON line: {"scenario", "impl", "target", "runs_s", "best_s",
"median_s", "cpu_s", "ok", "checksum"} or {"scenario", "impl", "target", "error"}.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

from checksum import word_sum

HERE = os.path.dirname(os.path.abspath(__file__))
VOLUME_IMPLS = ["zarr-rs", "zarr-rs-pipeline", "zarrs-pipeline", "zarr-python", "tensorstore"]
SEED_IMPLS = ["zarr-get", "zarr-rs", "zarr-rs-pipeline", "zarrs-pipeline", "zarr-python"]
PIPELINES = {
    "zarr-rs-pipeline": "zarr_rs.pipeline.ZarrRsCodecPipeline",
    "zarrs-pipeline": "zarrs.ZarrsCodecPipeline",
}


def reader(impl, target, scenario):
    """A function that opens `target` afresh and reads all of it (imports happen here,
    outside the timed runs)."""
    if impl == "zarr-rs":
        import zarr_rs

        return lambda: zarr_rs.open(target)[...]
    if impl == "zarr-get":
        import tempfile

        zarr_bin = os.environ.get("ZARR") or "zarr"
        npy = os.path.join(tempfile.mkdtemp(prefix="python-peers-"), "get.npy")

        def get():
            subprocess.run([zarr_bin, "get", target, "-o", npy], check=True, stdout=subprocess.DEVNULL)
            return npy

        # The run's time ends when the process does; the .npy is loaded after it.
        return get
    if impl == "tensorstore":
        import tensorstore as ts

        fmt = 2 if os.path.exists(os.path.join(target, ".zarray")) else 3
        spec = {"driver": "zarr" if fmt == 2 else "zarr3", "kvstore": {"driver": "file", "path": target}}
        return lambda: ts.open(spec, read=True, context=ts.Context()).result().read().result()
    import zarr

    if impl in PIPELINES:
        zarr.config.set({"codec_pipeline.path": PIPELINES[impl], "codec_pipeline.strict": True})
        if impl == "zarrs-pipeline":
            import zarrs  # noqa: F401  (registers nothing; fails early when missing)
    elif impl != "zarr-python":
        raise SystemExit(f"unknown reader {impl}")
    if scenario == "seed":
        # fsspec caches filesystems (and their aiohttp sessions) by URL: a new one per run.
        opts = {"storage_options": {"skip_instance_cache": True}}
        return lambda: zarr.open_array(target, mode="r", **opts)[...]
    return lambda: zarr.open_array(target, mode="r")[...]


def child(scenario, impl, target, repeat):
    """One reader's runs, in this (fresh) process; prints its JSON line."""
    import resource
    import time

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    read = reader(impl, target, scenario)
    if scenario == "seed":
        sys.path.insert(0, HERE)
        from seed_peers import check
    runs, cpu_s, checksum = [], [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), cpu()
        out = read()
        runs.append(time.perf_counter() - t)
        cpu_s.append(cpu() - c)
        if impl == "zarr-get":
            import numpy as np

            out = np.load(out)
        if scenario == "seed":
            check(out)
        else:
            # Every run's answer is checked, so a wrong fast one cannot win.
            s = f"{word_sum(out):016x}"
            if checksum not in (None, s):
                raise SystemExit(f"{impl}: checksum changed between runs: {checksum} then {s}")
            checksum = s
        del out
    print(json.dumps({
        "scenario": scenario, "impl": impl, "target": target, "runs_s": runs, "best_s": min(runs),
        "median_s": statistics.median(runs), "cpu_s": cpu_s, "checksum": checksum, "ok": True,
    }))


def measure(scenario, impl, target, repeat):
    """Runs one reader in a fresh interpreter; its JSON result, or an error record."""
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", scenario, impl, target, str(repeat)],
        capture_output=True, text=True, check=False,
    )
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if proc.returncode != 0 or not lines:
        err = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        return {"scenario": scenario, "impl": impl, "target": target, "error": err[:300]}
    return json.loads(lines[-1])


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        scenario, impl, target, repeat = sys.argv[2:6]
        child(scenario, impl, target, int(repeat))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", choices=["volume", "seed"])
    ap.add_argument("--path", help="a layout directory (volume)")
    ap.add_argument("--url", help="the seed array's URL (seed)")
    ap.add_argument("--impl", action="append", help="a reader (repeatable); default: all of the scenario's")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--tag", help="appended to the reader's name in the output, e.g. 'before' for another build")
    args = ap.parse_args()
    target = args.path if args.scenario == "volume" else args.url
    if not target:
        ap.error("volume needs --path, seed needs --url")
    impls = args.impl or (VOLUME_IMPLS if args.scenario == "volume" else SEED_IMPLS)
    failed = False
    for impl in impls:
        r = measure(args.scenario, impl, target, args.repeat)
        if args.tag:
            r["impl"] = f"{impl} ({args.tag})"
        print(json.dumps(r), flush=True)
        if "error" in r:
            failed = True
            print(f"{impl:17} {target}: FAILED {r['error']}", file=sys.stderr, flush=True)
        else:
            print(f"{impl:17} {target}: best {r['best_s']:.3f} s, median {r['median_s']:.3f} s",
                  file=sys.stderr, flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
