//! Arrays whose element count overflows 64 bits open and read where a selection is
//! small (zarr-python and tensorstore read them): only what a read touches must fit.

use std::collections::HashMap;

use zarr_proto::{ArrayMetadata, CodecRegistry, Limits, NdArray, ReadOp, Response, Selection, SelectionKind};

const BIG: u64 = 1 << 62;

fn meta(shape: [u64; 2], chunks: [u64; 2]) -> zarr_proto::Result<ArrayMetadata> {
    let doc = format!(
        r#"{{"zarr_format":3,"node_type":"array","shape":[{},{}],"data_type":"uint8",
        "chunk_grid":{{"name":"regular","configuration":{{"chunk_shape":[{},{}]}}}},
        "chunk_key_encoding":{{"name":"default"}},"fill_value":5,"codecs":[{{"name":"bytes"}}]}}"#,
        shape[0], shape[1], chunks[0], chunks[1]
    );
    ArrayMetadata::from_v3_json(doc.as_bytes(), &CodecRegistry::default(), &Limits::default())
}

fn read(meta: &ArrayMetadata, sel: &str, store: &HashMap<String, Vec<u8>>) -> zarr_proto::Result<NdArray> {
    let selection = Selection::parse(sel, SelectionKind::Orthogonal)?;
    let mut op = ReadOp::new(meta, &selection, Limits::default())?;
    loop {
        while let Some(req) = op.poll_request() {
            let response = match store.get(&req.key) {
                Some(b) => Response::Bytes(b.clone().into()),
                None => Response::Missing,
            };
            op.handle_response(req.id, response)?;
        }
        while let Some(job) = op.poll_decode() {
            op.handle_decoded(job.run())?;
        }
        if op.is_done() {
            return op.finish();
        }
    }
}

#[test]
fn a_corner_of_an_array_of_2_pow_124_elements_reads() {
    // Chunks of 2^61 x 2^61 elements would not fit either: small chunks, a huge grid.
    let m = meta([BIG, BIG], [2, 2]).expect("opens");
    let mut store = HashMap::new();
    store.insert("c/0/0".to_string(), vec![1u8, 2, 3, 4]);
    let a = read(&m, "0:2, 0:3", &store).expect("reads");
    assert_eq!(a.shape, [2, 3]);
    assert_eq!(a.to_vec::<u8>().expect("u8"), [1, 2, 5, 3, 4, 5]);
    // The far corner too.
    let far = format!("{}:{}, -1", BIG - 2, BIG);
    assert_eq!(read(&m, &far, &HashMap::new()).expect("reads").to_vec::<u8>().expect("u8"), [5, 5]);
}

#[test]
fn what_a_read_touches_must_still_fit() {
    let m = meta([BIG, BIG], [2, 2]).expect("opens");
    let e = read(&m, "..., ...", &HashMap::new()).err().map(|e| e.to_string()).unwrap_or_default();
    let e2 = read(&m, ":, :", &HashMap::new()).expect_err("a whole-array read cannot fit").to_string();
    assert!(e2.contains("exceeds") || e2.contains("fit") || e2.contains("limit"), "{e2} / {e}");
    // Huge chunks: a read of one element needs a whole chunk, which cannot fit.
    let huge_chunks = meta([BIG, BIG], [1 << 61, 1 << 61]);
    if let Ok(m) = huge_chunks {
        let e = read(&m, "0:2, 0:2", &HashMap::new()).expect_err("a 2^122-element chunk");
        assert!(!e.to_string().is_empty());
    }
}
