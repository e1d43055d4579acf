//! Writes through the blocking driver on real files, a memory store and the project's
//! writable HTTP server: what a reader then sees, what is stored, and that concurrent
//! writers to the same chunks lose nothing.

use std::path::Path;
use std::sync::Arc;

use zarr_blocking::{s, Array, ArrayBuilder, Compression, DataType, FsStore, MemoryStore, Selection, Store};
use zarr_blocking::{WriteOptions, ZarrFormat};
use zarr_store::server::{Server, ServerConfig};

fn create(store: Arc<dyn Store>, format: ZarrFormat, shards: bool) -> Array {
    let mut builder =
        ArrayBuilder::new(vec![30, 22], DataType::Int32, vec![4, 5]).compression(Compression::Zstd { level: 1 });
    if shards {
        builder = builder.shards(vec![8, 10]);
    }
    Array::create(store, "arr", builder.build(format).expect("metadata")).expect("create")
}

/// A model: the array's elements in C order.
fn model_write(model: &mut [i32], cols: usize, rows: std::ops::Range<usize>, cs: std::ops::Range<usize>, v: i32) {
    for r in rows {
        for c in cs.clone() {
            model[r * cols + c] = v + (r * cols + c) as i32;
        }
    }
}

fn values(rows: std::ops::Range<usize>, cs: std::ops::Range<usize>, cols: usize, v: i32) -> Vec<i32> {
    rows.flat_map(|r| cs.clone().map(move |c| v + (r * cols + c) as i32)).collect()
}

fn stored_objects(dir: &Path) -> usize {
    fn walk(p: &Path, n: &mut usize) {
        for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, n);
            } else if !matches!(path.file_name().and_then(|f| f.to_str()), Some("zarr.json" | ".zarray" | ".zattrs")) {
                *n += 1;
            }
        }
    }
    let mut n = 0;
    walk(dir, &mut n);
    n
}

#[test]
fn writes_read_back_as_the_model_says_in_every_layout() {
    for (format, shards) in [(ZarrFormat::V3, false), (ZarrFormat::V3, true), (ZarrFormat::V2, false)] {
        let tmp = tempfile::tempdir().expect("temp dir");
        let array = create(Arc::new(FsStore::new(tmp.path())), format, shards);
        let mut model = vec![0i32; 30 * 22];
        for (step, (rows, cols)) in
            [(3..17, 2..21), (0..30, 0..22), (29..30, 0..1), (5..6, 7..19)].into_iter().enumerate()
        {
            let v = 1000 * (step as i32 + 1);
            let sel = s![rows.start as i64..rows.end as i64, cols.start as i64..cols.end as i64];
            array.write_elements(&sel, &values(rows.clone(), cols.clone(), 22, v)).expect("write");
            model_write(&mut model, 22, rows, cols, v);
            let reopened = Array::open(&tmp.path().join("arr").to_string_lossy()).expect("open");
            assert_eq!(reopened.read_elements::<i32>(&Selection::all()).expect("read"), model, "{format:?} {shards}");
        }
        // Strided and orthogonal writes, as numpy assigns them.
        let sel = Selection::parse_basic("1:30:7, ::5").expect("selection");
        array.write_elements(&sel, &[-1i32; 5 * 5]).expect("strided write");
        for r in (1..30).step_by(7) {
            for c in (0..22).step_by(5) {
                model[r * 22 + c] = -1;
            }
        }
        assert_eq!(array.read_elements::<i32>(&Selection::all()).expect("read"), model);

        // Writing the fill value everywhere leaves no chunk stored.
        array.write_elements(&Selection::all(), &vec![0i32; 30 * 22]).expect("clear");
        assert_eq!(stored_objects(&tmp.path().join("arr")), 0, "{format:?} {shards}: fill chunks were stored");
    }
}

#[test]
fn a_wrong_source_is_refused_and_nothing_is_written() {
    let store = MemoryStore::new();
    let array = create(Arc::new(store.clone()), ZarrFormat::V3, false);
    let e = array.write_elements(&s![0..2, 0..2], &[1i32; 3]).unwrap_err();
    assert!(e.to_string().contains("[3]") && e.to_string().contains("[2, 2]"), "{e}");
    let e = array.write_elements(&s![0..2, 0..2], &[1u8; 4]).unwrap_err();
    assert!(e.to_string().contains("int32"), "{e}");
    let e = array.write_elements(&s![30, 0..1], &[1i32; 1]).unwrap_err();
    assert!(matches!(e, zarr_blocking::Error::Proto(zarr_blocking::ProtoError::Selection(_))), "{e}");
    assert_eq!(array.read_elements::<i32>(&Selection::all()).expect("read"), vec![0; 30 * 22]);
}

#[test]
fn writes_over_http_to_the_writable_test_server() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let server = Server::start(ServerConfig::dir(tmp.path()).writable(true).threads(2)).expect("server");
    let store = zarr_blocking::store_for(&server.url()).expect("store");
    let array = create(store, ZarrFormat::V3, true);
    array.write_elements(&s![2..9, 3..20], &values(2..9, 3..20, 22, 5)).expect("write over http");
    array.write_elements(&s![8..9, 0..22], &values(8..9, 0..22, 22, 9)).expect("read-modify-write over http");
    let mut model = vec![0i32; 30 * 22];
    model_write(&mut model, 22, 2..9, 3..20, 5);
    model_write(&mut model, 22, 8..9, 0..22, 9);
    let local = Array::open(&tmp.path().join("arr").to_string_lossy()).expect("open the files");
    assert_eq!(local.read_elements::<i32>(&Selection::all()).expect("read"), model);

    let read_only = Server::start(ServerConfig::dir(tmp.path()).threads(1)).expect("server");
    let array = Array::open(&format!("{}/arr", read_only.url())).expect("open");
    let e = array.write_elements(&s![0..1, 0..1], &[1i32]).unwrap_err();
    assert!(e.to_string().contains("refuses PUT") || e.to_string().contains("405"), "{e}");
}

/// Two writers update the two halves of every chunk, over and over: with conditional
/// writes each sees the other's changes and nothing is lost.
fn concurrent_halves(store: Arc<dyn Store>, rounds: i32) {
    let array = create(store.clone(), ZarrFormat::V3, false);
    std::thread::scope(|scope| {
        for half in 0..2i64 {
            let array = array.clone();
            scope.spawn(move || {
                for round in 1..=rounds {
                    // Odd or even columns: every chunk (5 columns wide) is shared.
                    let sel = zarr_blocking::Selection::parse_basic(&format!("::1, {half}::2")).expect("sel");
                    let n = 30 * 11;
                    array.write_elements(&sel, &vec![round * 10 + half as i32; n]).expect("write");
                }
            });
        }
    });
    let all = array.read_elements::<i32>(&Selection::all()).expect("read");
    for (i, v) in all.iter().enumerate() {
        let half = (i % 22) % 2;
        assert_eq!(*v, rounds * 10 + half as i32, "element {i}: an update was lost");
    }
}

#[test]
fn concurrent_writers_to_the_same_chunks_lose_nothing() {
    concurrent_halves(Arc::new(MemoryStore::new()), 20);
    let tmp = tempfile::tempdir().expect("temp dir");
    concurrent_halves(Arc::new(FsStore::new(tmp.path())), 10);
    let server = Server::start(ServerConfig::dir(tmp.path().join("http")).writable(true).threads(2)).expect("server");
    std::fs::create_dir_all(tmp.path().join("http")).expect("dir");
    concurrent_halves(zarr_blocking::store_for(&server.url()).expect("store"), 5);
}

#[test]
fn unconditional_writes_are_an_explicit_choice() {
    let array = create(Arc::new(MemoryStore::new()), ZarrFormat::V3, false);
    let options = WriteOptions { conditional: false, ..WriteOptions::default() };
    let source = zarr_blocking::NdArray {
        dtype: DataType::Int32,
        shape: vec![1, 1],
        data: zarr_blocking::proto::ArrayBytes::Fixed(7i32.to_ne_bytes().to_vec()),
    };
    array.write_with(&s![0..1, 0..1], source, &options).expect("write");
    assert_eq!(array.read_elements::<i32>(&s![0, 0]).expect("read"), [7]);
}

#[test]
fn write_elements_checks_type_and_count_alike_in_both_drivers() {
    // Both drivers build the source with the core's NdArray::from_elements: a wrong
    // count is a SourceShape error (not the reads' "output buffer" BufferSize), a wrong
    // element type a DataType error, and nothing is written.
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let meta = ArrayBuilder::new(vec![4, 4], DataType::UInt16, vec![2, 2]).build(ZarrFormat::V3).expect("metadata");
    let blocking = Array::create(store.clone(), "", meta).expect("create");
    let smol = futures_lite::future::block_on(zarr_smol::Array::open_with(store.clone(), "", Arc::default()))
        .expect("open in zarr-smol");
    let selection = s![1..3, 1];
    for (count, values) in [("three", &[1u16, 2, 3][..]), ("one", &[1u16][..])] {
        let e = blocking.write_elements(&selection, values).expect_err(count);
        assert!(matches!(e, zarr_blocking::Error::Proto(zarr_proto::Error::SourceShape { .. })), "{e}");
        let e = futures_lite::future::block_on(smol.write_elements(&selection, values)).expect_err(count);
        assert!(matches!(e, zarr_smol::Error::Proto(zarr_proto::Error::SourceShape { .. })), "{e}");
        assert!(e.to_string().contains("source of shape [") && !e.to_string().contains("output"), "{e}");
    }
    let e = blocking.write_elements(&selection, &[1i16, 2]).expect_err("i16 into uint16");
    assert!(matches!(e, zarr_blocking::Error::Proto(zarr_proto::Error::DataType { .. })), "{e}");
    let e = futures_lite::future::block_on(smol.write_elements(&selection, &[1i16, 2])).expect_err("i16 into uint16");
    assert!(matches!(e, zarr_smol::Error::Proto(zarr_proto::Error::DataType { .. })), "{e}");
    assert_eq!(blocking.read_elements::<u16>(&s![.., ..]).expect("read"), [0; 16], "a refused write changed the array");
    futures_lite::future::block_on(smol.write_elements(&selection, &[5u16, 6])).expect("the right count");
    assert_eq!(blocking.read_elements::<u16>(&s![1..3, 1]).expect("read"), [5, 6]);
}
