"""Writes block_bomb.zst: a 4 KB zstd frame whose one compressed block asks for 262 MB.

The zstd format caps a block's decoded size at min(window, 128 KiB); this block breaks that
cap with 2000 sequences that each copy 131074 bytes (match length code 52 with all 16 extra
bits set, offsets alternating between the repeat offsets 4 and 1), from 8 bytes of a raw
block before it. Frame: no content size, 1 MiB window, no checksum. Writes the file next to
this script (zarr-proto/testdata/zstd/block_bomb.zst), from any working directory.
"""

import os

N = 2000  # sequences


def block_header(size: int, block_type: int, last: bool) -> bytes:
    return ((size << 3) | (block_type << 1) | int(last)).to_bytes(3, "little")


frame = bytearray(b"\x28\xb5\x2f\xfd")
frame += bytes([0x00, 10 << 3])  # FHD: no content size, multi-segment; window 2^(10+10) = 1 MiB
frame += block_header(8, 0, False) + b"zarrzarr"  # raw block: history for the matches

body = bytearray([0x00])  # literals section: raw, 0 bytes
body += bytes([128 + (N >> 8), N & 0xFF])  # number of sequences (2-byte form)
body += bytes([0x54])  # literal-length, offset and match-length modes: RLE
body += bytes([0, 0, 52])  # RLE symbols: LL code 0 (0 literals), OF code 0 (repeat offset), ML code 52
# Read backwards: marker bit in the last byte, then 16 extra bits (all ones) per sequence.
body += b"\xff" * (2 * N) + b"\x01"
frame += block_header(len(body), 2, True) + body

if __name__ == "__main__":
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "block_bomb.zst"), "wb") as f:
        f.write(frame)
    print(len(frame), "bytes; the block asks for", N * 131074, "bytes")
    # `zstd -d block_bomb.zst` (libzstd 1.5.4): "Decoding error (36) : Data corruption detected".
