//! Tell the errors apart from async code: nothing there, the wrong kind of node, the
//! wrong element type, a selection out of bounds. Uses nothing but `zarr_smol` (and
//! `futures_lite::future::block_on` to run it).
//!
//! ```text
//! cargo run -p zarr-smol --example async_errors
//! ```

use zarr_smol::{s, Array, Error, Group, MemoryStore};

async fn errors() -> Result<(), Error> {
    // Nothing at the path: `Error::NotFound`, naming the place (also `is_not_found()`).
    let missing = std::env::temp_dir().join("zarr-rs-example-no-such-array.zarr");
    match Array::open(&missing.to_string_lossy()).await {
        Err(Error::NotFound { path }) => println!("not found, as expected: {path}"),
        other => panic!("expected NotFound, got {other:?}"),
    }

    // A store in memory holding one group with one uint8 array `a` of 4 elements.
    let store = MemoryStore::new();
    store.insert("zarr.json", r#"{"zarr_format":3,"node_type":"group"}"#);
    store.insert(
        "a/zarr.json",
        r#"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"uint8",
            "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[4]}},
            "chunk_key_encoding":{"name":"default"},"fill_value":0,"codecs":[{"name":"bytes"}]}"#,
    );
    store.insert("a/c/0", vec![1u8, 2, 3, 4]);

    // A group where an array was asked for: `Error::WrongNodeType`.
    match Array::open_in(store.clone(), "").await {
        Err(e @ Error::WrongNodeType { found: "group", .. }) => println!("wrong node type: {e}"),
        other => panic!("expected WrongNodeType, got {other:?}"),
    }

    // A missing child of a group is NotFound too; `is_not_found` says so without a match.
    let group = Group::open_in(store, "").await?;
    match group.array("b").await {
        Err(e) if e.is_not_found() => println!("missing child: {e}"),
        other => panic!("expected NotFound, got {other:?}"),
    }

    let array = group.array("a").await?;
    // Elements of the wrong type (uint8 read as f32): the core's error, `Error::Proto`.
    match array.read_elements::<f32>(&s![..]).await {
        Err(e @ Error::Proto(_)) => println!("wrong element type: {e}"),
        other => panic!("expected a data type error, got {other:?}"),
    }
    // An index past the end: also `Error::Proto`, saying which dimension.
    if let Err(e) = array.read(&s![10]).await {
        println!("out of bounds: {e}");
    }
    // Store failures (IO, HTTP status) arrive as `Error::Store`, with the key.
    // Everything else worked:
    println!("a = {:?}", array.read_elements::<u8>(&s![..]).await?);
    Ok(())
}

fn main() -> Result<(), Error> {
    futures_lite::future::block_on(errors())
}
