//! Chunk access, the same in both drivers: `chunk_subset` and `chunk_indices` over
//! the read grid (inner chunks when sharded), `read_chunk` decoding one chunk of it
//! (over HTTP, only that inner chunk's bytes and the shard index), and
//! `read_encoded_chunk` giving a stored object's bytes as they are.

use std::ops::Range;

use zarr_store::server::{Server, ServerConfig};
use zarr_tests::manifest::fixtures_dir;

fn dir(name: &str) -> String {
    fixtures_dir().join("data").join(format!("{name}.zarr")).to_string_lossy().into_owned()
}

/// The elements of `subset` of a C-order array of `shape` with `item`-byte elements.
fn cut(bytes: &[u8], shape: &[u64], item: usize, subset: &[Range<u64>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut idx: Vec<u64> = subset.iter().map(|r| r.start).collect();
    if subset.iter().any(|r| r.is_empty()) {
        return out;
    }
    loop {
        let flat = idx.iter().zip(shape).fold(0u64, |acc, (&i, &n)| acc * n + i) as usize;
        out.extend_from_slice(&bytes[flat * item..(flat + 1) * item]);
        let mut d = idx.len();
        loop {
            if d == 0 {
                return out;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < subset[d].end {
                break;
            }
            idx[d] = subset[d].start;
        }
    }
}

/// Every chunk of the read grid read alone equals its region of the whole array, in both drivers.
#[test]
fn every_chunk_reads_as_its_region_of_the_array() {
    for name in ["v3_shard_missing_fill", "v3_shard_end", "v2_slash_3d_missing", "v3_transpose_3d_be", "v3_0d_missing"]
    {
        let array = zarr_blocking::Array::open(&dir(name)).expect("open");
        let whole = array.read(&zarr_blocking::Selection::all()).expect("read");
        let item = array.data_type().size().expect("fixed size");
        let chunks = array.chunk_indices(&zarr_blocking::Selection::all()).expect("indices");
        let grid: u64 = array.metadata().read_grid_shape().expect("grid").iter().product();
        assert_eq!(chunks.len() as u64, grid, "{name}");
        assert!(chunks.windows(2).all(|w| w[0] < w[1]), "{name}: not C order");
        for chunk in &chunks {
            let subset = array.chunk_subset(chunk).expect("subset");
            let want = cut(whole.fixed_bytes().expect("bytes"), &whole.shape, item, &subset);
            let got = array.read_chunk(chunk).expect("read_chunk");
            let shape: Vec<u64> = subset.iter().map(|r| r.end - r.start).collect();
            assert_eq!(got.shape, shape, "{name} {chunk:?}");
            assert_eq!(got.fixed_bytes().expect("bytes"), want, "{name} {chunk:?}");
        }
        futures_lite::future::block_on(async {
            let array = zarr_smol::Array::open(&dir(name)).await.expect("open");
            assert_eq!(array.chunk_indices(&zarr_smol::Selection::all()).expect("indices"), chunks, "{name}");
            for chunk in &chunks {
                let subset = array.chunk_subset(chunk).expect("subset");
                let want = cut(whole.fixed_bytes().expect("bytes"), &whole.shape, item, &subset);
                let got = array.read_chunk(chunk).await.expect("read_chunk");
                assert_eq!(got.fixed_bytes().expect("bytes"), want, "{name} {chunk:?} (async)");
            }
        });
    }
}

#[test]
fn sharded_arrays_read_inner_chunks_and_store_shards() {
    let array = zarr_blocking::Array::open(&dir("v3_shard_missing_fill")).expect("open");
    // 17 x 13 in shards of 8 x 6, inner chunks of 4 x 3.
    assert_eq!(array.chunk_subset(&[4, 4]).expect("edge"), [16..17, 12..13]);
    let e = array.chunk_subset(&[5, 0]).unwrap_err();
    assert!(matches!(e, zarr_blocking::Error::Proto(zarr_blocking::ProtoError::ChunkIndex { .. })), "{e:?}");
    assert_eq!(e.to_string(), "chunk index [5, 0] is outside the inner chunk grid of shape [5, 5]");
    assert_eq!(array.chunk_indices(&zarr_blocking::s![3..5, 12]).expect("indices"), [[0, 4], [1, 4]]);

    // The stored grid: shards, their bytes as on disk; a missing shard is None.
    let on_disk = std::fs::read(fixtures_dir().join("data/v3_shard_missing_fill.zarr/c/1/1")).expect("shard file");
    let raw = array.read_encoded_chunk(&[1, 1]).expect("raw").expect("present");
    assert_eq!(raw, on_disk);
    assert_eq!(array.read_encoded_chunk(&[0, 1]).expect("raw"), None);
    let e = array.read_encoded_chunk(&[3, 0]).unwrap_err();
    assert_eq!(e.to_string(), "chunk index [3, 0] is outside the shard grid of shape [3, 3]");
    futures_lite::future::block_on(async {
        let array = zarr_smol::Array::open(&dir("v3_shard_missing_fill")).await.expect("open");
        assert_eq!(array.read_encoded_chunk(&[1, 1]).await.expect("raw").expect("present"), on_disk);
        assert_eq!(array.read_encoded_chunk(&[0, 1]).await.expect("raw"), None);
        let e = array.read_encoded_chunk(&[0]).await.unwrap_err();
        assert!(matches!(e, zarr_smol::Error::Proto(zarr_smol::ProtoError::ChunkIndex { .. })), "{e:?}");
        let e = array.read_chunk(&[0, 5]).await.unwrap_err();
        assert!(e.to_string().contains("[0, 5]") && e.to_string().contains("[5, 5]"), "{e}");
    });
}

/// Over HTTP, one inner chunk costs the shard's index and that chunk's bytes, not the shard.
#[test]
fn one_inner_chunk_fetches_only_its_bytes() {
    let server = Server::start(ServerConfig::dir(fixtures_dir().join("data")).threads(1)).expect("server");
    let url = format!("{}/v3_shard_end.zarr", server.url());
    let shard = std::fs::read(fixtures_dir().join("data/v3_shard_end.zarr/c/0/0")).expect("shard").len() as u64;
    // 4 inner chunks of 4 x 3 uint32 (48 bytes, uncompressed); index of 4 x 16 bytes and a crc32c.
    let (inner, index) = (48, 4 * 16 + 4);
    assert_eq!(shard, 4 * inner + index);

    let array = zarr_blocking::Array::open(&url).expect("open");
    server.reset_counters();
    array.read_chunk(&[1, 1]).expect("read_chunk");
    let c = server.counters();
    assert_eq!((c.requests, c.body_bytes), (2, index + inner), "{c:?}");

    futures_lite::future::block_on(async {
        let array = zarr_smol::Array::open(&url).await.expect("open");
        server.reset_counters();
        array.read_chunk(&[1, 1]).await.expect("read_chunk");
        let c = server.counters();
        assert_eq!((c.requests, c.body_bytes), (2, index + inner), "{c:?}");
        server.reset_counters();
        let raw = array.read_encoded_chunk(&[0, 0]).await.expect("raw").expect("present");
        assert_eq!((raw.len() as u64, server.counters().requests), (shard, 1));
    });
}
