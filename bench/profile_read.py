#!/usr/bin/env python3
"""Where the CPU time of `zarr bench read` goes, from a perf profile with call stacks.

    perf record -F 2000 --call-graph dwarf,32768 -o read.data \\
        target/release/zarr bench read bench-data/read/v3-zstd -r 2
    bench/profile_read.py read.data

Each sample is put in the first category whose rule matches its stack (innermost
frame first, so a page fault taken inside the scatter copy counts as "output page
faults", not as "scatter"), and the table gives the share of samples and the CPU
seconds per read (samples / frequency / reads; pass --reads and --freq if they
differ from 2 and 2000).
"""

import argparse
import collections
import re
import subprocess
import sys

# (category, test on (thread name, frames innermost first)). First match wins.
KERNEL_FAULT = ("asm_exc_page_fault", "exc_page_fault", "do_anonymous_page", "handle_mm_fault")


def has(frames, *names):
    return any(any(n in f for n in names) for f in frames)


def classify(comm, frames):
    fault = has(frames, *KERNEL_FAULT)
    if has(frames, "Runs", "project::scatter", "scatter_points"):
        return "scatter: output page faults" if fault else "scatter: copy"
    if has(frames, "split_whole_shard", "read_shard_index", "handle_response"):
        return "shard split: page faults" if fault else "shard split: copy"
    if has(frames, "ArrayBytes::filled", "ReadOp::new"):
        return "output allocation (zeroing)"
    if has(frames, "DecodeJob::run", "decode_owned", "ZSTD_", "HUF_", "FSE_", "blosc", "lz4", "LZ4"):
        where = "decode thread" if comm.startswith("zarr-decode") else "calling thread"
        if fault:
            return f"decode: page faults ({where})"
        if has(frames, "munmap", "madvise", "free", "malloc", "realloc"):
            return f"decode: alloc/free ({where})"
        return f"decode: codec ({where})"
    if comm.startswith("zarr-io") or has(frames, "io_worker", "FsStore"):
        if fault:
            return "IO: page faults (read buffers)"
        if has(frames, "ksys_read", "copy_to_iter", "filemap_read"):
            return "IO: read() copy from page cache"
        if has(frames, "futex", "schedule", "crossbeam"):
            return "thread handoff (channels, wake-ups)"
        return "IO: other"
    if has(frames, "munmap", "madvise", "_int_free", "cfree", "free_pages", "unmap_page_range", "tlb"):
        return "free / munmap (chunk buffers, output)"
    if has(frames, "futex", "schedule", "crossbeam", "sched_yield"):
        return "thread handoff (channels, wake-ups)"
    if has(frames, "word_sum"):
        return "bench checksum (not part of the read)"
    if fault:
        return "other page faults"
    return "other"


def samples(path):
    out = subprocess.run(
        ["perf", "script", "-i", path, "-F", "comm,tid,ip,sym"], capture_output=True, text=True, check=True
    ).stdout
    comm, frames = None, []
    for line in out.splitlines():
        if not line.strip():
            if comm is not None:
                yield comm, frames
            comm, frames = None, []
        elif comm is None:
            comm = line.split()[0]
        else:
            parts = line.split(None, 1)
            frames.append(re.sub(r"\+0x[0-9a-f]+$", "", parts[1]) if len(parts) > 1 else "")
    if comm is not None:
        yield comm, frames


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("--reads", type=int, default=2)
    ap.add_argument("--freq", type=int, default=2000)
    args = ap.parse_args()
    counts = collections.Counter(classify(c, f) for c, f in samples(args.data))
    total = sum(counts.values())
    if not total:
        sys.exit("no samples")
    print(f"| where | share | CPU s / read |\n|---|---:|---:|")
    for cat, n in counts.most_common():
        print(f"| {cat} | {100 * n / total:.1f}% | {n / args.freq / args.reads:.3f} |")
    print(f"| total | 100% | {total / args.freq / args.reads:.3f} |")


if __name__ == "__main__":
    main()
