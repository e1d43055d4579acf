//! A slice as an `ndarray::ArrayD`, then the array chunk by chunk, with the async driver:
//! the grid of chunks a selection touches, each chunk's region, its decoded values and
//! its stored bytes. Uses nothing but `zarr_smol` (feature `ndarray`, on by default).
//!
//! ```text
//! cargo run -p zarr-smol --example async_chunks -- tests/fixtures/data/v3_shard_nested_compression.zarr
//! ```

use futures_lite::future::block_on;
use zarr_smol::{s, Array, Error, Selection};

fn main() -> Result<(), Error> {
    block_on(async {
        // A uint32 array of [17, 13] in shards of [8, 6], each of inner chunks [4, 3].
        let url =
            std::env::args().nth(1).unwrap_or_else(|| "tests/fixtures/data/v3_shard_nested_compression.zarr".into());
        let array = Array::open(&url).await?;

        // numpy's `a[0:4, 2:5]` as an ndarray, built on the read's own buffer (no copy).
        let block: zarr_smol::ndarray::ArrayD<u32> = array.read_ndarray(&s![0..4, 2..5]).await?;
        println!("a[0:4, 2:5] =\n{block}");

        // The chunks of the read grid (inner chunks when sharded) a selection touches, in
        // C order: each one's region, and its values decoded alone.
        let mut elements = 0;
        for chunk in array.chunk_indices(&Selection::all())? {
            let region = array.chunk_subset(&chunk)?;
            let values = array.read_chunk(&chunk).await?;
            elements += values.num_elements();
            println!("chunk {chunk:?}: rows {:?}, columns {:?}", region[0], region[1]);
        }
        assert_eq!(elements, array.shape().iter().product::<u64>());

        // A stored object itself (a whole shard here), still encoded.
        if let Some(bytes) = array.read_encoded_chunk(&[0, 0]).await? {
            println!("shard [0, 0]: {} bytes stored", bytes.len());
        }
        Ok(())
    })
}
