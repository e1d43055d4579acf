//! Report a read's progress from async code: `ReadOptions::progress` is told (chunks
//! done, chunks in all) as chunks complete. Uses nothing but `zarr_smol` (and
//! `futures_lite::future::block_on` to run it).
//!
//! ```text
//! cargo run -p zarr-smol --example async_progress -- tests/fixtures/data/v2_seed_6443.zarr
//! ```

use std::sync::Arc;

use zarr_smol::{Array, Error, ReadOptions, Selection};

async fn read(url: &str) -> Result<(), Error> {
    let array = Array::open(url).await?;
    // Called from the task that drives the read (inside `read_with`'s future), once per
    // change, the last time with done == total; missing chunks (read as the fill value)
    // count as done too. Keep it quick: a slow callback slows the read.
    let options = ReadOptions {
        progress: Some(Arc::new(|done: usize, total: usize| {
            // Print at every quarter, and at the end.
            if done == total || done % total.div_ceil(4).max(1) == 0 {
                println!("{done}/{total} chunks");
            }
        })),
        // The other knobs: requests in flight, decode threads, allocation limits.
        concurrency: None,
        ..ReadOptions::default()
    };
    let data = array.read_with(&Selection::all(), &options).await?;
    println!("read {} elements of {}", data.num_elements(), array.data_type());
    Ok(())
}

fn main() -> Result<(), Error> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "tests/fixtures/data/v2_seed_6443.zarr".into());
    futures_lite::future::block_on(read(&url))
}
