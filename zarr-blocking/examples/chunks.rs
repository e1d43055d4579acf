//! A slice as an `ndarray::ArrayD`, then the array chunk by chunk: the grid of chunks a
//! selection touches, each chunk's region, its decoded values and its stored bytes.
//! Uses nothing but `zarr_blocking` (feature `ndarray`, on by default).
//!
//! ```text
//! cargo run -p zarr-blocking --example chunks -- tests/fixtures/data/v3_shard_nested_compression.zarr
//! ```

use zarr_blocking::{s, Array, Error, Selection};

fn main() -> Result<(), Error> {
    // A uint32 array of [17, 13] in shards of [8, 6], each of inner chunks [4, 3].
    let url = std::env::args().nth(1).unwrap_or_else(|| "tests/fixtures/data/v3_shard_nested_compression.zarr".into());
    let array = Array::open(&url)?;

    // numpy's `a[0:4, 2:5]` as an ndarray, built on the read's own buffer (no copy).
    let block: zarr_blocking::ndarray::ArrayD<u32> = array.read_ndarray(&s![0..4, 2..5])?;
    println!("a[0:4, 2:5] =\n{block}");

    // The chunks of the read grid (inner chunks when sharded) that a selection touches,
    // in C order; each one's region of the array, and its values decoded alone (for a
    // sharded array, only that inner chunk's bytes are fetched).
    let mut elements = 0;
    for chunk in array.chunk_indices(&Selection::all())? {
        let region = array.chunk_subset(&chunk)?;
        let values = array.read_chunk(&chunk)?;
        elements += values.num_elements();
        println!("chunk {chunk:?}: rows {:?}, columns {:?}, {} elements", region[0], region[1], values.num_elements());
    }
    assert_eq!(elements, array.shape().iter().product::<u64>());

    // The stored objects themselves (whole shards here), still encoded: what a tool that
    // copies without decoding moves. `None` where nothing is stored.
    let grid = array.chunk_grid_shape();
    let stored = (0..grid[0])
        .flat_map(|i| (0..grid[1]).map(move |j| [i, j]))
        .filter_map(|index| array.read_encoded_chunk(&index).transpose())
        .collect::<Result<Vec<_>, _>>()?;
    let bytes: usize = stored.iter().map(|b| b.len()).sum();
    println!("{} stored objects, {bytes} bytes", stored.len());
    Ok(())
}
