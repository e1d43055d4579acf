//! Byte shuffle and bit shuffle of one blosc block, as c-blosc 1.x lays them out.
//!
//! Byte shuffle (`shuffle-generic.h`): a block of `n = len / typesize` elements becomes
//! `typesize` streams of `n` bytes, stream `j` holding byte `j` of every element; the
//! `len % typesize` trailing bytes are copied unchanged.
//!
//! Bit shuffle (`bitshuffle-generic.c`, `shuffle.c`): only when `n` is a multiple of 8.
//! The block becomes `8 * typesize` rows of `n / 8` bytes; row `8 * j + k`, byte `m`,
//! bit `b` (least significant first) is bit `k` of byte `j` of element `8 * m + b`.
//! Trailing bytes are copied unchanged; when `n % 8 != 0` the whole block is copied.
//!
//! Every function takes `src` and `dst` of equal length; the callers guarantee it.

use alloc::vec::Vec;

/// Transposes the 8x8 bit matrix held in `x` (byte `i`, bit `j` <-> byte `j`, bit `i`).
#[inline(always)]
fn transpose_bits_8x8(mut x: u64) -> u64 {
    let mut t = (x ^ (x >> 7)) & 0x00AA_00AA_00AA_00AA;
    x = x ^ t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000_CCCC_0000_CCCC;
    x = x ^ t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x0000_0000_F0F0_F0F0;
    x ^ t ^ (t << 28)
}

/// Transposes an 8x8 byte matrix: byte `c` of input row `r` becomes byte `r` of output row `c`.
#[inline(always)]
fn transpose_bytes_8x8(rows: [u64; 8]) -> [u64; 8] {
    // Three rounds of swapping 1x1, 2x2 and 4x4 sub-blocks.
    let mut r = rows;
    for (i, j) in [(0, 1), (2, 3), (4, 5), (6, 7)] {
        let (a, b) = (r[i], r[j]);
        r[i] = (a & 0x00FF_00FF_00FF_00FF) | ((b & 0x00FF_00FF_00FF_00FF) << 8);
        r[j] = ((a >> 8) & 0x00FF_00FF_00FF_00FF) | (b & 0xFF00_FF00_FF00_FF00);
    }
    for (i, j) in [(0, 2), (1, 3), (4, 6), (5, 7)] {
        let (a, b) = (r[i], r[j]);
        r[i] = (a & 0x0000_FFFF_0000_FFFF) | ((b & 0x0000_FFFF_0000_FFFF) << 16);
        r[j] = ((a >> 16) & 0x0000_FFFF_0000_FFFF) | (b & 0xFFFF_0000_FFFF_0000);
    }
    for (i, j) in [(0, 4), (1, 5), (2, 6), (3, 7)] {
        let (a, b) = (r[i], r[j]);
        r[i] = (a & 0x0000_0000_FFFF_FFFF) | (b << 32);
        r[j] = (a >> 32) | (b & 0xFFFF_FFFF_0000_0000);
    }
    r
}

fn load_u64(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(bytes);
    u64::from_le_bytes(b)
}

/// The part of a block that (un)shuffling rearranges: `src` and `dst` clipped to the
/// same length, the trailing bytes that do not fill an element copied as they are,
/// and the whole elements returned with their count. `None` when nothing is left to
/// rearrange (a type size of 1, or fewer bytes than one element).
fn split_block<'s, 'd>(typesize: usize, src: &'s [u8], dst: &'d mut [u8]) -> Option<(&'s [u8], &'d mut [u8], usize)> {
    let len = src.len().min(dst.len());
    let (src, dst) = (&src[..len], &mut dst[..len]);
    if typesize <= 1 {
        dst.copy_from_slice(src);
        return None;
    }
    let n = len / typesize;
    let body = n * typesize;
    let (src_body, src_tail) = src.split_at(body);
    let (dst_body, dst_tail) = dst.split_at_mut(body);
    dst_tail.copy_from_slice(src_tail);
    (n > 0).then_some((src_body, dst_body, n))
}

/// Undoes the byte shuffle of one block: `src` holds the streams, `dst` gets the elements.
pub(crate) fn unshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    let Some((src_body, dst_body, n)) = split_block(typesize, src, dst) else { return };
    match typesize {
        2 => {
            let (a, b) = src_body.split_at(n);
            for ((o, &x), &y) in dst_body.chunks_exact_mut(2).zip(a).zip(b) {
                o.copy_from_slice(&[x, y]);
            }
        }
        4 => {
            let (a, rest) = src_body.split_at(n);
            let (b, rest) = rest.split_at(n);
            let (c, d) = rest.split_at(n);
            for ((((o, &x), &y), &z), &w) in dst_body.chunks_exact_mut(4).zip(a).zip(b).zip(c).zip(d) {
                o.copy_from_slice(&[x, y, z, w]);
            }
        }
        8 => unshuffle8(src_body, dst_body, n),
        _ => unshuffle_generic(typesize, src_body, dst_body, n),
    }
}

/// Undoes the byte shuffle of one block like [`unshuffle`], appending the `src.len()`
/// bytes to `out` instead of overwriting a zeroed buffer.
pub(crate) fn unshuffle_append(typesize: usize, src: &[u8], out: &mut Vec<u8>) {
    match typesize {
        2 if src.len() >= 2 => unshuffle2_append(src, out),
        _ => {
            let base = out.len();
            out.resize(base + src.len(), 0);
            unshuffle(typesize, src, &mut out[base..]);
        }
    }
}

/// Interleaves two 16-byte lanes (`[x0, y0, x1, y1, ...]`); compiles to vector unpacks.
#[inline(always)]
fn interleave16(x: &[u8], y: &[u8]) -> [u8; 32] {
    let x: [u8; 16] = x.try_into().unwrap_or([0; 16]);
    let y: [u8; 16] = y.try_into().unwrap_or([0; 16]);
    core::array::from_fn(|i| if i % 2 == 0 { x[i / 2] } else { y[i / 2] })
}

/// Typesize 2: interleaves tiles of 64 elements in registers and appends them.
fn unshuffle2_append(src: &[u8], out: &mut Vec<u8>) {
    let n = src.len() / 2;
    let (a, rest) = src.split_at(n);
    let (b, tail) = rest.split_at(n);
    interleave2_append(a, b, out);
    out.extend_from_slice(tail);
}

/// Appends `[a[0], b[0], a[1], b[1], ...]` for the first `min(a.len(), b.len())` elements:
/// the byte unshuffle of typesize 2 from its two streams, wherever they are stored.
pub(crate) fn interleave2_append(a: &[u8], b: &[u8], out: &mut Vec<u8>) {
    let (ac, bc) = (a.chunks_exact(64), b.chunks_exact(64));
    let (ar, br) = (ac.remainder(), bc.remainder());
    let mut tile = [0u8; 128];
    for (x, y) in ac.zip(bc) {
        for ((t, x), y) in tile.chunks_exact_mut(32).zip(x.chunks_exact(16)).zip(y.chunks_exact(16)) {
            t.copy_from_slice(&interleave16(x, y));
        }
        out.extend_from_slice(&tile);
    }
    for (&p, &q) in ar.iter().zip(br) {
        out.extend_from_slice(&[p, q]);
    }
}

/// Typesize 8: 8x8 byte transposes over groups of 8 elements.
fn unshuffle8(src: &[u8], dst: &mut [u8], n: usize) {
    let groups = n / 8;
    for (g, out) in dst.chunks_exact_mut(64).take(groups).enumerate() {
        let mut rows = [0u64; 8];
        for (j, row) in rows.iter_mut().enumerate() {
            let at = j * n + g * 8;
            *row = load_u64(&src[at..at + 8]);
        }
        let cols = transpose_bytes_8x8(rows);
        for (o, c) in out.chunks_exact_mut(8).zip(cols) {
            o.copy_from_slice(&c.to_le_bytes());
        }
    }
    // Remaining elements (fewer than 8).
    for i in groups * 8..n {
        for j in 0..8 {
            dst[i * 8 + j] = src[j * n + i];
        }
    }
}

fn unshuffle_generic(typesize: usize, src: &[u8], dst: &mut [u8], n: usize) {
    for (j, stream) in src.chunks_exact(n).take(typesize).enumerate() {
        for (o, &x) in dst.iter_mut().skip(j).step_by(typesize).zip(stream) {
            *o = x;
        }
    }
}

/// Applies the byte shuffle to one block: `src` holds elements, `dst` gets the streams.
pub(crate) fn shuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    let Some((src_body, dst_body, n)) = split_block(typesize, src, dst) else { return };
    for (j, stream) in dst_body.chunks_exact_mut(n).take(typesize).enumerate() {
        for (o, &x) in stream.iter_mut().zip(src_body.iter().skip(j).step_by(typesize)) {
            *o = x;
        }
    }
}

/// Undoes the bit shuffle of one block.
pub(crate) fn bitunshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    let len = src.len().min(dst.len());
    let (src, dst) = (&src[..len], &mut dst[..len]);
    let ts = typesize.max(1);
    let size = len / ts;
    if size % 8 != 0 || size == 0 {
        dst.copy_from_slice(src);
        return;
    }
    let body = size * ts;
    dst[body..].copy_from_slice(&src[body..]);
    let nr = size / 8;
    // Groups of 8 row bytes (64 elements) at a time, then the rest one row byte at a time.
    let done = match ts {
        1 => bitunshuffle_wide::<1>(&src[..body], &mut dst[..body], nr),
        2 => bitunshuffle_wide::<2>(&src[..body], &mut dst[..body], nr),
        4 => bitunshuffle_wide::<4>(&src[..body], &mut dst[..body], nr),
        8 => bitunshuffle_wide::<8>(&src[..body], &mut dst[..body], nr),
        _ => 0,
    };
    for (jj, rows) in src[..body].chunks_exact(8 * nr).enumerate() {
        for m in done..nr {
            let mut x = 0u64;
            for kk in 0..8 {
                x |= u64::from(rows[kk * nr + m]) << (8 * kk);
            }
            let x = transpose_bits_8x8(x).to_le_bytes();
            for (b, &byte) in x.iter().enumerate() {
                dst[(8 * m + b) * ts + jj] = byte;
            }
        }
    }
}

/// Bit unshuffle of the first `nr / 8 * 8` row bytes for a fixed typesize; returns how many it did.
fn bitunshuffle_wide<const TS: usize>(src: &[u8], dst: &mut [u8], nr: usize) -> usize {
    let full = nr / 8;
    // A fixed-size staging buffer lets the compiler drop the bounds checks on the scattered writes.
    let mut buf = [0u8; 512];
    for (g, out) in dst.chunks_exact_mut(64 * TS).take(full).enumerate() {
        let mb = g * 8;
        for jj in 0..TS {
            let mut rows = [0u64; 8];
            for (kk, row) in rows.iter_mut().enumerate() {
                let at = (jj * 8 + kk) * nr + mb;
                *row = load_u64(&src[at..at + 8]);
            }
            // cols[i] byte kk = row kk at byte mb + i: the 8x8 bit matrix of elements 8(mb+i)..
            let cols = transpose_bytes_8x8(rows);
            for (i, &c) in cols.iter().enumerate() {
                let t = transpose_bits_8x8(c).to_le_bytes();
                for (b, &byte) in t.iter().enumerate() {
                    buf[(8 * i + b) * TS + jj] = byte;
                }
            }
        }
        out.copy_from_slice(&buf[..64 * TS]);
    }
    full * 8
}

/// Applies the bit shuffle to one block.
pub(crate) fn bitshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    let len = src.len().min(dst.len());
    let (src, dst) = (&src[..len], &mut dst[..len]);
    let ts = typesize.max(1);
    let size = len / ts;
    if size % 8 != 0 || size == 0 {
        dst.copy_from_slice(src);
        return;
    }
    let body = size * ts;
    dst[body..].copy_from_slice(&src[body..]);
    let nr = size / 8;
    for (jj, rows) in dst[..body].chunks_exact_mut(8 * nr).enumerate() {
        for m in 0..nr {
            let mut x = 0u64;
            for b in 0..8 {
                x |= u64::from(src[(8 * m + b) * ts + jj]) << (8 * b);
            }
            let x = transpose_bits_8x8(x).to_le_bytes();
            for (kk, &byte) in x.iter().enumerate() {
                rows[kk * nr + m] = byte;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| ((i as u32).wrapping_mul(2_654_435_761) >> 11) as u8).collect()
    }

    fn naive_unshuffle(ts: usize, src: &[u8]) -> Vec<u8> {
        let n = src.len() / ts;
        let mut out = src.to_vec();
        for i in 0..n {
            for j in 0..ts {
                out[i * ts + j] = src[j * n + i];
            }
        }
        out
    }

    fn naive_bitshuffle(ts: usize, src: &[u8]) -> Vec<u8> {
        let size = src.len() / ts;
        let mut out = src.to_vec();
        if size % 8 != 0 {
            return out;
        }
        let nr = size / 8;
        for b in out[..size * ts].iter_mut() {
            *b = 0;
        }
        for e in 0..size {
            for j in 0..ts {
                for k in 0..8 {
                    let bit = (src[e * ts + j] >> k) & 1;
                    let row = 8 * j + k;
                    out[row * nr + e / 8] |= bit << (e % 8);
                }
            }
        }
        out
    }

    #[test]
    fn byte_shuffle_matches_naive_and_round_trips() {
        for ts in [1usize, 2, 3, 4, 5, 8, 16, 17] {
            for len in [0usize, 1, 7, 8, 63, 64, 65, 200, 1003] {
                let src = data(len);
                let mut shuffled = vec![0; len];
                shuffle(ts, &src, &mut shuffled);
                let mut back = vec![0; len];
                unshuffle(ts, &shuffled, &mut back);
                assert_eq!(back, src, "ts {ts} len {len}");
                assert_eq!(naive_unshuffle(ts, &shuffled), src, "ts {ts} len {len}");
                let mut appended = vec![9u8; 3];
                unshuffle_append(ts, &shuffled, &mut appended);
                assert_eq!(&appended[..3], &[9, 9, 9]);
                assert_eq!(&appended[3..], &src[..], "append ts {ts} len {len}");
            }
        }
    }

    #[test]
    fn bit_shuffle_matches_naive_and_round_trips() {
        for ts in [1usize, 2, 3, 4, 8, 16] {
            for len in [0usize, 8, 15, 16, 64, 70, 200, 1003, 4096] {
                let src = data(len);
                let mut shuffled = vec![0; len];
                bitshuffle(ts, &src, &mut shuffled);
                assert_eq!(shuffled, naive_bitshuffle(ts, &src), "ts {ts} len {len}");
                let mut back = vec![0; len];
                bitunshuffle(ts, &shuffled, &mut back);
                assert_eq!(back, src, "ts {ts} len {len}");
            }
        }
    }

    #[test]
    fn byte_transpose_is_a_transpose() {
        let rows: [u64; 8] = core::array::from_fn(|r| u64::from_le_bytes(core::array::from_fn(|c| (r * 8 + c) as u8)));
        let t = transpose_bytes_8x8(rows);
        for (c, col) in t.iter().enumerate() {
            for (r, &b) in col.to_le_bytes().iter().enumerate() {
                assert_eq!(b as usize, r * 8 + c);
            }
        }
    }
}
