//! Tests of the blosc codec: frames written by numcodecs (c-blosc 1.21), round trips,
//! our encoder's frames as numcodecs decoded them, corrupt input and configuration.
//!
//! `zarr-proto/testdata/blosc/gen.py` made `numcodecs.{txt,bin}` and checked `rust.{txt,bin}`
//! (all four live in `zarr-proto/testdata/blosc/`).

use super::*;
use alloc::string::ToString;
use alloc::vec;

const NUMCODECS_TXT: &str = include_str!("../../../testdata/blosc/numcodecs.txt");
const NUMCODECS_BIN: &[u8] = include_bytes!("../../../testdata/blosc/numcodecs.bin");
const RUST_TXT: &str = include_str!("../../../testdata/blosc/rust.txt");
const RUST_BIN: &[u8] = include_bytes!("../../../testdata/blosc/rust.bin");

/// Mirror of `pattern` in `testdata/blosc/gen.py`.
fn pattern(kind: &str, n: usize, ts: usize) -> Vec<u8> {
    const M32: u64 = 0xFFFF_FFFF;
    match kind {
        "random" => (0..n as u64)
            .map(|i| {
                let mut h = i.wrapping_mul(2_654_435_761) & M32;
                h ^= h >> 15;
                h = (h * 2_246_822_519) & M32;
                h ^= h >> 13;
                (h & 0xFF) as u8
            })
            .collect(),
        "mixed" => {
            let half = n / 2;
            let mut v = pattern("smooth", half, ts);
            v.extend(pattern("random", n - half, ts));
            v
        }
        _ => {
            let ne = n.div_ceil(ts) as u64;
            let mut out = Vec::with_capacity(n + ts);
            for k in 0..ne {
                let h = k.wrapping_mul(2_654_435_761) & M32;
                let noise = if h & 0x3F0 == 0 { (h >> 13) & 3 } else { 0 };
                let v = k * 3 / 16 + noise;
                let bytes = v.to_le_bytes();
                for j in 0..ts {
                    out.push(bytes.get(j).copied().unwrap_or(0));
                }
            }
            out.truncate(n);
            out
        }
    }
}

#[derive(Debug, Clone)]
struct Case {
    name: String,
    cname: String,
    clevel: u8,
    shuffle: i64,
    ts: usize,
    bs: usize,
    kind: String,
    n: usize,
    off: usize,
    len: usize,
}

fn parse_manifest(text: &str) -> Vec<Case> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Case {
                name: f[0].to_string(),
                cname: f[1].to_string(),
                clevel: f[2].parse().expect("clevel"),
                shuffle: f[3].parse().expect("shuffle"),
                ts: f[4].parse().expect("ts"),
                bs: f[5].parse().expect("bs"),
                kind: f[6].to_string(),
                n: f[7].parse().expect("n"),
                off: f[8].parse().expect("off"),
                len: f[9].parse().expect("len"),
            }
        })
        .collect()
}

fn frame<'a>(bin: &'a [u8], c: &Case) -> &'a [u8] {
    &bin[c.off..c.off + c.len]
}

fn codec_for(c: &Case) -> Blosc {
    let config = json!({"id": "blosc", "cname": c.cname, "clevel": c.clevel, "shuffle": c.shuffle, "blocksize": c.bs});
    Blosc::from_v2(&config).expect("config").with_typesize(c.ts)
}

fn check_numcodecs_frames(want_zstd: bool) -> usize {
    let cases = parse_manifest(NUMCODECS_TXT);
    assert!(cases.len() > 200);
    let mut checked = 0;
    for c in cases.iter().filter(|c| (c.cname == "zstd") == want_zstd) {
        let f = frame(NUMCODECS_BIN, c);
        let got = Blosc::new().decode(f, c.n).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert!(got == pattern(&c.kind, c.n, c.ts), "{}: decoded bytes differ", c.name);
        checked += 1;
    }
    checked
}

#[test]
fn decodes_numcodecs_frames() {
    let n = check_numcodecs_frames(false);
    assert!(n > 170, "{n}");
}

#[test]
fn decodes_numcodecs_zstd_frames() {
    let n = check_numcodecs_frames(true);
    assert!(n > 35, "{n}");
}

#[test]
fn numcodecs_frames_cover_the_format() {
    // The test data exercises what the decoder must handle: memcpyed frames, split and
    // unsplit blocks, multi-block frames, each shuffle and each compressor format.
    let cases = parse_manifest(NUMCODECS_TXT);
    let mut memcpyed = 0;
    let mut multi_block = 0;
    let mut split = 0;
    let mut unsplit = 0;
    let mut formats = [0usize; 8];
    for c in &cases {
        let f = frame(NUMCODECS_BIN, c);
        let nbytes = u32::from_le_bytes([f[4], f[5], f[6], f[7]]) as usize;
        let blocksize = u32::from_le_bytes([f[8], f[9], f[10], f[11]]) as usize;
        if f[2] & 0x02 != 0 {
            memcpyed += 1;
            continue;
        }
        formats[usize::from(f[2] >> 5)] += 1;
        if nbytes > blocksize {
            multi_block += 1;
        }
        if f[2] & 0x10 == 0 && f[3] > 1 {
            split += 1;
        } else {
            unsplit += 1;
        }
    }
    assert!(memcpyed >= 4, "{memcpyed}");
    assert!(multi_block >= 20, "{multi_block}");
    assert!(split >= 20 && unsplit >= 20, "{split} {unsplit}");
    for f in [0, 1, 3, 4] {
        assert!(formats[f] > 10, "format {f}: {}", formats[f]);
    }
}

/// The cases our encoder writes to `testdata/blosc/rust.bin` (zstd excluded: its bytes depend on the backend).
fn rust_cases() -> Vec<(String, u8, i64, usize, usize, &'static str, usize)> {
    let mut v = Vec::new();
    for cname in ["lz4", "blosclz", "zlib"] {
        for shuffle in [0, 1, 2] {
            for ts in [1, 2, 4, 8] {
                for n in [200, 1003, 66_536] {
                    v.push((cname.to_string(), 5, shuffle, ts, 0, "smooth", n));
                }
            }
        }
    }
    v.push(("lz4".into(), 1, 1, 2, 0, "smooth", 300_032));
    v.push(("lz4".into(), 5, 2, 4, 4096, "smooth", 300_032));
    v.push(("blosclz".into(), 5, 1, 4, 0, "smooth", 300_007));
    v.push(("blosclz".into(), 9, 2, 8, 0, "smooth", 300_007));
    v.push(("lz4hc".into(), 5, 1, 4, 0, "smooth", 50_000));
    for ts in [3, 16, 24] {
        for shuffle in [1, 2] {
            v.push(("lz4".into(), 5, shuffle, ts, 0, "smooth", 50_001));
        }
    }
    v.push(("lz4".into(), 0, 1, 4, 0, "smooth", 1000));
    v.push(("lz4".into(), 5, 1, 2, 0, "smooth", 100));
    v.push(("lz4".into(), 5, 0, 1, 0, "random", 5000));
    v.push(("lz4".into(), 5, 1, 4, 4096, "mixed", 40_000));
    v.push(("lz4".into(), 5, -1, 1, 0, "smooth", 10_000));
    v.push(("lz4".into(), 5, -1, 4, 0, "smooth", 10_000));
    v.push(("lz4".into(), 5, 1, 1, 0, "smooth", 0));
    v
}

fn encode_rust_cases() -> (String, Vec<u8>) {
    let mut txt =
        String::from("# frames written by zarr-proto's blosc encoder; `gen.py verify` decodes them with numcodecs\n");
    let mut bin = Vec::new();
    for (cname, clevel, shuffle, ts, bs, kind, n) in rust_cases() {
        let name = format!("{cname}-c{clevel}-s{shuffle}-t{ts}-b{bs}-{kind}-{n}");
        let codec = codec_for(&Case {
            name: name.clone(),
            cname: cname.clone(),
            clevel,
            shuffle,
            ts,
            bs,
            kind: kind.into(),
            n,
            off: 0,
            len: 0,
        });
        let f = codec.encode(&pattern(kind, n, ts)).expect("encodes");
        txt.push_str(&format!("{name} {cname} {clevel} {shuffle} {ts} {bs} {kind} {n} {} {}\n", bin.len(), f.len()));
        bin.extend_from_slice(&f);
    }
    (txt, bin)
}

/// Writes `testdata/blosc/rust.{txt,bin}` when `BLOSC_WRITE_TESTDATA=1`; then run `gen.py verify`.
#[test]
fn write_rust_frames() {
    if std::env::var("BLOSC_WRITE_TESTDATA").as_deref() != Ok("1") {
        return;
    }
    let (txt, bin) = encode_rust_cases();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/blosc");
    std::fs::write(format!("{dir}/rust.txt"), txt).expect("write rust.txt");
    std::fs::write(format!("{dir}/rust.bin"), bin).expect("write rust.bin");
}

/// The frames numcodecs decoded (`gen.py verify`) are exactly what the encoder writes today.
#[test]
fn encoder_output_is_unchanged() {
    if std::env::var("BLOSC_WRITE_TESTDATA").as_deref() == Ok("1") {
        return;
    }
    let (txt, bin) = encode_rust_cases();
    assert_eq!(txt, RUST_TXT, "encoder changed: regenerate with BLOSC_WRITE_TESTDATA=1 and run gen.py verify");
    assert!(bin == RUST_BIN, "encoder bytes changed: regenerate and verify with numcodecs");
}

#[test]
fn rust_frames_decode_and_compress() {
    for c in parse_manifest(RUST_TXT) {
        let f = frame(RUST_BIN, &c);
        let data = pattern(&c.kind, c.n, c.ts);
        assert!(Blosc::new().decode(f, c.n).expect("decodes") == data, "{}", c.name);
        if c.kind == "smooth" && c.clevel > 0 && c.n > 10_000 && c.shuffle > 0 && c.ts > 1 {
            assert!(f.len() < c.n / 2, "{}: {} of {}", c.name, f.len(), c.n);
        }
    }
}

#[test]
fn round_trips_every_compressor_shuffle_and_typesize() {
    for cname in ["lz4", "lz4hc", "blosclz", "zlib"] {
        for shuffle in [-1, 0, 1, 2] {
            for ts in [1usize, 2, 3, 4, 8, 16, 300] {
                for n in [0usize, 1, 127, 128, 1003, 70_001] {
                    for kind in ["smooth", "random"] {
                        let c = Case {
                            name: String::new(),
                            cname: cname.into(),
                            clevel: 3,
                            shuffle,
                            ts,
                            bs: 0,
                            kind: kind.into(),
                            n,
                            off: 0,
                            len: 0,
                        };
                        let data = pattern(kind, n, ts);
                        let codec = codec_for(&c);
                        let enc = codec.encode(&data).expect("encodes");
                        assert!(enc.len() <= n + 16, "{cname} {shuffle} {ts} {n} {kind}");
                        let dec = codec.decode(&enc, n).expect("decodes");
                        assert!(dec == data, "{cname} {shuffle} {ts} {n} {kind}");
                    }
                }
            }
        }
    }
}

#[test]
fn round_trips_zstd() {
    let data = pattern("smooth", 100_000, 4);
    for shuffle in ["noshuffle", "shuffle", "bitshuffle"] {
        let config = json!({"cname": "zstd", "clevel": 5, "shuffle": shuffle, "typesize": 4, "blocksize": 0});
        let codec = Blosc::from_v3(Some(&config)).expect("config");
        let enc = codec.encode(&data).expect("encodes");
        // ruzstd's fastest level: compressed, zstd-format blocks.
        assert_eq!(enc[2] >> 5, 4, "{shuffle}");
        assert!(enc.len() < data.len() / 2, "{shuffle}: {}", enc.len());
        assert!(codec.decode(&enc, data.len()).expect("decodes") == data);
    }
}

/// Typesize 2 whose low bytes are noise: the low-byte stream is stored raw and the
/// decoder interleaves it straight from the frame.
#[test]
fn typesize_2_with_a_raw_stream_round_trips() {
    let n = 300_000;
    let mut data = pattern("random", n, 1);
    for (i, hi) in data.iter_mut().skip(1).step_by(2).enumerate() {
        *hi = (i / 1000) as u8;
    }
    let codec = Blosc::new().with_typesize(2);
    let enc = codec.encode(&data).expect("encodes");
    assert_eq!(enc[2] & 0x13, 0x01, "byte shuffle, split, not memcpyed");
    let blocksize = u32::from_le_bytes([enc[8], enc[9], enc[10], enc[11]]) as usize;
    let first = u32::from_le_bytes([enc[16], enc[17], enc[18], enc[19]]) as usize;
    let csize0 = u32::from_le_bytes([enc[first], enc[first + 1], enc[first + 2], enc[first + 3]]) as usize;
    assert_eq!(csize0, blocksize / 2, "first stream stored raw");
    assert!(codec.decode(&enc, n).expect("decodes") == data);
    // Corrupting it never panics.
    let mut state = 0x0BAD_CAFEu32;
    for _ in 0..200 {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let mut g = enc.clone();
        let at = (state >> 8) as usize % g.len();
        g[at] ^= (state >> 24) as u8 | 1;
        if let Ok(v) = codec.decode(&g, n) {
            assert_eq!(v.len(), n);
        }
    }
}

#[test]
fn incompressible_input_is_memcpyed() {
    let data = pattern("random", 50_000, 1);
    let enc = Blosc::new().encode(&data).expect("encodes");
    assert_eq!(enc.len(), data.len() + 16);
    assert_eq!(enc[2] & 0x02, 0x02);
    assert_eq!(&enc[16..], &data[..]);
}

// ---- hostile input ----

fn lz4_frame() -> (Vec<u8>, Vec<u8>) {
    let data = pattern("smooth", 100_000, 2);
    let codec = Blosc { blocksize: 8192, ..Blosc::new().with_typesize(2) };
    (codec.encode(&data).expect("encodes"), data)
}

fn codec_err(r: Result<Vec<u8>>) -> String {
    match r {
        Err(Error::Codec { reason, .. }) => reason,
        other => panic!("expected a codec error, got {other:?}"),
    }
}

#[test]
fn nbytes_above_max_len_is_limit_exceeded_before_allocating() {
    let mut f = vec![2u8, 1, 0x20, 1];
    f.extend_from_slice(&u32::MAX.to_le_bytes());
    f.extend_from_slice(&1024u32.to_le_bytes());
    f.extend_from_slice(&16u32.to_le_bytes());
    match Blosc::new().decode(&f, 1 << 20) {
        Err(Error::LimitExceeded { requested, limit, .. }) => {
            assert_eq!(requested, u64::from(u32::MAX));
            assert_eq!(limit, 1 << 20);
        }
        other => panic!("{other:?}"),
    }
    let (f, data) = lz4_frame();
    assert!(matches!(Blosc::new().decode(&f, data.len() - 1), Err(Error::LimitExceeded { .. })));
    assert!(Blosc::new().decode(&f, data.len()).is_ok());
}

#[test]
fn bad_headers_are_errors() {
    let (f, data) = lz4_frame();
    let n = data.len();
    assert!(codec_err(Blosc::new().decode(&f[..10], n)).contains("shorter than the 16-byte header"));
    let mut g = f.clone();
    g[0] = 3;
    assert!(codec_err(Blosc::new().decode(&g, n)).contains("version 3"));
    let mut g = f.clone();
    g[2] |= 0x08;
    assert!(codec_err(Blosc::new().decode(&g, n)).contains("reserved flag"));
    let mut g = f.clone();
    g[2] = (g[2] & 0x1F) | (2 << 5);
    assert!(matches!(Blosc::new().decode(&g, n), Err(Error::Unsupported { .. })));
    let mut g = f.clone();
    g[2] = (g[2] & 0x1F) | (6 << 5);
    assert!(codec_err(Blosc::new().decode(&g, n)).contains("unknown compressor"));
    let mut g = f.clone();
    g[3] = 0;
    assert!(codec_err(Blosc::new().decode(&g, n)).contains("typesize"));
    let mut g = f.clone();
    g[8..12].copy_from_slice(&0u32.to_le_bytes());
    assert!(codec_err(Blosc::new().decode(&g, n)).contains("blocksize"));
    // Tiny blocks: the start table no longer fits in the frame.
    let mut g = f.clone();
    g[8..12].copy_from_slice(&1u32.to_le_bytes());
    assert!(codec_err(Blosc::new().decode(&g, n)).contains("cannot hold the starts"));
    // Header cbytes beyond the input.
    assert!(codec_err(Blosc::new().decode(&f[..f.len() - 1], n)).contains("truncated"));
    // A memcpyed flag on a compressed frame.
    let mut g = f.clone();
    g[2] |= 0x02;
    assert!(codec_err(Blosc::new().decode(&g, n)).contains("memcpyed"));
}

#[test]
fn bad_offsets_and_sizes_are_errors() {
    let (f, data) = lz4_frame();
    let n = data.len();
    // First block start outside the frame.
    let mut g = f.clone();
    g[16..20].copy_from_slice(&(f.len() as u32).to_le_bytes());
    assert!(codec_err(Blosc::new().decode(&g, n)).contains("outside the frame"));
    // Stream size larger than the frame.
    let start = u32::from_le_bytes([f[16], f[17], f[18], f[19]]) as usize;
    let mut g = f.clone();
    g[start..start + 4].copy_from_slice(&(f.len() as u32).to_le_bytes());
    assert!(codec_err(Blosc::new().decode(&g, n)).contains("overruns"));
    // Negative stream size.
    let mut g = f.clone();
    g[start..start + 4].copy_from_slice(&(-5i32).to_le_bytes());
    assert!(codec_err(Blosc::new().decode(&g, n)).contains("overruns"));
}

#[test]
fn every_truncation_and_byte_flip_fails_cleanly() {
    let mut frames: Vec<Vec<u8>> = Vec::new();
    for c in parse_manifest(NUMCODECS_TXT).iter().filter(|c| c.n < 5000 && c.cname != "zstd") {
        frames.push(frame(NUMCODECS_BIN, c).to_vec());
    }
    frames.push(lz4_frame().0);
    for f in &frames {
        let codec = Blosc::new();
        for cut in (0..f.len()).step_by(7) {
            assert!(codec.decode(&f[..cut], 1 << 20).is_err(), "cut at {cut}");
        }
        // Flipped bytes must never panic; they may decode to something else.
        let mut state = 0x1234_5678u32;
        for _ in 0..300 {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let at = (state >> 8) as usize % f.len();
            let mut g = f.clone();
            g[at] ^= (state >> 24) as u8 | 1;
            let _ = codec.decode(&g, 1 << 20);
        }
    }
}

#[test]
fn empty_frames() {
    let enc = Blosc::new().encode(&[]).expect("encodes");
    assert_eq!(enc.len(), 16);
    assert_eq!(Blosc::new().decode(&enc, 0).expect("decodes"), Vec::<u8>::new());
}

// ---- configuration ----

#[test]
fn v3_config_round_trips() {
    let config = json!({"typesize": 4, "cname": "zstd", "clevel": 5, "shuffle": "bitshuffle", "blocksize": 0});
    let c = Blosc::from_v3(Some(&config)).expect("parses");
    assert_eq!((c.cname, c.clevel, c.shuffle, c.typesize, c.blocksize), (Compressor::Zstd, 5, Shuffle::Bit, 4, 0));
    assert_eq!(c.to_v3(), json!({"name": "blosc", "configuration": config}));
    assert_eq!(Blosc::from_v3(c.to_v3().get("configuration")).expect("parses"), c);
}

#[test]
fn v2_config_round_trips_and_autoshuffle_resolves() {
    let config = json!({"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": -1, "blocksize": 0});
    let c = Blosc::from_v2(&config).expect("parses");
    assert_eq!(c.shuffle, Shuffle::Auto);
    assert_eq!(c.to_v2(), config);
    // numcodecs: AUTOSHUFFLE is bit shuffle for 1-byte items, byte shuffle otherwise.
    let one = c.clone().with_typesize(1).encode(&pattern("smooth", 10_000, 1)).expect("encodes");
    assert_eq!(one[2] & 0x05, 0x04);
    let four = c.clone().with_typesize(4).encode(&pattern("smooth", 10_000, 4)).expect("encodes");
    assert_eq!(four[2] & 0x05, 0x01);
    assert_eq!(four[3], 4);
    assert_eq!(c.with_typesize(4).to_v3()["configuration"]["shuffle"], "shuffle");
}

#[test]
fn bad_configs_are_errors() {
    let bad_v3 = [
        json!({"cname": "lzma", "clevel": 5, "shuffle": "shuffle", "typesize": 4, "blocksize": 0}),
        json!({"cname": "lz4", "clevel": 10, "shuffle": "shuffle", "typesize": 4, "blocksize": 0}),
        json!({"cname": "lz4", "clevel": 5, "shuffle": 1, "typesize": 4, "blocksize": 0}),
        json!({"cname": "lz4", "clevel": 5, "shuffle": "shuffle", "typesize": 0, "blocksize": 0}),
        json!({"cname": "lz4", "clevel": 5, "shuffle": "shuffle", "typesize": 4, "blocksize": -1}),
    ];
    for c in &bad_v3 {
        assert!(matches!(Blosc::from_v3(Some(c)), Err(Error::Codec { .. })), "{c}");
    }
    assert!(Blosc::from_v3(None).is_err());
    assert!(Blosc::from_v2(&json!({"id": "blosc", "shuffle": 3})).is_err());
    assert!(Blosc::from_v2(&json!({"id": "blosc", "clevel": "5"})).is_err());
    let snappy = Blosc { cname: Compressor::Snappy, ..Blosc::new() };
    assert!(matches!(snappy.encode(&[0; 1000]), Err(Error::Unsupported { .. })));
}

/// Reference byte unshuffle: element `i`, byte `j` is byte `i` of stream `j`; the bytes
/// after the last whole element stay where they are.
pub(crate) fn reference_unshuffle(ts: usize, src: &[u8]) -> Vec<u8> {
    let n = src.len() / ts.max(1);
    let mut out = src.to_vec();
    for i in 0..n {
        for j in 0..ts {
            out[i * ts + j] = src[j * n + i];
        }
    }
    out
}

/// Reference bit unshuffle, bit by bit (c-blosc 1.x, format version 2): element `e`,
/// byte `j`, bit `k` is bit `e % 8` of byte `e / 8` of row `8 * j + k` (rows of `n / 8`
/// bytes); the whole block is copied when the element count `n` is not a multiple of 8.
fn reference_bitunshuffle(ts: usize, src: &[u8]) -> Vec<u8> {
    let n = src.len() / ts.max(1);
    let mut out = src.to_vec();
    if n % 8 != 0 || n == 0 {
        return out;
    }
    let nr = n / 8;
    for e in 0..n {
        for j in 0..ts {
            let mut byte = 0u8;
            for k in 0..8 {
                byte |= ((src[(8 * j + k) * nr + e / 8] >> (e % 8)) & 1) << k;
            }
            out[e * ts + j] = byte;
        }
    }
    out
}

/// Type sizes the (bit) shuffles are checked at: every one up to 16, then some larger.
const SHUFFLE_TYPESIZES: [usize; 22] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 24, 32, 33, 64, 255];

fn check_shuffles(ts: usize, src: &[u8]) {
    let len = src.len();
    let mut out = vec![0xA5u8; len];
    shuffle::bitunshuffle(ts, src, &mut out);
    assert_eq!(out, reference_bitunshuffle(ts, src), "bitunshuffle ts {ts} len {len}");
    let mut back = vec![0x5Au8; len];
    shuffle::bitshuffle(ts, &out, &mut back);
    assert_eq!(back, src, "bitshuffle(bitunshuffle) ts {ts} len {len}");
    let mut out = vec![0xA5u8; len];
    shuffle::unshuffle(ts, src, &mut out);
    let want = reference_unshuffle(ts, src);
    assert_eq!(out, want, "unshuffle ts {ts} len {len}");
    let mut appended = vec![7u8; 5];
    shuffle::unshuffle_append(ts, src, &mut appended);
    assert_eq!(&appended[5..], &want[..], "unshuffle_append ts {ts} len {len}");
    let mut back = vec![0x5Au8; len];
    shuffle::shuffle(ts, &out, &mut back);
    assert_eq!(back, src, "shuffle(unshuffle) ts {ts} len {len}");
}

#[test]
fn shuffles_match_the_reference_at_block_edges() {
    // Lengths around whole tiles (128 elements for the bit unshuffle) and around the
    // multiples of 8 elements, plus trailing bytes that do not fill an element.
    let src = pattern("random", 16 * 1024 + 300, 1);
    for ts in SHUFFLE_TYPESIZES {
        let mut lens = vec![0, 1, ts, 7 * ts, 8 * ts, 8 * ts + 1, 9 * ts, 15 * ts];
        for elems in [64usize, 120, 127, 128, 129, 136, 248, 256, 264, 1024, 1032] {
            for extra in [0, 1, ts.saturating_sub(1)] {
                lens.push(elems * ts + extra);
            }
        }
        for len in lens {
            if len <= src.len() {
                check_shuffles(ts, &src[..len]);
            }
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    #[test]
    fn shuffles_match_the_reference(
        ts_at in 0usize..SHUFFLE_TYPESIZES.len(),
        elems in 0usize..700,
        extra in 0usize..17,
        seed in proptest::prelude::any::<u64>(),
    ) {
        let ts = SHUFFLE_TYPESIZES[ts_at];
        // Mostly whole groups of 8 elements, so the bit unshuffle does real work.
        let elems = if seed % 4 == 0 { elems } else { elems / 8 * 8 };
        let len = elems * ts + extra % ts.max(1);
        let mut x = seed | 1;
        let src: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        check_shuffles(ts, &src);
    }
}

/// Timing against c-blosc: `BLOSC_BENCH=/tmp/frame.blosc cargo test --release -p zarr-proto
/// bench_decode -- --ignored --nocapture` (frames from numcodecs, see `testdata/blosc/gen.py`).
#[test]
#[ignore]
fn bench_decode() {
    let Ok(paths) = std::env::var("BLOSC_BENCH") else { return };
    for path in paths.split(',') {
        let f = std::fs::read(path).expect("read frame");
        let codec = Blosc::new();
        let n = codec.decode(&f, usize::MAX).expect("decodes").len();
        let mut best = f64::MAX;
        for _ in 0..30 {
            let t = std::time::Instant::now();
            for _ in 0..10 {
                core::hint::black_box(codec.decode(core::hint::black_box(&f), usize::MAX).expect("decodes"));
            }
            best = best.min(t.elapsed().as_secs_f64() / 10.0);
        }
        std::println!("{path}: {n} bytes, decode {:.0} us, {:.2} GB/s", best * 1e6, n as f64 / best / 1e9);
    }
}

/// Timing of the shuffles alone on 1 MiB (one block, as blosc's blocks for these type
/// sizes are 256 KiB to 1 MiB), best of 50 calls:
/// `cargo test --release -p zarr-proto bench_shuffles -- --ignored --nocapture`.
#[test]
#[ignore]
fn bench_shuffles() {
    let src = pattern("random", 1 << 20, 1);
    let mut dst = vec![0u8; src.len()];
    let best = |f: &mut dyn FnMut()| {
        let mut best = f64::MAX;
        for _ in 0..50 {
            let t = std::time::Instant::now();
            f();
            best = best.min(t.elapsed().as_secs_f64());
        }
        best * 1e6
    };
    for ts in [1usize, 2, 4, 8, 3, 16] {
        for (name, f) in [
            ("unshuffle", shuffle::unshuffle as fn(usize, &[u8], &mut [u8])),
            ("bitunshuffle", shuffle::bitunshuffle),
            ("shuffle", shuffle::shuffle),
            ("bitshuffle", shuffle::bitshuffle),
        ] {
            let us = best(&mut || f(ts, core::hint::black_box(&src), &mut dst));
            std::println!("{name} ts {ts}: {us:.0} us per MiB");
        }
        let mut out = Vec::with_capacity(src.len());
        let us = best(&mut || {
            out.clear();
            shuffle::unshuffle_append(ts, core::hint::black_box(&src), &mut out);
        });
        std::println!("unshuffle_append ts {ts}: {us:.0} us per MiB");
    }
}
