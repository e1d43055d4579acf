//! A safe LZ4 block decoder tuned for blosc streams.
//!
//! `lz4_flex` copies overlapping matches one byte at a time, and shuffled numeric data
//! is mostly long runs at offsets 1-8, so blosc decoding spends its time there. This
//! decoder copies overlapping matches in doubling chunks and short sequences with
//! fixed 16-byte copies when there is room, all with checked slices.
//!
//! Block format: a token (literal length in the high nibble, match length - 4 in the
//! low one, 15 meaning "add following bytes while they are 255"), the literals, then
//! a little-endian `u16` offset and the match. The last sequence has literals only.

/// Decompresses one LZ4 block into `out`, returning the number of bytes written.
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
        let mut lit = usize::from(token >> 4);
        if lit == 15 {
            lit += read_extra(input, &mut ip)?;
        }
        // Literals: a fixed 16-byte copy when both sides have room, else exact.
        if lit <= 16 && ip + 16 <= in_len && op + 16 <= out_len {
            out[op..op + 16].copy_from_slice(&input[ip..ip + 16]);
        } else {
            let src = input.get(ip..ip + lit).ok_or("lz4 literals truncated")?;
            let dst = out.get_mut(op..op + lit).ok_or("lz4 literals overflow the output")?;
            dst.copy_from_slice(src);
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
        if off == 0 || off > op {
            return Err("lz4 match offset outside the output");
        }
        let mut ml = usize::from(token & 15);
        if ml == 15 {
            ml += read_extra(input, &mut ip)?;
        }
        ml += 4;
        let start = op - off;
        if ml <= 16 && off >= 16 && op + 16 <= out_len {
            out.copy_within(start..start + 16, op);
        } else {
            if ml > out_len - op {
                return Err("lz4 match overflows the output");
            }
            copy_match(out, start, op, ml);
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
