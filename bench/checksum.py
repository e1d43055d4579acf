"""The volume checksum every benchmark reader must reproduce (numpy only, so readers
import it without importing zarr)."""

import numpy as np


def word_sum(data):
    """Wrapping sum of the C-order bytes as little-endian uint64 words (last one zero-padded)."""
    raw = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
    pad = (-raw.size) % 8
    if pad:
        raw = np.concatenate([raw, np.zeros(pad, np.uint8)])
    with np.errstate(over="ignore"):
        return int(raw.view("<u8").sum(dtype=np.uint64))
