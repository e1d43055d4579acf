//! BloscLZ, the LZ77 variant built into c-blosc (a FastLZ descendant).
//!
//! The stream is a sequence of instructions, each starting with a control byte:
//! - `ctrl < 32`: a literal run of `ctrl + 1` bytes follows.
//! - otherwise a match: `len = ctrl >> 5` (7 means "extended: add following bytes
//!   while they are 255, then one more"), distance high bits `ctrl & 31`, then the
//!   distance low byte. Copy `len + 2` bytes from `distance + 1` back. When the high
//!   bits are 31 and the low byte 255, two more big-endian bytes hold a far distance:
//!   copy from `far + 8191 + 1` back.
//!
//! The first control byte's top three bits carry a format marker and are ignored.

use alloc::vec::Vec;

const MAX_COPY: usize = 32;
const MAX_DISTANCE: usize = 8191;
const MAX_FARDISTANCE: usize = 65535 + MAX_DISTANCE - 1;
const HASH_LOG: u32 = 14;

/// Decompresses `input` into `out`, returning the number of bytes written.
///
/// # Errors
/// A description of the corruption: truncated instruction, output overflow, or a
/// match reaching before the start of the output.
pub(crate) fn decompress(input: &[u8], out: &mut [u8]) -> Result<usize, &'static str> {
    let Some((&first, _)) = input.split_first() else {
        return Ok(0);
    };
    let mut ip = 1usize;
    let mut op = 0usize;
    let mut ctrl = usize::from(first & 31);
    let next = |ip: &mut usize| -> Result<usize, &'static str> {
        let b = input.get(*ip).ok_or("blosclz match truncated")?;
        *ip += 1;
        Ok(usize::from(*b))
    };
    loop {
        if ctrl >= 32 {
            let mut len = (ctrl >> 5) - 1;
            let ofs = (ctrl & 31) << 8;
            if len == 6 {
                loop {
                    let code = next(&mut ip)?;
                    len += code;
                    if code != 255 {
                        break;
                    }
                }
            }
            let code = next(&mut ip)?;
            len += 3;
            let mut dist = ofs + code + 1;
            if code == 255 && ofs == 31 << 8 {
                let hi = next(&mut ip)?;
                let lo = next(&mut ip)?;
                dist = ((hi << 8) | lo) + MAX_DISTANCE + 1;
            }
            if len > out.len() - op {
                return Err("blosclz match overflows the output");
            }
            if dist > op {
                return Err("blosclz match reaches before the start of the output");
            }
            super::lz4::copy_match(out, op - dist, op, len);
            op += len;
        } else {
            let run = ctrl + 1;
            if run > out.len() - op {
                return Err("blosclz literal run overflows the output");
            }
            let lit = input.get(ip..ip + run).ok_or("blosclz literal run truncated")?;
            out[op..op + run].copy_from_slice(lit);
            op += run;
            ip += run;
        }
        match input.get(ip) {
            Some(&b) => {
                ctrl = usize::from(b);
                ip += 1;
            }
            None => break,
        }
    }
    Ok(op)
}

fn read_u32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(s) => u32::from_le_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}

#[inline]
fn hash(seq: u32) -> usize {
    (seq.wrapping_mul(2_654_435_761) >> (32 - HASH_LOG)) as usize
}

/// Compresses `input` into `out` (cleared first) with a greedy hash-chain-free LZ77.
///
/// `table` is scratch space reused between calls. The stream always ends with a
/// literal run, as c-blosc's decoder expects. Inputs shorter than 16 bytes produce
/// an all-literal stream.
pub(crate) fn compress(input: &[u8], out: &mut Vec<u8>, table: &mut Vec<u32>) {
    out.clear();
    let n = input.len();
    if n == 0 {
        return;
    }
    table.clear();
    table.resize(1 << HASH_LOG, 0);
    // Literals are emitted in runs of at most MAX_COPY; `lit_start` marks the pending run.
    let mut lit_start = 0usize;
    let mut ip = 0usize;
    // Leave at least 12 trailing bytes as literals (matches never run to the very end).
    let ip_limit = n.saturating_sub(12);
    while ip < ip_limit {
        let seq = read_u32(input, ip);
        let h = hash(seq);
        let cand = table[h] as usize;
        table[h] = ip as u32;
        let dist = ip - cand;
        if dist == 0 || dist >= MAX_FARDISTANCE || read_u32(input, cand) != seq {
            ip += 1;
            continue;
        }
        // Extend the match, stopping 12 bytes before the end.
        let bound = ip_limit;
        let mut len = 4;
        while ip + len < bound && input[cand + len] == input[ip + len] {
            len += 1;
        }
        let biased = dist - 1;
        if len < 4 || (len <= 5 && biased >= MAX_DISTANCE) {
            ip += 1;
            continue;
        }
        emit_literals(out, &input[lit_start..ip]);
        emit_match(out, len, biased);
        ip += len;
        lit_start = ip;
        if ip < ip_limit {
            table[hash(read_u32(input, ip - 1))] = (ip - 1) as u32;
        }
    }
    emit_literals(out, &input[lit_start..]);
    if let Some(first) = out.first_mut() {
        // c-blosc marks the first control byte; decoders mask it off.
        *first |= 1 << 5;
    }
}

fn emit_literals(out: &mut Vec<u8>, lits: &[u8]) {
    for run in lits.chunks(MAX_COPY) {
        out.push((run.len() - 1) as u8);
        out.extend_from_slice(run);
    }
}

/// Emits a match of `len >= 3` bytes at biased distance `biased` (= distance - 1).
fn emit_match(out: &mut Vec<u8>, len: usize, biased: usize) {
    let code = len - 2;
    let (hi, lo, far) = if biased < MAX_DISTANCE {
        ((biased >> 8) as u8, (biased & 255) as u8, None)
    } else {
        (31u8, 255u8, Some(biased - MAX_DISTANCE))
    };
    if code < 7 {
        out.push(((code as u8) << 5) + hi);
    } else {
        out.push((7 << 5) + hi);
        let mut rest = code - 7;
        while rest >= 255 {
            out.push(255);
            rest -= 255;
        }
        out.push(rest as u8);
    }
    out.push(lo);
    if let Some(far) = far {
        out.push((far >> 8) as u8);
        out.push((far & 255) as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn round_trip(input: &[u8]) -> Vec<u8> {
        let (mut c, mut t) = (Vec::new(), Vec::new());
        compress(input, &mut c, &mut t);
        let mut out = vec![0u8; input.len()];
        let n = decompress(&c, &mut out).expect("decodes");
        assert_eq!(n, input.len());
        assert_eq!(out, input);
        c
    }

    #[test]
    fn round_trips_runs_matches_and_far_matches() {
        round_trip(b"");
        round_trip(b"a");
        round_trip(b"hello hello hello hello hello hello!");
        let zeros = vec![0u8; 100_000];
        assert!(round_trip(&zeros).len() < 2000);
        // A far match: 12 KiB of noise repeated.
        let noise: Vec<u8> = (0..12_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let mut far = noise.clone();
        far.extend_from_slice(&noise);
        let c = round_trip(&far);
        assert!(c.len() < 14_000, "far match used: {}", c.len());
        let ramp: Vec<u8> = (0..70_000u32).map(|i| (i / 7) as u8).collect();
        round_trip(&ramp);
    }

    #[test]
    fn corrupt_streams_are_errors() {
        let mut out = [0u8; 16];
        // Match before any output.
        assert!(decompress(&[0x00, 9, 0x40, 0x05], &mut out).is_err());
        // Literal run longer than the input.
        assert!(decompress(&[0x05, 1, 2], &mut out).is_err());
        // Literal run longer than the output.
        assert!(decompress(&[31; 40], &mut out).is_err());
        // Truncated extended length.
        assert!(decompress(&[0x00, 7, 0xE0, 255], &mut out).is_err());
        // Truncated far distance.
        assert!(decompress(&[0x00, 7, 0x3F, 255, 1], &mut out).is_err());
    }
}
