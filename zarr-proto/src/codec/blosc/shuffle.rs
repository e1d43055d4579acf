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

use alloc::vec;
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

/// Typesize 8: 8x8 byte transposes over groups of `8 * LANES` elements, the lanes side
/// by side in vector registers, then the remaining elements one by one.
fn unshuffle8(src: &[u8], dst: &mut [u8], n: usize) {
    const GROUP: usize = 8 * LANES;
    let groups = n / GROUP;
    for (g, out) in dst.chunks_exact_mut(8 * GROUP).take(groups).enumerate() {
        let mut rows = [[0u64; LANES]; 8];
        for (j, row) in rows.iter_mut().enumerate() {
            let at = j * n + g * GROUP;
            for (word, b) in row.iter_mut().zip(src[at..at + GROUP].chunks_exact(8)) {
                *word = load_u64(b);
            }
        }
        let cols = transpose_bytes_8x8_lanes(rows);
        for (i, col) in cols.iter().enumerate() {
            for (w, &word) in col.iter().enumerate() {
                let at = (8 * w + i) * 8;
                out[at..at + 8].copy_from_slice(&word.to_le_bytes());
            }
        }
    }
    for i in groups * GROUP..n {
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

/// `u64` lanes per row in one tile of the bit unshuffle: a tile covers `8 * LANES` row
/// bytes (`64 * LANES` elements); the lanes let the compiler use vector registers.
const LANES: usize = 2;

/// `LANES` consecutive 8-byte words of one row (or one stream).
type Lane = [u64; LANES];

/// Replaces rows `i` and `j` lane by lane with `f` of them.
#[inline(always)]
fn update_pair(r: &mut [Lane; 8], i: usize, j: usize, f: impl Fn(u64, u64) -> (u64, u64)) {
    let (mut a, mut b) = (r[i], r[j]);
    for (x, y) in a.iter_mut().zip(b.iter_mut()) {
        (*x, *y) = f(*x, *y);
    }
    r[i] = a;
    r[j] = b;
}

/// Swaps the bits selected by `mask` of row `j` with those of row `i` shifted by `shift`:
/// one stage of an 8x8 bit transpose done across rows, for every byte position at once.
#[inline(always)]
fn swap_bits(r: &mut [Lane; 8], i: usize, j: usize, shift: u32, mask: u64) {
    update_pair(r, i, j, |a, b| {
        let t = ((a >> shift) ^ b) & mask;
        (a ^ (t << shift), b ^ t)
    });
}

/// For every byte position `m`: bit `b` of byte `m` of row `k` becomes bit `k` of byte
/// `m` of row `b` (the 8x8 bit matrix of each byte position is transposed).
#[inline(always)]
fn transpose_bits_across_rows(r: &mut [Lane; 8]) {
    for (i, j) in [(0, 1), (2, 3), (4, 5), (6, 7)] {
        swap_bits(r, i, j, 1, 0x5555_5555_5555_5555);
    }
    for (i, j) in [(0, 2), (1, 3), (4, 6), (5, 7)] {
        swap_bits(r, i, j, 2, 0x3333_3333_3333_3333);
    }
    for (i, j) in [(0, 4), (1, 5), (2, 6), (3, 7)] {
        swap_bits(r, i, j, 4, 0x0F0F_0F0F_0F0F_0F0F);
    }
}

/// Transposes an 8x8 byte matrix in every lane: byte `c` of row `r`, lane `w` becomes
/// byte `r` of row `c`, lane `w` (three rounds swapping 1x1, 2x2 and 4x4 sub-blocks).
#[inline(always)]
fn transpose_bytes_8x8_lanes(rows: [Lane; 8]) -> [Lane; 8] {
    let mut r = rows;
    for (i, j) in [(0, 1), (2, 3), (4, 5), (6, 7)] {
        update_pair(&mut r, i, j, |a, b| {
            (
                (a & 0x00FF_00FF_00FF_00FF) | ((b & 0x00FF_00FF_00FF_00FF) << 8),
                ((a >> 8) & 0x00FF_00FF_00FF_00FF) | (b & 0xFF00_FF00_FF00_FF00),
            )
        });
    }
    for (i, j) in [(0, 2), (1, 3), (4, 6), (5, 7)] {
        update_pair(&mut r, i, j, |a, b| {
            (
                (a & 0x0000_FFFF_0000_FFFF) | ((b & 0x0000_FFFF_0000_FFFF) << 16),
                ((a >> 16) & 0x0000_FFFF_0000_FFFF) | (b & 0xFFFF_0000_FFFF_0000),
            )
        });
    }
    for (i, j) in [(0, 4), (1, 5), (2, 6), (3, 7)] {
        update_pair(&mut r, i, j, |a, b| {
            ((a & 0x0000_0000_FFFF_FFFF) | (b << 32), (a >> 32) | (b & 0xFFFF_FFFF_0000_0000))
        });
    }
    r
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
    let (src, dst) = (&src[..body], &mut dst[..body]);
    // Whole tiles first, then the rest one row byte at a time.
    let done = match ts {
        1 => bitunshuffle_tiles(1, src, dst, nr, &mut [0; 64 * LANES]),
        2 => bitunshuffle_tiles(2, src, dst, nr, &mut [0; 128 * LANES]),
        4 => bitunshuffle_tiles_t(4, src, dst, nr, &mut [[0; LANES]; 32]),
        8 => bitunshuffle_tiles_t(8, src, dst, nr, &mut [[0; LANES]; 64]),
        _ if nr >= 8 * LANES => bitunshuffle_tiles_t(ts, src, dst, nr, &mut vec![[0; LANES]; 8 * ts]),
        _ => 0,
    };
    for (jj, rows) in src.chunks_exact(8 * nr).enumerate() {
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

/// Interleaves `x` and `y` byte by byte into `out` (`[x0, y0, x1, y1, ...]`), 16 bytes of
/// each at a time (vector unpacks); `out` is twice as long as `x` and `y`.
#[inline(always)]
fn zip_into(x: &[u8], y: &[u8], out: &mut [u8]) {
    for ((o, x), y) in out.chunks_exact_mut(32).zip(x.chunks_exact(16)).zip(y.chunks_exact(16)) {
        o.copy_from_slice(&interleave16(x, y));
    }
}

/// Returns `x` and `y` interleaved byte by byte.
#[inline(always)]
fn zip<const N: usize, const M: usize>(x: &[u8; N], y: &[u8; N]) -> [u8; M] {
    let mut out = [0u8; M];
    zip_into(x, y, &mut out);
    out
}

/// The bytes of a lane, little-endian words in order.
#[inline(always)]
fn lane_bytes(l: Lane) -> [u8; 8 * LANES] {
    let mut out = [0u8; 8 * LANES];
    for (o, w) in out.chunks_exact_mut(8).zip(l) {
        o.copy_from_slice(&w.to_le_bytes());
    }
    out
}

/// Bit unshuffle of the first `nr / (8 * LANES)` tiles of `8 * LANES` row bytes each
/// (`src` and `dst` hold `8 * nr * ts` bytes); returns how many row bytes it did.
///
/// Row `8 * j + k` holds bit `k` of byte `j` of every element. Per tile and byte `j`, the
/// bit transpose across the 8 rows leaves in row `b`, byte `m`, byte `j` of element
/// `8 * m + b`; interleaving those 8 rows gives byte `j` of the tile's elements in order
/// (plane `j`), and interleaving the `ts` planes gives the elements (`ts` is 1 or 2).
/// `planes` holds the `ts` planes of one tile.
#[inline(always)]
fn bitunshuffle_tiles(ts: usize, src: &[u8], dst: &mut [u8], nr: usize, planes: &mut [u8]) -> usize {
    const TILE: usize = 8 * LANES;
    let full = nr / TILE;
    let plane_len = 8 * TILE;
    if ts > 2 || planes.len() != ts * plane_len {
        return 0;
    }
    for (g, out) in dst.chunks_exact_mut(plane_len * ts).take(full).enumerate() {
        let m0 = g * TILE;
        for (plane, rows) in planes.chunks_exact_mut(plane_len).zip(src.chunks_exact(8 * nr)) {
            let mut r = [[0u64; LANES]; 8];
            for (row, bytes) in r.iter_mut().zip(rows.chunks_exact(nr)) {
                let Some(bytes) = bytes.get(m0..m0 + TILE) else { return 0 };
                for (word, b) in row.iter_mut().zip(bytes.chunks_exact(8)) {
                    *word = load_u64(b);
                }
            }
            transpose_bits_across_rows(&mut r);
            let r = r.map(lane_bytes);
            let l1: [[u8; 2 * TILE]; 4] = [zip(&r[0], &r[4]), zip(&r[1], &r[5]), zip(&r[2], &r[6]), zip(&r[3], &r[7])];
            let l2: [[u8; 4 * TILE]; 2] = [zip(&l1[0], &l1[2]), zip(&l1[1], &l1[3])];
            if ts == 1 {
                zip_into(&l2[0], &l2[1], out);
            } else {
                zip_into(&l2[0], &l2[1], plane);
            }
        }
        if ts == 2 {
            zip_into(&planes[..plane_len], &planes[plane_len..], out);
        }
    }
    full * TILE
}

/// Bit unshuffle of the first `nr / (8 * LANES)` tiles of `8 * LANES` row bytes each
/// (`src` and `dst` hold `8 * nr * ts` bytes); returns how many row bytes it did.
///
/// Per tile and byte `j`, the bit transpose across the 8 rows leaves in row `b`, byte `m`,
/// byte `j` of element `8 * m + b`: stream `p = b * ts + j` of a byte shuffle with type
/// size `8 * ts`, which 8x8 byte transposes undo. `stage` holds the `8 * ts` streams.
#[inline(always)]
fn bitunshuffle_tiles_t(ts: usize, src: &[u8], dst: &mut [u8], nr: usize, stage: &mut [Lane]) -> usize {
    const TILE: usize = 8 * LANES;
    let full = nr / TILE;
    let stride = 8 * ts;
    if stage.len() != stride {
        return 0;
    }
    for (g, out) in dst.chunks_exact_mut(TILE * stride).take(full).enumerate() {
        let m0 = g * TILE;
        for (j, plane) in src.chunks_exact(8 * nr).take(ts).enumerate() {
            let mut r = [[0u64; LANES]; 8];
            for (row, bytes) in r.iter_mut().zip(plane.chunks_exact(nr)) {
                let Some(bytes) = bytes.get(m0..m0 + TILE) else { return 0 };
                for (word, b) in row.iter_mut().zip(bytes.chunks_exact(8)) {
                    *word = load_u64(b);
                }
            }
            transpose_bits_across_rows(&mut r);
            for (b, row) in r.into_iter().enumerate() {
                stage[b * ts + j] = row;
            }
        }
        for (q, group) in stage.chunks_exact(8).enumerate() {
            let mut rows = [[0u64; LANES]; 8];
            rows.copy_from_slice(group);
            let cols = transpose_bytes_8x8_lanes(rows);
            for (i, col) in cols.iter().enumerate() {
                for (w, &word) in col.iter().enumerate() {
                    let at = (8 * w + i) * stride + 8 * q;
                    out[at..at + 8].copy_from_slice(&word.to_le_bytes());
                }
            }
        }
    }
    full * TILE
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
                assert_eq!(crate::codec::blosc::tests::reference_unshuffle(ts, &shuffled), src, "ts {ts} len {len}");
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
        let rows: [Lane; 8] = core::array::from_fn(|r| {
            core::array::from_fn(|w| u64::from_le_bytes(core::array::from_fn(|c| (w * 64 + r * 8 + c) as u8)))
        });
        let t = transpose_bytes_8x8_lanes(rows);
        for (c, col) in t.iter().enumerate() {
            for (w, word) in col.iter().enumerate() {
                for (r, &b) in word.to_le_bytes().iter().enumerate() {
                    assert_eq!(b as usize, w * 64 + r * 8 + c);
                }
            }
        }
    }
}
