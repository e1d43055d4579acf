//! The `zstd` codec, with a pure-Rust backend (ruzstd) and, with feature
//! `zstd-native`, libzstd.
//!
//! Both backends first walk the frame and block headers ([`scan`]) without
//! decoding anything, so they reject the same malformed streams and apply the same
//! limits before allocating: a declared content size above `max_len`, or a frame
//! without a content size whose window is larger than both `max_len` and 8 MiB, is
//! [`Error::LimitExceeded`]. Then they decode every frame (skippable frames are
//! skipped, content checksums are verified) and stop once output passes `max_len`.
//!
//! What bounds memory while decoding a hostile frame:
//! - Blocks: both backends enforce the format's block maximum, min(window, 128 KiB) of
//!   output. ruzstd (since 0.9.1) checks a compressed block's output after each
//!   sequence, so it stops within one sequence (< 256 KiB) of the maximum; ruzstd 0.8
//!   executed the whole block first, and 4 KB could ask for gigabytes.
//!   (`oversized_block_is_an_error_before_it_is_decoded`.) ruzstd does not cap a
//!   block's literals at the maximum (up to 1 MiB), so one block yields at most ~1.3 MiB.
//! - Window: ruzstd hands output over only once it is more than a window old, so a frame
//!   declaring a window far above its content could make it buffer up to that window
//!   unchecked. Such frames are given to ruzstd in single-segment form (window = content
//!   size, which decodes the same bytes), and other windows are bounded by `scan`.
//! - Frame: ruzstd runs in steps of 256 KiB of output, after each of which the output is
//!   checked against `max_len`. So its memory stays below output (`max_len` + one step and
//!   one block) plus the window it holds back: at most `max_len` for a frame with a
//!   content size, else max(`max_len`, 8 MiB). libzstd decodes into at most `max_len`.

use alloc::vec::Vec;

use serde_json::{json, Value};

use crate::codec::config::{int_key, only_keys, v2_object, v3_object};
use crate::error::{Error, Result};

const NAME: &str = "zstd";
const MAGIC: u32 = 0xFD2F_B528;
const SKIPPABLE_MAGIC: u32 = 0x184D_2A50;
const MAX_BLOCK_SIZE: u32 = 128 << 10;
/// The largest window libzstd (64-bit) decodes, as a log2.
const MAX_WINDOW_LOG: u8 = 31;
/// Frames without a content size may use a window this large whatever `max_len` is.
const MIN_WINDOW_ALLOWANCE: u64 = 8 << 20;
/// The level range libzstd accepts (`ZSTD_minCLevel()..=ZSTD_maxCLevel()`).
const LEVELS: core::ops::RangeInclusive<i64> = -(1 << 17)..=22;

/// A zstd implementation: the pure-Rust one, or a native one a std build registers.
#[derive(Clone, Copy)]
pub struct ZstdBackend {
    /// Name for diagnostics, e.g. "ruzstd" or "libzstd".
    pub name: &'static str,
    /// Decodes a zstd stream (all frames), failing above `max_len` bytes of output.
    pub decode: fn(input: &[u8], max_len: usize) -> Result<Vec<u8>>,
    /// Encodes at a level, with or without a content checksum.
    pub encode: fn(input: &[u8], level: i32, checksum: bool) -> Result<Vec<u8>>,
}

impl core::fmt::Debug for ZstdBackend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for ZstdBackend {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// The `zstd` bytes-to-bytes codec.
#[derive(Debug, Clone, PartialEq)]
pub struct Zstd {
    /// Compression level.
    pub level: i32,
    /// Whether encoded frames carry a content checksum.
    pub checksum: bool,
    /// The implementation in use.
    pub backend: ZstdBackend,
}

impl Default for Zstd {
    /// Level 0 (libzstd's default, 3), no checksum, the pure-Rust backend.
    fn default() -> Self {
        Zstd { level: 0, checksum: false, backend: RUST_BACKEND }
    }
}

impl Zstd {
    /// Decodes `input`, failing rather than producing more than `max_len` bytes.
    ///
    /// # Errors
    /// [`Error::Codec`] for malformed, truncated or corrupt frames and checksum mismatches;
    /// [`Error::Unsupported`] for frames that need a dictionary; [`Error::LimitExceeded`]
    /// above `max_len`.
    pub fn decode(&self, input: &[u8], max_len: usize) -> Result<Vec<u8>> {
        (self.backend.decode)(input, max_len)
    }

    /// Encodes `input` as one frame.
    ///
    /// # Errors
    /// [`Error::Codec`] if the backend fails (libzstd out of memory).
    pub fn encode(&self, input: &[u8]) -> Result<Vec<u8>> {
        (self.backend.encode)(input, self.level, self.checksum)
    }
}

/// One frame of a zstd stream, as found by [`scan`].
#[derive(Debug, Clone, PartialEq)]
pub struct FrameInfo {
    /// Byte range of the whole frame (header, blocks, checksum) in the input.
    pub range: core::ops::Range<usize>,
    /// A skippable frame (user data, no output).
    pub skippable: bool,
    /// The declared decoded size, when the header has one.
    pub content_size: Option<u64>,
    /// The window size the frame declares (its content size for single-segment frames).
    pub window_size: u64,
    /// Whether the frame ends with a content checksum.
    pub checksum: bool,
    /// Length of the frame header: magic through content size (8 for a skippable frame).
    pub header_len: usize,
}

fn read_le(input: &[u8], pos: usize, n: usize) -> Result<u64> {
    let bytes = input.get(pos..pos.saturating_add(n)).ok_or_else(|| Error::codec(NAME, "truncated frame header"))?;
    Ok(bytes.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// Walks the frame and block headers of a zstd stream without decoding it.
///
/// Checks that the input is a sequence of complete frames, and that frames which will be
/// decoded stay within `max_len`: the declared content sizes together, and the window of
/// any frame without a content size (up to 8 MiB is always allowed).
///
/// # Errors
/// [`Error::Codec`] for anything but whole frames (bad magic, reserved bits, a truncated
/// header or block, an oversized block, a window above 2^31 as libzstd refuses);
/// [`Error::Unsupported`] for a dictionary id;
/// [`Error::LimitExceeded`] as above.
pub fn scan(input: &[u8], max_len: usize) -> Result<Vec<FrameInfo>> {
    if input.is_empty() {
        return Err(Error::codec(NAME, "empty input is not a zstd frame"));
    }
    let mut frames = Vec::new();
    let mut declared_total: u64 = 0;
    let mut pos = 0;
    while pos < input.len() {
        let start = pos;
        let magic = read_le(input, pos, 4)? as u32;
        if magic & 0xFFFF_FFF0 == SKIPPABLE_MAGIC {
            let size = read_le(input, pos + 4, 4)? as usize;
            let end = (pos + 8).checked_add(size).filter(|&e| e <= input.len());
            let end = end.ok_or_else(|| Error::codec(NAME, "truncated skippable frame"))?;
            frames.push(FrameInfo {
                range: start..end,
                skippable: true,
                content_size: None,
                window_size: 0,
                checksum: false,
                header_len: 8,
            });
            pos = end;
            continue;
        }
        if magic != MAGIC {
            return Err(Error::codec(NAME, alloc::format!("bad frame magic {magic:#010x} at byte {pos}")));
        }
        pos += 4;
        let fhd = read_le(input, pos, 1)? as u8;
        pos += 1;
        if fhd & 0x08 != 0 {
            return Err(Error::codec(NAME, "reserved bit set in frame header descriptor"));
        }
        let single_segment = fhd & 0x20 != 0;
        let checksum = fhd & 0x04 != 0;
        let mut window_size = 0;
        if !single_segment {
            let wd = read_le(input, pos, 1)? as u8;
            pos += 1;
            if wd >> 3 > MAX_WINDOW_LOG - 10 {
                // libzstd's ZSTD_WINDOWLOG_MAX; the format allows up to 2^41.
                return Err(Error::codec(NAME, alloc::format!("window of 2^{} bytes is above 2^31", 10 + (wd >> 3))));
            }
            let base = 1u64 << (10 + u32::from(wd >> 3));
            window_size = base + (base / 8) * u64::from(wd & 7);
        }
        let dict_len = [0, 1, 2, 4][usize::from(fhd & 3)];
        let dict_id = read_le(input, pos, dict_len)?;
        pos += dict_len;
        if dict_id != 0 {
            return Err(Error::Unsupported { kind: "zstd dictionary", name: alloc::format!("{dict_id}") });
        }
        let fcs_len = match fhd >> 6 {
            0 if single_segment => 1,
            0 => 0,
            1 => 2,
            2 => 4,
            _ => 8,
        };
        let content_size = match fcs_len {
            0 => None,
            2 => Some(read_le(input, pos, 2)? + 256),
            n => Some(read_le(input, pos, n)?),
        };
        pos += fcs_len;
        if single_segment {
            window_size = content_size.unwrap_or(0);
        }
        let header_len = pos - start;
        match content_size {
            Some(size) => {
                declared_total = declared_total.saturating_add(size);
                crate::limits::check("decoded zstd chunk", declared_total, max_len as u64)?;
            }
            None => {
                let allowed = (max_len as u64).max(MIN_WINDOW_ALLOWANCE);
                crate::limits::check("zstd window of a frame without content size", window_size, allowed)?;
            }
        }
        let block_max = u64::from(MAX_BLOCK_SIZE).min(window_size.max(1));
        loop {
            let header = read_le(input, pos, 3).map_err(|_| Error::codec(NAME, "truncated block header"))? as u32;
            pos += 3;
            let last = header & 1 != 0;
            let size = header >> 3;
            let stored = match (header >> 1) & 3 {
                0 => size, // raw
                1 => 1,    // RLE: one byte repeated `size` times
                2 => size, // compressed
                _ => return Err(Error::codec(NAME, "reserved block type")),
            };
            if u64::from(size) > block_max && !(single_segment && window_size < u64::from(MAX_BLOCK_SIZE)) {
                return Err(Error::codec(NAME, alloc::format!("block of {size} bytes exceeds the block maximum")));
            }
            pos = pos
                .checked_add(stored as usize)
                .filter(|&p| p <= input.len())
                .ok_or_else(|| Error::codec(NAME, "truncated block"))?;
            if last {
                break;
            }
        }
        if checksum {
            pos = pos
                .checked_add(4)
                .filter(|&p| p <= input.len())
                .ok_or_else(|| Error::codec(NAME, "truncated checksum"))?;
        }
        frames.push(FrameInfo { range: start..pos, skippable: false, content_size, window_size, checksum, header_len });
    }
    Ok(frames)
}

fn limit_error(max_len: usize) -> Error {
    let limit = max_len as u64;
    Error::LimitExceeded { what: "decoded zstd chunk", requested: limit.saturating_add(1), limit }
}

/// The sum of the declared content sizes, or `None` when a frame has none.
fn declared_size(frames: &[FrameInfo]) -> Option<u64> {
    frames.iter().filter(|f| !f.skippable).try_fold(0u64, |acc, f| f.content_size.map(|s| acc.saturating_add(s)))
}

/// The longest frame header: magic, descriptor, window, 4-byte dictionary id, 8-byte content size.
const MAX_HEADER_LEN: usize = 18;

/// The header ruzstd is given for `frame`, and the window it implies.
///
/// A frame that declares a window larger than its content size gets the header of the
/// same frame in single-segment form (window = content size). That decodes the same
/// bytes (no match can reach back further than the content), but ruzstd holds back up
/// to a window of output until the frame ends, so a 1 GiB window with a declared 1 MiB
/// content could otherwise make it buffer far past `max_len` before we see any output.
/// It also tightens the block maximum to the content size, as libzstd's is.
fn ruzstd_header(header: &[u8], frame: &FrameInfo) -> Result<([u8; MAX_HEADER_LEN], usize, u64)> {
    let mut out = [0u8; MAX_HEADER_LEN];
    let bad = || Error::codec(NAME, "frame header changed between scan and decode");
    let mut len = header.len();
    out.get_mut(..len).ok_or_else(bad)?.copy_from_slice(header);
    let fhd = *header.get(4).ok_or_else(bad)?;
    let mut window = frame.window_size;
    if let Some(content) = frame.content_size.filter(|&c| fhd & 0x20 == 0 && c < window && len >= 6) {
        // Set the single-segment flag and drop the window descriptor (byte 5). The content
        // size field keeps its flag and size: only the flag value 0 differs in meaning.
        out[4] = fhd | 0x20;
        out.copy_within(6..len, 5);
        len -= 1;
        window = content;
    }
    Ok((out, len, window))
}

fn ruzstd_decode(input: &[u8], max_len: usize) -> Result<Vec<u8>> {
    use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};

    let frames = scan(input, max_len)?;
    let capacity = declared_size(&frames).map_or(0, |n| n as usize);
    let mut out = Vec::with_capacity(capacity);
    let ruzstd_err = |e: &dyn core::fmt::Display| Error::codec(NAME, alloc::format!("{e}"));
    for frame in frames.iter().filter(|f| !f.skippable) {
        let whole = input.get(frame.range.clone()).unwrap_or_default();
        let (header, mut src) = whole.split_at_checked(frame.header_len).unwrap_or_default();
        let (header, header_len, window) = ruzstd_header(header, frame)?;
        let start = out.len();
        // A fresh decoder per frame: `reset` would pre-allocate the declared window.
        let mut decoder = FrameDecoder::new();
        // `scan` has applied our window policy; without this, ruzstd would refuse windows
        // above 128 MiB, e.g. a one-shot (single-segment) frame of a chunk that large,
        // which libzstd decodes. Its buffer grows with the output, not the window.
        decoder.set_max_window_size(window);
        let mut header = header.get(..header_len).unwrap_or_default();
        decoder.init(&mut header).map_err(|e| ruzstd_err(&e))?;
        if !header.is_empty() {
            return Err(Error::codec(NAME, "ruzstd read a different frame header than scan"));
        }
        loop {
            let finished = decoder
                .decode_blocks(&mut src, BlockDecodingStrategy::UptoBytes(256 << 10))
                .map_err(|e| ruzstd_err(&e))?;
            decoder.collect_to_writer(&mut out).map_err(|e| ruzstd_err(&e))?;
            if out.len() > max_len {
                return Err(limit_error(max_len));
            }
            if finished {
                break;
            }
        }
        if decoder.can_collect() != 0 || !src.is_empty() {
            return Err(Error::codec(NAME, "frame did not end where its blocks said"));
        }
        if let Some(declared) = frame.content_size {
            let got = (out.len() - start) as u64;
            if got != declared {
                return Err(Error::codec(
                    NAME,
                    alloc::format!("frame declares {declared} bytes of content, decoded {got}"),
                ));
            }
        }
        if let (Some(stored), Some(computed)) = (decoder.get_checksum_from_data(), decoder.get_calculated_checksum()) {
            if stored != computed {
                return Err(Error::codec(
                    NAME,
                    alloc::format!("content checksum mismatch: expected {stored:#010x}, computed {computed:#010x}"),
                ));
            }
        }
    }
    Ok(out)
}

fn ruzstd_encode(input: &[u8], _level: i32, checksum: bool) -> Result<Vec<u8>> {
    // ruzstd 0.8 implements one real level (~ zstd level 1); every level maps to it.
    let frame = ruzstd::encoding::compress_to_vec(input, ruzstd::encoding::CompressionLevel::Fastest);
    // ruzstd writes [magic, FHD, window descriptor, blocks..., checksum] with no content
    // size (and with the `hash` feature always a checksum). Declare the content size, as
    // libzstd's one-shot API does, so readers can allocate once, and drop the checksum
    // unless asked for it.
    let (head, rest) = frame
        .split_at_checked(6)
        .filter(|(h, _)| h[..4] == MAGIC.to_le_bytes() && h[4] & 0xE7 == 0x04)
        .ok_or_else(|| Error::codec(NAME, "unexpected frame header from ruzstd"))?;
    let len = input.len() as u64;
    let (flag, fcs): (u8, Vec<u8>) = if (256..65536 + 256).contains(&len) {
        (1, ((len - 256) as u16).to_le_bytes().to_vec())
    } else if len <= u64::from(u32::MAX) {
        (2, (len as u32).to_le_bytes().to_vec())
    } else {
        (3, len.to_le_bytes().to_vec())
    };
    let mut out = Vec::with_capacity(frame.len() + 8);
    out.extend_from_slice(&head[..4]);
    out.push((head[4] & !0x04) | (flag << 6) | if checksum { 0x04 } else { 0 });
    out.push(head[5]);
    out.extend_from_slice(&fcs);
    let body = if checksum { rest } else { rest.get(..rest.len().saturating_sub(4)).unwrap_or_default() };
    out.extend_from_slice(body);
    Ok(out)
}

/// The pure-Rust backend (ruzstd).
pub const RUST_BACKEND: ZstdBackend = ZstdBackend { name: "ruzstd", decode: ruzstd_decode, encode: ruzstd_encode };

/// The native backend (libzstd through the `zstd` crate).
#[cfg(feature = "zstd-native")]
pub const NATIVE_BACKEND: ZstdBackend = ZstdBackend { name: "libzstd", decode: native::decode, encode: native::encode };

#[cfg(feature = "zstd-native")]
mod native {
    use super::*;
    use std::io::Read;

    fn io_err(e: std::io::Error) -> Error {
        Error::codec(NAME, alloc::format!("{e}"))
    }

    pub(super) fn decode(input: &[u8], max_len: usize) -> Result<Vec<u8>> {
        let frames = scan(input, max_len)?;
        if let Some(total) = declared_size(&frames) {
            // Every frame declares its size and together they fit: one call, one allocation.
            let mut out = Vec::with_capacity(total as usize);
            // One decompression context per thread: creating one per chunk showed up in profiles.
            std::thread_local! {
                static DECOMPRESSOR: core::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
                    const { core::cell::RefCell::new(None) };
            }
            DECOMPRESSOR.with(|cell| -> Result<()> {
                let mut slot = cell.borrow_mut();
                let decompressor = match slot.as_mut() {
                    Some(d) => d,
                    None => slot.insert(zstd::bulk::Decompressor::new().map_err(io_err)?),
                };
                decompressor.decompress_to_buffer(input, &mut out).map_err(io_err)?;
                Ok(())
            })?;
            if out.len() as u64 != total {
                return Err(Error::codec(NAME, alloc::format!("frames declare {total} bytes, decoded {}", out.len())));
            }
            return Ok(out);
        }
        // Some frame has no content size: stream, reading at most max_len + 1 bytes.
        let mut decoder = zstd::stream::read::Decoder::with_buffer(input).map_err(io_err)?;
        let window = (max_len as u64).max(MIN_WINDOW_ALLOWANCE);
        let window_log = (64 - (window - 1).leading_zeros()).clamp(10, 31);
        decoder.window_log_max(window_log).map_err(io_err)?;
        let cap = max_len.saturating_add(1);
        let mut out = Vec::new();
        let mut filled = 0;
        loop {
            if filled == out.len() {
                if filled >= cap {
                    return Err(limit_error(max_len));
                }
                let grown = out.len().saturating_mul(2).max(input.len().saturating_mul(4)).max(64 << 10).min(cap);
                out.resize(grown, 0);
            }
            let n = decoder.read(out.get_mut(filled..).unwrap_or_default()).map_err(io_err)?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        out.truncate(filled);
        if filled > max_len {
            return Err(limit_error(max_len));
        }
        Ok(out)
    }

    pub(super) fn encode(input: &[u8], level: i32, checksum: bool) -> Result<Vec<u8>> {
        let mut compressor = zstd::bulk::Compressor::new(level).map_err(io_err)?;
        compressor.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(checksum)).map_err(io_err)?;
        compressor.compress(input).map_err(io_err)
    }
}

impl Zstd {
    fn from_config(config: &serde_json::Map<alloc::string::String, Value>, default_level: Option<i64>) -> Result<Self> {
        let level = int_key(config, "level", LEVELS, NAME)?
            .or(default_level)
            .ok_or_else(|| Error::codec(NAME, "missing `level`"))?;
        let checksum = match config.get("checksum") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(Error::codec(NAME, alloc::format!("`checksum` must be a boolean, got {other}"))),
        };
        Ok(Zstd { level: level as i32, checksum, backend: RUST_BACKEND })
    }

    /// Builds the codec from its v3 `configuration` object, `{"level": L, "checksum": bool}`,
    /// with the pure-Rust backend (the registry swaps in its own).
    ///
    /// # Errors
    /// [`Error::Codec`] when `level` is missing or not an integer in -131072..=22, `checksum`
    /// is not a boolean, or an unknown key is present.
    pub fn from_v3(configuration: Option<&Value>) -> Result<Self> {
        let config = v3_object(configuration, NAME)?.ok_or_else(|| Error::codec(NAME, "missing configuration"))?;
        only_keys(config, &["level", "checksum"], NAME)?;
        Zstd::from_config(config, None)
    }

    /// The v3 metadata entry `{"name": "zstd", "configuration": {"level": L, "checksum": bool}}`.
    pub fn to_v3(&self) -> Value {
        json!({"name": NAME, "configuration": {"level": self.level, "checksum": self.checksum}})
    }

    /// Builds the codec from a v2 (numcodecs) object `{"id": "zstd", "level": L, "checksum": bool}`
    /// (level defaults to 0, checksum to false).
    ///
    /// # Errors
    /// [`Error::Codec`] when `level` or `checksum` has the wrong type or range.
    pub fn from_v2(config: &Value) -> Result<Self> {
        Zstd::from_config(v2_object(config, NAME)?, Some(0))
    }

    /// The v2 (numcodecs) object `{"id": "zstd", "level": L, "checksum": bool}`.
    pub fn to_v2(&self) -> Value {
        json!({"id": NAME, "level": self.level, "checksum": self.checksum})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::unhex;
    use alloc::vec;

    /// `numcodecs.Zstd(level=3).encode(data())` (numcodecs 0.16.6, libzstd one-shot: content size set).
    const NUMCODECS_L3: &str =
        "28b52ffd601c009d0200b4047a617272206368756e6b20000102030405060708090a0b0c0d0e0f101112131415161718191a\
        1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f01004e53c50b";
    /// `numcodecs.Zstd(level=1, checksum=True).encode(data())`.
    const NUMCODECS_L1_CHECKSUM: &str =
        "28b52ffd641c009d0200b4047a617272206368756e6b20000102030405060708090a0b0c0d0e0f10111213141516171819\
        1a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f01004e53c50beb83de01";
    /// `zstd -3 --no-check` CLI (v1.5.4) reading `data()` from a pipe (no content size), followed by
    /// `printf tail | zstd --check` (no content size, checksum). numcodecs decodes it to `data() + "tail"`.
    const CLI_STREAMED_TWO_FRAMES: &str = "28b52ffd00589d0200b4047a617272206368756e6b20000102030405060708090a0b0c0d0e0f101112131415161718\
        191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f01004e53c50b28b52ffd04582100007461696cdd2bfacb";

    fn data() -> Vec<u8> {
        let mut d = b"zarr chunk ".repeat(20);
        d.extend(0u8..64);
        d
    }

    fn backends() -> Vec<ZstdBackend> {
        #[allow(unused_mut)]
        let mut b = vec![RUST_BACKEND];
        #[cfg(feature = "zstd-native")]
        b.push(NATIVE_BACKEND);
        b
    }

    fn codec(backend: ZstdBackend) -> Zstd {
        Zstd { backend, ..Zstd::default() }
    }

    /// Decodes with every backend and checks they agree (both Ok with equal bytes, or both Err).
    fn decode_all(input: &[u8], max_len: usize) -> Result<Vec<u8>> {
        let results: Vec<_> = backends().into_iter().map(|b| codec(b).decode(input, max_len)).collect();
        for r in &results[1..] {
            match (&results[0], r) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "backends disagree on output"),
                (Err(_), Err(_)) => {}
                (a, b) => panic!("backends disagree: {a:?} vs {b:?}"),
            }
        }
        results.into_iter().next().unwrap()
    }

    fn sample(n: usize) -> Vec<u8> {
        // A smooth uint16 ramp with a little noise: compressible, not trivial.
        let mut x = 12345u32;
        (0..n / 2)
            .flat_map(|i| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                ((i as u32 / 16 + (x >> 28)) as u16).to_le_bytes()
            })
            .collect()
    }

    #[test]
    fn decodes_numcodecs_and_cli_blobs() {
        assert_eq!(decode_all(&unhex(NUMCODECS_L3), 1 << 20).unwrap(), data());
        assert_eq!(decode_all(&unhex(NUMCODECS_L1_CHECKSUM), 1 << 20).unwrap(), data());
        let mut want = data();
        want.extend(b"tail");
        assert_eq!(decode_all(&unhex(CLI_STREAMED_TWO_FRAMES), 1 << 20).unwrap(), want);
        // Exactly at the limit, with and without declared sizes.
        assert_eq!(decode_all(&unhex(NUMCODECS_L3), data().len()).unwrap(), data());
        assert_eq!(decode_all(&unhex(CLI_STREAMED_TWO_FRAMES), want.len()).unwrap(), want);
    }

    #[test]
    fn skips_skippable_frames() {
        let mut blob = vec![0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3];
        blob.extend(unhex(NUMCODECS_L3));
        blob.extend([0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0]);
        assert_eq!(decode_all(&blob, 1 << 20).unwrap(), data());
    }

    #[test]
    fn every_backend_reads_every_backends_output() {
        let d = sample(300_000);
        for enc in backends() {
            for checksum in [false, true] {
                let c = Zstd { level: 3, checksum, backend: enc };
                let blob = c.encode(&d).unwrap();
                assert_eq!(blob[4] & 0x04 != 0, checksum, "{enc:?} checksum flag");
                assert_eq!(scan(&blob, d.len()).unwrap()[0].content_size, Some(d.len() as u64), "{enc:?}");
                assert_eq!(decode_all(&blob, d.len()).unwrap(), d, "{enc:?} checksum={checksum}");
            }
        }
        for len in [0, 1, 255, 256, 65791, 65792] {
            let d = sample(len);
            let blob = codec(RUST_BACKEND).encode(&d).unwrap();
            assert_eq!(decode_all(&blob, len).unwrap(), d, "len {len}");
        }
    }

    #[test]
    fn checksum_mismatch_is_an_error() {
        let mut blob = unhex(NUMCODECS_L1_CHECKSUM);
        let n = blob.len();
        blob[n - 1] ^= 0x80;
        let err = decode_all(&blob, 1 << 20).unwrap_err();
        assert!(matches!(err, Error::Codec { .. }), "{err}");
        let ours = Zstd { checksum: true, ..Zstd::default() }.encode(&sample(5000)).unwrap();
        let mut bad = ours.clone();
        let n = bad.len();
        bad[n - 2] ^= 1;
        assert!(decode_all(&bad, 1 << 20).is_err());
    }

    #[test]
    fn truncated_and_corrupt_input_is_an_error_never_a_panic() {
        for fixture in [NUMCODECS_L3, NUMCODECS_L1_CHECKSUM, CLI_STREAMED_TWO_FRAMES] {
            let blob = unhex(fixture);
            for cut in 0..blob.len() {
                // A cut exactly between two frames is a valid shorter stream.
                let is_frame_boundary = scan(&blob, 1 << 20).unwrap().iter().any(|f| f.range.end == cut);
                if !is_frame_boundary {
                    assert!(decode_all(&blob[..cut], 1 << 20).is_err(), "prefix of {cut} bytes decoded");
                }
            }
            for i in 0..blob.len() {
                for flip in [0x01, 0x10, 0xff] {
                    let mut bad = blob.clone();
                    bad[i] ^= flip;
                    // Backends may differ on which corruptions they notice (libzstd checks
                    // that the sequence bitstream is consumed exactly, ruzstd does not), but
                    // neither panics, and when both accept, they agree.
                    let outs: Vec<_> = backends().into_iter().map(|b| codec(b).decode(&bad, 1 << 20)).collect();
                    if let [Ok(a), Ok(b)] = &outs[..] {
                        assert_eq!(a, b, "byte {i} flip {flip:#x}");
                    }
                }
            }
        }
        assert!(decode_all(b"", 10).is_err());
        assert!(decode_all(b"\x28\xb5\x2f\xfd", 10).is_err());
        let mut trailing = unhex(NUMCODECS_L3);
        trailing.push(0);
        assert!(decode_all(&trailing, 1 << 20).is_err());
    }

    #[test]
    fn dictionaries_are_unsupported() {
        // FHD 0x21: single segment, 1-byte dictionary id.
        let blob = [0x28, 0xb5, 0x2f, 0xfd, 0x21, 0x07, 0x05, 0x01, 0x00, 0x00];
        assert!(matches!(decode_all(&blob, 100), Err(Error::Unsupported { .. })));
    }

    #[test]
    fn bombs_are_limit_exceeded() {
        let zeros = vec![0u8; 4 << 20];
        // Declared content size above the limit: rejected before decoding.
        let declared = codec(RUST_BACKEND).encode(&zeros).unwrap();
        assert!(declared.len() < 64 << 10);
        assert_eq!(
            decode_all(&declared, 1 << 20).unwrap_err(),
            Error::LimitExceeded { what: "decoded zstd chunk", requested: 4 << 20, limit: 1 << 20 }
        );
        // No content size (strip it as a streaming writer would): caught while decoding.
        let mut streamed = declared[..4].to_vec();
        streamed.push(declared[4] & 0x3f);
        streamed.push(declared[5]);
        streamed.extend(&declared[10..]);
        assert_eq!(scan(&streamed, 8 << 20).unwrap()[0].content_size, None);
        assert_eq!(decode_all(&streamed, 8 << 20).unwrap(), zeros);
        assert!(matches!(decode_all(&streamed, 1 << 20), Err(Error::LimitExceeded { .. })));
        assert!(matches!(decode_all(&streamed, (4 << 20) - 1), Err(Error::LimitExceeded { .. })));
        assert_eq!(decode_all(&streamed, 4 << 20).unwrap().len(), 4 << 20);
        // Many frames each within the limit, together above it.
        let small = codec(RUST_BACKEND).encode(&[9u8; 1000]).unwrap();
        let many = small.repeat(100);
        assert!(matches!(decode_all(&many, 50_000), Err(Error::LimitExceeded { .. })));
        assert_eq!(decode_all(&many, 100_000).unwrap().len(), 100_000);
        // A frame without content size that asks for a 1 GiB window.
        let huge_window = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 20 << 3, 0x01, 0x00, 0x00];
        assert!(matches!(
            decode_all(&huge_window, 1 << 20),
            Err(Error::LimitExceeded { what: "zstd window of a frame without content size", .. })
        ));
    }

    /// `testdata/zstd/block_bomb.zst` (see `make_bomb.py` there): 4028 bytes, one compressed
    /// block of 2000 sequences that each copy 131074 bytes, 262 MB where the format allows 128 KiB.
    const BLOCK_BOMB: &[u8] = include_bytes!("../../testdata/zstd/block_bomb.zst");

    #[test]
    fn oversized_block_is_an_error_before_it_is_decoded() {
        // Safe to run: ruzstd >= 0.9.1 checks a block's output after every sequence and
        // stops at the block maximum (128 KiB plus one sequence, < 1 MiB in all). ruzstd
        // 0.8.3 executed the whole block (514 MB peak RSS for this file) and only then did
        // the `max_len` check fail with `LimitExceeded`; that error here means a regression.
        assert_eq!(scan(BLOCK_BOMB, 1 << 20).unwrap().len(), 1);
        for max_len in [1 << 20, 0] {
            let err = codec(RUST_BACKEND).decode(BLOCK_BOMB, max_len).unwrap_err();
            assert!(matches!(err, Error::Codec { .. }), "{err}");
            assert!(alloc::format!("{err}").contains("131072"), "not stopped at the block maximum: {err}");
        }
        assert!(matches!(decode_all(BLOCK_BOMB, 1 << 20), Err(Error::Codec { .. })));
        // One such sequence is already too many: 8 bytes of history + 131074 > 128 KiB.
        let mut one = BLOCK_BOMB[..17].to_vec();
        one.extend([(10 << 3) | 5, 0, 0, 0, 128, 1, 0x54, 0, 0, 52, 0xff, 0xff, 0x01]);
        assert!(matches!(decode_all(&one, 1 << 20), Err(Error::Codec { .. })));
        // The same frame with 34-byte matches (match length code 31, no extra bits) is valid.
        let mut valid = one.clone();
        valid[26] = 31;
        valid[27] = 0x01;
        valid.truncate(28);
        valid[17] = (8 << 3) | 5;
        let out = decode_all(&valid, 1 << 20).unwrap();
        assert_eq!(out.len(), 8 + 34);
        assert!(out.starts_with(b"zarrzarrzarr"));
    }

    /// A frame declaring `content` bytes and a `2^window_log` window, of RLE blocks of 128 KiB.
    fn rle_frame(content: u32, window_log: u8, blocks: usize) -> Vec<u8> {
        let mut f = vec![0x28, 0xb5, 0x2f, 0xfd, 0x80, (window_log - 10) << 3];
        f.extend(content.to_le_bytes());
        for i in 0..blocks {
            let header = (MAX_BLOCK_SIZE << 3) | (1 << 1) | u32::from(i + 1 == blocks);
            f.extend(&header.to_le_bytes()[..3]);
            f.push(b'z');
        }
        f
    }

    #[test]
    fn window_larger_than_content_does_not_let_ruzstd_buffer_past_max_len() {
        // ruzstd keeps a window of output until the frame ends; with the declared 1 GiB
        // window, this 4 KB frame would make it buffer 128 MiB (8000 blocks: 1 GiB) with
        // nothing handed over to check. Decoded as single-segment (window = 1 MiB content),
        // output is handed over after 1 MiB and the check stops it near 2 MiB.
        let bomb = rle_frame(1 << 20, 30, 1000);
        let frame = &scan(&bomb, 1 << 20).unwrap()[0];
        assert_eq!((frame.window_size, frame.content_size, frame.header_len), (1 << 30, Some(1 << 20), 10));
        let (header, len, window) = ruzstd_header(&bomb[..10], frame).unwrap();
        assert_eq!((&header[..len], window), (&[0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0, 0, 0x10, 0][..], 1 << 20));
        assert!(matches!(decode_all(&bomb, 1 << 20), Err(Error::LimitExceeded { .. })));
        // A frame whose window is within its content is passed through unchanged.
        let plain = rle_frame(8 << 17, 20, 8);
        let frame = &scan(&plain, 8 << 17).unwrap()[0];
        let (header, len, window) = ruzstd_header(&plain[..10], frame).unwrap();
        assert_eq!((&header[..len], window), (&plain[..10], 1 << 20));
        assert_eq!(decode_all(&plain, 8 << 17).unwrap(), vec![b'z'; 8 << 17]);
        // Valid data in a frame with a window far above its content decodes the same.
        let single = unhex(NUMCODECS_L3);
        let mut wide = single[..4].to_vec();
        wide.extend([single[4] & !0x20, 21 << 3]);
        wide.extend(&single[5..]);
        assert_eq!(scan(&wide, 1 << 20).unwrap()[0].window_size, 1 << 31);
        assert_eq!(decode_all(&wide, 1 << 20).unwrap(), data());
        // Above 2^31, libzstd refuses the frame, and so does `scan`.
        wide[5] = 22 << 3;
        assert!(matches!(decode_all(&wide, 1 << 20), Err(Error::Codec { .. })));
    }

    #[test]
    fn metadata_round_trips() {
        let c = Zstd::from_v3(Some(&json!({"level": 5, "checksum": true}))).unwrap();
        assert_eq!((c.level, c.checksum), (5, true));
        assert_eq!(c.to_v3(), json!({"name": "zstd", "configuration": {"level": 5, "checksum": true}}));
        let c = Zstd::from_v2(&json!({"id": "zstd", "level": -3})).unwrap();
        assert_eq!((c.level, c.checksum), (-3, false));
        assert_eq!(c.to_v2(), json!({"id": "zstd", "level": -3, "checksum": false}));
        assert_eq!(Zstd::from_v2(&json!({"id": "zstd"})).unwrap().level, 0);
        assert!(Zstd::from_v3(Some(&json!({"checksum": false}))).is_err());
        assert!(Zstd::from_v3(Some(&json!({"level": 99, "checksum": false}))).is_err());
        assert!(Zstd::from_v3(Some(&json!({"level": 3, "checksum": 1}))).is_err());
        assert!(Zstd::from_v3(Some(&json!({"level": 3, "checksum": false, "x": 1}))).is_err());
    }

    #[cfg(feature = "zstd-native")]
    #[test]
    fn registry_default_is_native() {
        assert_eq!(crate::codec::CodecRegistry::default().zstd, NATIVE_BACKEND);
        assert_eq!(crate::codec::CodecRegistry::pure_rust().zstd, RUST_BACKEND);
    }
}
