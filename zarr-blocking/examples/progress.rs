//! Report a read's progress: `ReadOptions::progress` is told (chunks done, chunks in
//! all) as chunks complete. Uses nothing but `zarr_blocking`.
//!
//! ```text
//! cargo run -p zarr-blocking --example progress -- tests/fixtures/data/v2_seed_6443.zarr
//! ```

use std::sync::Arc;

use zarr_blocking::{Array, Error, ReadOptions, Selection};

fn main() -> Result<(), Error> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "tests/fixtures/data/v2_seed_6443.zarr".into());
    let array = Array::open(&url)?;

    // Called on the thread that drives the read, once per change, the last time with
    // done == total; missing chunks (read as the fill value) count as done too.
    // Keep it quick: a slow callback slows the read.
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
    let data = array.read_with(&Selection::all(), &options)?;
    println!("read {} elements of {}", data.num_elements(), array.data_type());
    Ok(())
}
