//! A safe LZ4 block decoder tuned for blosc streams.
//!
//! `lz4_flex` copies overlapping matches one byte at a time, and shuffled numeric data
//! is mostly long runs at offsets 1-8, so blosc decoding spends its time there. This
//! decoder works like the C one, with checked slices instead of pointers: a fast path
//! for a short literal run plus its offset read from one 32-byte window, short matches
//! as one 32-byte copy, small periods (1, 2, 4, 8) as 32-byte splatted patterns, other
//! periods below 16 as 16-byte patterns, and exact (memmove or doubling) copies only
//! near the ends of the buffers or for long runs.
//!
//! Block format: a token (literal length in the high nibble, match length - 4 in the
//! low one, 15 meaning "add following bytes while they are 255"), the literals, then
//! a little-endian `u16` offset and the match. The last sequence has literals only.

/// Room a "wild" copy may write past the end of a sequence (overwritten by later ones).
const WILD: usize = 32;

/// Decompresses one LZ4 block into `out`, returning the number of bytes written.
///
/// Sequences far enough from the end of `input` and `out` take the fast paths: fixed
/// 16- or 32-byte copies that may write up to `WILD` bytes past the sequence (bytes that
/// a later sequence overwrites, since a valid block fills `out` exactly). Everything
/// near the ends is copied exactly. Every slice is still checked. Bytes of `out` past
/// the returned length may have been overwritten.
///
/// # Errors
/// A description of the corruption: truncated sequence, output overflow, bad offset.
pub(crate) fn decompress(input: &[u8], out: &mut [u8]) -> Result<usize, &'static str> {
    let mut ip = 0usize;
    let mut op = 0usize;
    let in_len = input.len();
    let out_len = out.len();
    loop {
        let token = *input.get(ip).ok_or("lz4 sequence truncated")?;
        ip += 1;
        let lit = usize::from(token >> 4);
        // Fast path: a short literal run and its offset inside one 32-byte input window
        // (so this is not the last sequence), copied with one fixed 16-byte copy.
        let fast = match (input.get(ip..ip + 32), out.get_mut(op..op + 32)) {
            (Some(src), Some(dst)) if lit < 15 => {
                dst[..16].copy_from_slice(&src[..16]);
                Some(usize::from(u16::from_le_bytes([src[lit], src[lit + 1]])))
            }
            _ => None,
        };
        let off = match fast {
            Some(off) => {
                ip += lit + 2;
                op += lit;
                off
            }
            None => {
                let mut lit = lit;
                if lit == 15 {
                    lit += read_extra(input, &mut ip)?;
                }
                // Literals: one or two fixed 16-byte copies when both sides have room, else exact.
                match (input.get(ip..ip + 32), out.get_mut(op..op + 32)) {
                    (Some(src), Some(dst)) if lit <= 32 => {
                        dst[..16].copy_from_slice(&src[..16]);
                        if lit > 16 {
                            dst[16..].copy_from_slice(&src[16..]);
                        }
                    }
                    _ => {
                        let src = input.get(ip..ip + lit).ok_or("lz4 literals truncated")?;
                        let dst = out.get_mut(op..op + lit).ok_or("lz4 literals overflow the output")?;
                        dst.copy_from_slice(src);
                    }
                }
                ip += lit;
                op += lit;
                if ip >= in_len {
                    if ip > in_len || op > out_len {
                        return Err("lz4 literals truncated");
                    }
                    return Ok(op);
                }
                let off = match input.get(ip..ip + 2) {
                    Some(&[lo, hi]) => usize::from(u16::from_le_bytes([lo, hi])),
                    _ => return Err("lz4 offset truncated"),
                };
                ip += 2;
                off
            }
        };
        if off == 0 || off > op {
            return Err("lz4 match offset outside the output");
        }
        let mut ml = usize::from(token & 15);
        let start = op - off;
        if ml < 15 && off >= 32 {
            // The common short match (at most 18 bytes): one 32-byte copy from bytes
            // already written, when the output has room.
            let (head, tail) = out.split_at_mut(op);
            if let (Some(src), Some(dst)) = (head.get(start..start + 32), tail.get_mut(..32)) {
                dst.copy_from_slice(src);
                op += ml + 4;
                continue;
            }
        }
        if ml == 15 {
            ml += read_extra(input, &mut ip)?;
        }
        ml += 4;
        let room = out_len.checked_sub(op).ok_or("lz4 literals overflow the output")?;
        if ml > room {
            return Err("lz4 match overflows the output");
        }
        if off >= 32 && ml <= 32 && room >= 32 {
            // The common short match: one 32-byte copy from bytes already written.
            let (head, tail) = out.split_at_mut(op);
            if let (Some(src), Some(dst)) = (head.get(start..start + 32), tail.get_mut(..32)) {
                dst.copy_from_slice(src);
            }
        } else if ml + WILD > room {
            copy_match(out, start, op, ml);
        } else if off >= 16 {
            if ml <= 2 * WILD {
                // Each 16-byte chunk reads bytes already written (`off >= 16`).
                let mut i = 0;
                while i < ml {
                    out.copy_within(start + i..start + i + 16, op + i);
                    i += 16;
                }
            } else {
                copy_match(out, start, op, ml);
            }
        } else {
            // Load only the period's bytes (a wider load can miss store forwarding).
            let period = out.get(start..op).ok_or("lz4 match offset outside the output")?;
            let splat = match *period {
                [b] => Some(u64::from(b) * 0x0101_0101_0101_0101),
                [b0, b1] => Some(u64::from(u16::from_le_bytes([b0, b1])) * 0x0001_0001_0001_0001),
                [b0, b1, b2, b3] => Some(u64::from(u32::from_le_bytes([b0, b1, b2, b3])) * 0x0000_0001_0000_0001),
                [b0, b1, b2, b3, b4, b5, b6, b7] => Some(u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7])),
                _ => None,
            };
            if let Some(x) = splat {
                // Periods dividing 8: 32-byte pattern writes.
                let b = x.to_le_bytes();
                let mut pat = [0u8; 32];
                for c in pat.chunks_exact_mut(8) {
                    c.copy_from_slice(&b);
                }
                let mut d = op;
                let end = op + ml;
                while let Some(dst) = out.get_mut(d..d + 32) {
                    if d >= end {
                        break;
                    }
                    dst.copy_from_slice(&pat);
                    d += 32;
                }
            } else {
                // Other periods: a 16-byte pattern, stepping by a multiple of the period.
                let mut pat = [0u8; 16];
                if let Some(src) = out.get(start..op) {
                    pat[..off].copy_from_slice(src);
                }
                for i in off..16 {
                    pat[i] = pat[i - off];
                }
                let step = 16 - 16 % off;
                let mut d = op;
                let end = op + ml;
                while d < end {
                    out[d..d + 16].copy_from_slice(&pat);
                    d += step;
                }
            }
        }
        op += ml;
    }
}

#[inline]
fn read_extra(input: &[u8], ip: &mut usize) -> Result<usize, &'static str> {
    let mut n = 0usize;
    loop {
        let b = *input.get(*ip).ok_or("lz4 length truncated")?;
        *ip += 1;
        n += usize::from(b);
        if b != 255 {
            return Ok(n);
        }
    }
}

/// Copies `len` bytes from `start` to `op` (`start < op`), repeating with period
/// `op - start` when they overlap. The caller checked `op + len <= out.len()`.
#[inline]
pub(crate) fn copy_match(out: &mut [u8], start: usize, op: usize, len: usize) {
    let dist = op - start;
    if dist == 1 {
        let b = out[start];
        out[op..op + len].fill(b);
    } else if dist >= len {
        out.copy_within(start..start + len, op);
    } else {
        // [start, op + done) repeats with period `dist`; copy doubling chunks from `start`.
        let mut done = 0;
        while done < len {
            let n = (len - done).min(op + done - start);
            out.copy_within(start..start + n, op + done);
            done += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    #[test]
    fn matches_lz4_flex_on_varied_inputs() {
        let mut inputs: Vec<Vec<u8>> = vec![vec![], vec![7], vec![0; 100_000]];
        inputs.push((0..70_000u32).map(|i| (i / 5) as u8).collect());
        inputs.push((0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect());
        inputs.push((0..70_000u32).map(|i| if i % 1000 < 900 { (i % 3) as u8 } else { (i * 7) as u8 }).collect());
        inputs.push(b"abcabcabcabcabcabcabcabcabcabcabcabcabcabcxyz".to_vec());
        for input in &inputs {
            let c = lz4_flex::block::compress(input);
            let mut out = vec![0u8; input.len()];
            assert_eq!(decompress(&c, &mut out), Ok(input.len()));
            assert_eq!(&out, input);
            // Too small an output is an error, never a panic.
            if !input.is_empty() {
                let mut short = vec![0u8; input.len() - 1];
                assert!(decompress(&c, &mut short).is_err());
            }
            for cut in 0..c.len().min(64) {
                let _ = decompress(&c[..cut], &mut out);
            }
        }
    }

    /// Periodic runs of every period up to 40 (the wild-copy and pattern paths), short
    /// and long, separated by literal runs of varied length, ending at varied points.
    fn periodic_input(seed: u32) -> Vec<u8> {
        let mut state = seed;
        let mut next = move || {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            state >> 8
        };
        let mut v = Vec::new();
        for period in 1..=40usize {
            for run in [3usize, 7, 17, 33, 70, 300] {
                let lits = next() as usize % 40;
                for _ in 0..lits {
                    v.push(next() as u8);
                }
                let unit: Vec<u8> = (0..period).map(|_| next() as u8).collect();
                for i in 0..run + period {
                    v.push(unit[i % period]);
                }
            }
        }
        v
    }

    #[test]
    fn fast_paths_match_lz4_flex() {
        for seed in 0..4 {
            let input = periodic_input(seed);
            for end in [input.len(), input.len() - 1, input.len() - 13, input.len() - 40, 5000, 777, 64, 31] {
                let input = &input[..end];
                let c = lz4_flex::block::compress(input);
                let mut out = vec![0u8; input.len()];
                assert_eq!(decompress(&c, &mut out), Ok(input.len()), "seed {seed} end {end}");
                assert!(out == input, "seed {seed} end {end}");
                // A larger output buffer: same bytes, and the decoded length is reported.
                let mut big = vec![0u8; input.len() + 100];
                assert_eq!(decompress(&c, &mut big), Ok(input.len()));
                assert!(&big[..input.len()] == input);
            }
        }
    }

    #[test]
    fn flipped_bytes_never_panic() {
        let input = periodic_input(9);
        let c = lz4_flex::block::compress(&input);
        let mut state = 0x2545_F491u32;
        let mut out = vec![0u8; input.len()];
        for _ in 0..3000 {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let mut g = c.clone();
            let at = (state >> 8) as usize % g.len();
            g[at] ^= (state >> 24) as u8 | 1;
            if let Ok(n) = decompress(&g, &mut out) {
                assert!(n <= out.len());
            }
            let cut = (state >> 4) as usize % g.len();
            assert!(decompress(&g[..cut], &mut out).map_or(true, |n| n <= out.len()));
        }
    }

    #[test]
    fn corrupt_blocks_are_errors() {
        let mut out = [0u8; 64];
        assert!(decompress(&[], &mut out).is_err());
        assert!(decompress(&[0x10, 1, 0, 0], &mut out).is_err(), "offset 0");
        assert!(decompress(&[0x10, 1, 2, 0], &mut out).is_err(), "offset beyond output");
        assert!(decompress(&[0xF0, 255, 255], &mut out).is_err(), "truncated length");
        assert!(decompress(&[0x50, 1, 2], &mut out).is_err(), "truncated literals");
    }
}
