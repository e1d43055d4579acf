//! The c-blosc 1.x frame: a 16-byte header, then either the raw bytes (memcpyed) or a
//! table of block starts and the compressed blocks.
//!
//! Header (little endian): `version` (2), `versionlz` (1), `flags`, `typesize`,
//! `nbytes: u32`, `blocksize: u32`, `cbytes: u32`. Flags: 0x01 byte shuffle, 0x02
//! memcpyed, 0x04 bit shuffle, 0x08 reserved (rejected), 0x10 "do not split",
//! bits 5-7 the compressor format (0 blosclz, 1 lz4/lz4hc, 2 snappy, 3 zlib, 4 zstd).
//!
//! A block of `bsize` bytes is split into `typesize` streams when the "do not split"
//! flag is clear, `typesize <= 16`, `bsize / typesize >= 128` and it is not the short
//! last block; each stream is an `i32` compressed size followed by the data, stored
//! raw when that size equals the stream's decoded size (`blosc.c`, `blosc_d`).

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use super::{blosclz, lz4, shuffle, Compressor, Shuffle};
use crate::codec::zstd::ZstdBackend;
use crate::error::{Error, Result};

const CODEC: &str = "blosc";
const HEADER: usize = 16;
const FLAG_SHUFFLE: u8 = 0x01;
const FLAG_MEMCPYED: u8 = 0x02;
const FLAG_BITSHUFFLE: u8 = 0x04;
const FLAG_RESERVED: u8 = 0x08;
const FLAG_DONT_SPLIT: u8 = 0x10;
const MAX_SPLITS: usize = 16;
const MIN_BUFFERSIZE: usize = 128;
const MAX_TYPESIZE: usize = 255;
/// `BLOSC_MAX_BUFFERSIZE`: c-blosc sizes are `i32`.
const MAX_BUFFERSIZE: usize = i32::MAX as usize - HEADER;
const L1: usize = 32 * 1024;

const FORMAT_BLOSCLZ: u8 = 0;
const FORMAT_LZ4: u8 = 1;
const FORMAT_SNAPPY: u8 = 2;
const FORMAT_ZLIB: u8 = 3;
const FORMAT_ZSTD: u8 = 4;

fn err(reason: impl Into<alloc::string::String>) -> Error {
    Error::codec(CODEC, reason)
}

fn u32_at(b: &[u8], at: usize) -> usize {
    match b.get(at..at + 4) {
        Some(s) => u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize,
        None => 0,
    }
}

/// The parsed 16-byte header.
struct Header {
    flags: u8,
    typesize: usize,
    nbytes: usize,
    blocksize: usize,
    cbytes: usize,
}

/// Decodes one blosc frame, producing at most `max_len` bytes.
pub(crate) fn decode(input: &[u8], max_len: usize, zstd: &ZstdBackend) -> Result<Vec<u8>> {
    if input.len() < HEADER {
        return Err(err(format!("frame of {} bytes is shorter than the 16-byte header", input.len())));
    }
    let version = input[0];
    let versionlz = input[1];
    let h = Header {
        flags: input[2],
        typesize: usize::from(input[3]),
        nbytes: u32_at(input, 4),
        blocksize: u32_at(input, 8),
        cbytes: u32_at(input, 12),
    };
    if version == 0 || version > 2 {
        return Err(err(format!("unsupported frame format version {version} (blosc2 frames are not c-blosc 1.x)")));
    }
    if h.flags & FLAG_RESERVED != 0 {
        return Err(err(format!("reserved flag 0x08 set in header flags {:#04x}", h.flags)));
    }
    if h.nbytes > max_len {
        return Err(Error::LimitExceeded {
            what: "blosc decoded size",
            requested: h.nbytes as u64,
            limit: max_len as u64,
        });
    }
    if h.nbytes > MAX_BUFFERSIZE || h.cbytes > i32::MAX as usize {
        return Err(err(format!("header sizes nbytes {} / cbytes {} exceed the format's range", h.nbytes, h.cbytes)));
    }
    if h.cbytes < HEADER {
        return Err(err(format!("header cbytes {} is smaller than the header", h.cbytes)));
    }
    if h.cbytes > input.len() {
        return Err(err(format!("frame truncated: header says {} bytes, got {}", h.cbytes, input.len())));
    }
    // Bytes past `cbytes` are ignored, as c-blosc does.
    let src = &input[..h.cbytes];
    if h.nbytes == 0 {
        return Ok(Vec::new());
    }
    if h.typesize == 0 {
        return Err(err("header typesize is 0"));
    }
    if h.blocksize == 0 {
        return Err(err("header blocksize is 0"));
    }
    if h.flags & FLAG_MEMCPYED != 0 {
        if h.cbytes != h.nbytes + HEADER {
            return Err(err(format!(
                "memcpyed frame of {} bytes should hold {} + 16 header bytes",
                h.cbytes, h.nbytes
            )));
        }
        return Ok(src[HEADER..].to_vec());
    }
    let format = h.flags >> 5;
    let decompressor = match format {
        FORMAT_BLOSCLZ => Decompressor::BloscLz,
        FORMAT_LZ4 => Decompressor::Lz4,
        FORMAT_SNAPPY => return Err(Error::Unsupported { kind: "blosc compressor", name: "snappy".into() }),
        FORMAT_ZLIB => Decompressor::Zlib,
        FORMAT_ZSTD => Decompressor::Zstd(zstd),
        other => return Err(err(format!("unknown compressor format {other} in header flags"))),
    };
    if versionlz != 1 {
        return Err(err(format!("unsupported version {versionlz} of compressor format {format}")));
    }
    let nblocks = h.nbytes.div_ceil(h.blocksize);
    let leftover = h.nbytes % h.blocksize;
    // The table of block starts must fit (checked before anything is allocated).
    if nblocks > (h.cbytes - HEADER) / 4 {
        return Err(err(format!("{} bytes cannot hold the starts of {nblocks} blocks", h.cbytes)));
    }
    // Filled block by block (byte-unshuffled blocks are appended, never zeroed first).
    let mut out = Vec::with_capacity(h.nbytes);
    let shuffled = (h.flags & FLAG_SHUFFLE != 0 && h.typesize > 1) || h.flags & FLAG_BITSHUFFLE != 0;
    let mut tmp = if shuffled { vec![0u8; h.blocksize.min(h.nbytes)] } else { Vec::new() };
    for j in 0..nblocks {
        let start = u32_at(src, HEADER + 4 * j);
        let is_leftover = leftover > 0 && j == nblocks - 1;
        let bsize = (h.nbytes - out.len()).min(h.blocksize);
        decode_block(&h, &decompressor, src, start, is_leftover, bsize, &mut out, &mut tmp)
            .map_err(|e| block_error(e, j))?;
    }
    if out.len() != h.nbytes {
        return Err(err(format!("decoded {} bytes, header says {}", out.len(), h.nbytes)));
    }
    Ok(out)
}

fn block_error(e: Error, block: usize) -> Error {
    match e {
        Error::Codec { codec, reason } => Error::Codec { codec, reason: format!("block {block}: {reason}") },
        other => other,
    }
}

enum Decompressor<'a> {
    BloscLz,
    Lz4,
    Zlib,
    Zstd(&'a ZstdBackend),
}

impl Decompressor<'_> {
    /// Decodes `src` into exactly `dst.len()` bytes.
    fn run(&self, src: &[u8], dst: &mut [u8]) -> Result<()> {
        let n = dst.len();
        let got = match self {
            Decompressor::BloscLz => blosclz::decompress(src, dst).map_err(err)?,
            Decompressor::Lz4 => lz4::decompress(src, dst).map_err(err)?,
            Decompressor::Zlib => {
                miniz_oxide::inflate::decompress_slice_iter_to_slice(dst, core::iter::once(src), true, false)
                    .map_err(|e| err(format!("zlib stream: {e:?}")))?
            }
            Decompressor::Zstd(backend) => {
                let v = (backend.decode)(src, n)?;
                let m = v.len().min(n);
                dst[..m].copy_from_slice(&v[..m]);
                v.len()
            }
        };
        if got != n {
            return Err(err(format!("stream decoded to {got} bytes, expected {n}")));
        }
        Ok(())
    }
}

/// Decodes block `bsize` bytes long and appends it to `out`.
#[allow(clippy::too_many_arguments)]
fn decode_block(
    h: &Header,
    decompressor: &Decompressor<'_>,
    src: &[u8],
    start: usize,
    is_leftover: bool,
    bsize: usize,
    out: &mut Vec<u8>,
    tmp: &mut [u8],
) -> Result<()> {
    let ts = h.typesize;
    let doshuffle = h.flags & FLAG_SHUFFLE != 0 && ts > 1;
    let dobitshuffle = !doshuffle && h.flags & FLAG_BITSHUFFLE != 0 && bsize >= ts;
    let split = h.flags & FLAG_DONT_SPLIT == 0 && ts <= MAX_SPLITS && bsize / ts >= MIN_BUFFERSIZE && !is_leftover;
    let nsplits = if split { ts } else { 1 };
    if bsize % nsplits != 0 {
        return Err(err(format!("blocksize {bsize} is not a multiple of typesize {ts}")));
    }
    let neblock = bsize / nsplits;
    let base = out.len();
    let target: &mut [u8] = if doshuffle || dobitshuffle {
        tmp.get_mut(..bsize).ok_or_else(|| err("block larger than the header blocksize"))?
    } else {
        out.resize(base + bsize, 0);
        &mut out[base..]
    };
    // Typesize 2 split into two streams: a stream stored raw is interleaved straight
    // from the frame rather than copied to `tmp` first.
    let direct2 = doshuffle && ts == 2 && nsplits == 2;
    let mut raw: [Option<&[u8]>; 2] = [None, None];
    let mut offset = start;
    for (k, stream) in target.chunks_exact_mut(neblock).take(nsplits).enumerate() {
        if offset < HEADER || offset > src.len().saturating_sub(4) {
            return Err(err(format!("stream offset {offset} outside the frame of {} bytes", src.len())));
        }
        let csize = u32_at(src, offset);
        offset += 4;
        if csize > i32::MAX as usize || csize > src.len() - offset {
            return Err(err(format!(
                "stream of {csize} compressed bytes at offset {offset} overruns the frame of {} bytes",
                src.len()
            )));
        }
        let data = &src[offset..offset + csize];
        if csize == neblock && direct2 {
            if let Some(r) = raw.get_mut(k) {
                *r = Some(data);
            }
        } else if csize == neblock {
            stream.copy_from_slice(data);
        } else {
            decompressor.run(data, stream)?;
        }
        offset += csize;
    }
    if direct2 {
        let (a, b) = tmp[..bsize].split_at(neblock);
        shuffle::interleave2_append(raw[0].unwrap_or(a), raw[1].unwrap_or(b), out);
    } else if doshuffle {
        shuffle::unshuffle_append(ts, &tmp[..bsize], out);
    } else if dobitshuffle {
        out.resize(base + bsize, 0);
        shuffle::bitunshuffle(ts, &tmp[..bsize], &mut out[base..]);
    }
    Ok(())
}

/// Encoder settings, resolved from the codec's configuration.
pub(crate) struct EncodeParams<'a> {
    pub(crate) compressor: Compressor,
    pub(crate) clevel: u8,
    pub(crate) shuffle: Shuffle,
    pub(crate) typesize: usize,
    pub(crate) blocksize: usize,
    pub(crate) zstd: &'a ZstdBackend,
}

fn is_hcr(c: Compressor) -> bool {
    matches!(c, Compressor::Lz4Hc | Compressor::Zlib | Compressor::Zstd)
}

/// c-blosc's `split_block` in its default `BLOSC_FORWARD_COMPAT_SPLIT` mode.
fn split_block(c: Compressor, typesize: usize, blocksize: usize) -> bool {
    c != Compressor::Zstd && typesize <= MAX_SPLITS && blocksize / typesize >= MIN_BUFFERSIZE
}

/// c-blosc's `compute_blocksize`, so our frames have the same block layout as numcodecs'.
fn compute_blocksize(c: Compressor, clevel: u8, typesize: usize, nbytes: usize, forced: usize) -> usize {
    if nbytes < typesize {
        return 1;
    }
    let mut blocksize = nbytes;
    if forced != 0 {
        blocksize = forced.clamp(MIN_BUFFERSIZE, MAX_BUFFERSIZE / 3);
    } else if nbytes >= L1 {
        blocksize = L1;
        if is_hcr(c) {
            blocksize *= 2;
        }
        match clevel {
            0 => blocksize /= 4,
            1 => blocksize /= 2,
            2 => {}
            3 => blocksize *= 2,
            4 | 5 => blocksize *= 4,
            6..=8 => blocksize *= 8,
            _ => {
                blocksize *= 8;
                if is_hcr(c) {
                    blocksize *= 2;
                }
            }
        }
    }
    if clevel > 0 && split_block(c, typesize, blocksize) {
        blocksize = blocksize.min(1 << 18) * typesize;
        blocksize = blocksize.clamp(1 << 16, 1 << 20);
    }
    blocksize = blocksize.min(nbytes);
    if blocksize > typesize {
        blocksize = blocksize / typesize * typesize;
    }
    blocksize
}

/// Per-call scratch buffers, reused across blocks and streams.
struct Scratch {
    shuffled: Vec<u8>,
    compressed: Vec<u8>,
    table: Vec<u32>,
}

/// Encodes `input` as one blosc frame.
pub(crate) fn encode(p: &EncodeParams<'_>, input: &[u8]) -> Result<Vec<u8>> {
    let nbytes = input.len();
    if nbytes > MAX_BUFFERSIZE {
        return Err(err(format!("input of {nbytes} bytes exceeds the blosc limit of {MAX_BUFFERSIZE}")));
    }
    let (format, versionlz) = match p.compressor {
        Compressor::BloscLz => (FORMAT_BLOSCLZ, 1u8),
        Compressor::Lz4 | Compressor::Lz4Hc => (FORMAT_LZ4, 1),
        Compressor::Zlib => (FORMAT_ZLIB, 1),
        Compressor::Zstd => (FORMAT_ZSTD, 1),
        Compressor::Snappy => {
            return Err(Error::Unsupported { kind: "blosc compressor", name: "snappy".into() });
        }
    };
    let clevel = p.clevel.min(9);
    // c-blosc treats typesizes above 255 as 1.
    let ts = if p.typesize == 0 || p.typesize > MAX_TYPESIZE { 1 } else { p.typesize };
    let shuffle = match p.shuffle {
        Shuffle::Auto if ts == 1 => Shuffle::Bit,
        Shuffle::Auto => Shuffle::Byte,
        s => s,
    };
    let blocksize = compute_blocksize(p.compressor, clevel, ts, nbytes, p.blocksize);
    let nblocks = if nbytes == 0 { 0 } else { nbytes.div_ceil(blocksize) };
    let leftover = if nbytes == 0 { 0 } else { nbytes % blocksize };
    let dont_split = !split_block(p.compressor, ts, blocksize);
    let mut flags = (format << 5) | (u8::from(dont_split) << 4);
    match shuffle {
        Shuffle::Byte => flags |= FLAG_SHUFFLE,
        Shuffle::Bit => flags |= FLAG_BITSHUFFLE,
        _ => {}
    }
    let header = |flags: u8, cbytes: usize| {
        let mut h = Vec::with_capacity(HEADER);
        h.extend_from_slice(&[2, versionlz, flags, ts as u8]);
        h.extend_from_slice(&(nbytes as u32).to_le_bytes());
        h.extend_from_slice(&(blocksize as u32).to_le_bytes());
        h.extend_from_slice(&(cbytes as u32).to_le_bytes());
        h
    };
    let memcpyed = |flags: u8| {
        let mut out = header(flags | FLAG_MEMCPYED, nbytes + HEADER);
        out.reserve_exact(nbytes);
        out.extend_from_slice(input);
        out
    };
    if clevel == 0 || nbytes < MIN_BUFFERSIZE {
        return Ok(memcpyed(flags));
    }
    let maxbytes = nbytes + HEADER;
    let mut out = header(flags, 0);
    out.reserve(nbytes / 2 + 4 * nblocks);
    out.resize(HEADER + 4 * nblocks, 0);
    let mut scratch = Scratch { shuffled: Vec::new(), compressed: Vec::new(), table: Vec::new() };
    if shuffle != Shuffle::None {
        scratch.shuffled = vec![0; blocksize];
    }
    for (j, block) in input.chunks(blocksize).enumerate() {
        let start = out.len() as u32;
        out[HEADER + 4 * j..HEADER + 4 * j + 4].copy_from_slice(&start.to_le_bytes());
        let is_leftover = leftover > 0 && j == nblocks - 1;
        let fits =
            encode_block(p, clevel, shuffle, ts, dont_split, is_leftover, block, maxbytes, &mut out, &mut scratch)?;
        if !fits {
            return Ok(memcpyed(flags));
        }
    }
    let cbytes = out.len() as u32;
    out[12..16].copy_from_slice(&cbytes.to_le_bytes());
    Ok(out)
}

/// Appends one block's streams to `out`; `false` when the frame would outgrow `maxbytes`.
#[allow(clippy::too_many_arguments)]
fn encode_block(
    p: &EncodeParams<'_>,
    clevel: u8,
    shuffle: Shuffle,
    ts: usize,
    dont_split: bool,
    is_leftover: bool,
    block: &[u8],
    maxbytes: usize,
    out: &mut Vec<u8>,
    scratch: &mut Scratch,
) -> Result<bool> {
    let bsize = block.len();
    let Scratch { shuffled, compressed, table } = scratch;
    let data: &[u8] = match shuffle {
        Shuffle::Byte if ts > 1 => {
            let tmp = &mut shuffled[..bsize];
            shuffle::shuffle(ts, block, tmp);
            tmp
        }
        Shuffle::Bit if bsize >= ts => {
            let tmp = &mut shuffled[..bsize];
            shuffle::bitshuffle(ts, block, tmp);
            tmp
        }
        _ => block,
    };
    let nsplits = if !dont_split && !is_leftover { ts } else { 1 };
    let neblock = bsize / nsplits;
    for stream in data.chunks_exact(neblock).take(nsplits) {
        let prefix_at = out.len();
        out.extend_from_slice(&[0; 4]);
        compress_stream(p, clevel, stream, compressed, table)?;
        let c = &*compressed;
        let cbytes = if !c.is_empty() && c.len() < neblock && out.len() + c.len() <= maxbytes {
            out.extend_from_slice(c);
            c.len()
        } else if out.len() + neblock <= maxbytes {
            out.extend_from_slice(stream);
            neblock
        } else {
            return Ok(false);
        };
        out[prefix_at..prefix_at + 4].copy_from_slice(&(cbytes as u32).to_le_bytes());
    }
    Ok(true)
}

/// Compresses one stream into `c` (empty when the compressor gave up).
fn compress_stream(
    p: &EncodeParams<'_>,
    clevel: u8,
    stream: &[u8],
    c: &mut Vec<u8>,
    table: &mut Vec<u32>,
) -> Result<()> {
    match p.compressor {
        Compressor::Lz4 | Compressor::Lz4Hc => {
            c.clear();
            c.resize(lz4_flex::block::get_maximum_output_size(stream.len()), 0);
            let n = lz4_flex::block::compress_into(stream, c).map_err(|e| err(format!("lz4: {e}")))?;
            c.truncate(n);
        }
        Compressor::BloscLz => blosclz::compress(stream, c, table),
        Compressor::Zlib => *c = miniz_oxide::deflate::compress_to_vec_zlib(stream, clevel),
        Compressor::Zstd => {
            // c-blosc's mapping of blosc levels to zstd levels (zstd_wrap_compress).
            let level = match clevel {
                9 => 22,
                8 => 20,
                l => i32::from(l) * 2 - 1,
            };
            *c = (p.zstd.encode)(stream, level, false)?;
        }
        Compressor::Snappy => return Err(Error::Unsupported { kind: "blosc compressor", name: "snappy".into() }),
    }
    Ok(())
}
