//! Open an array anywhere (a path, `file://`, `http(s)://`) from async code and read a
//! corner of it; uses nothing but `zarr_smol`. Runs under `futures_lite::future::block_on`
//! here; smol, async-std or tokio work the same (the futures are `Send`, no runtime
//! is required).
//!
//! ```text
//! cargo run -p zarr-smol --example async_info -- tests/fixtures/data/v3_attributes.zarr
//! ```

use zarr_smol::{Array, DimSelector, Error, Selection};

async fn info(url: &str) -> Result<(), Error> {
    let array = Array::open(url).await?;
    println!("array {:?} of {}", array.shape(), array.data_type());
    println!("chunks {:?}, shards {:?}, fill value {}", array.chunk_shape(), array.shard_shape(), array.fill_value());
    let corner = Selection::from(array.shape().iter().map(|&n| DimSelector::from(0..n.min(2))).collect::<Vec<_>>());
    let part = array.read(&corner).await?;
    println!("corner {:?}: {} elements", part.shape, part.num_elements());
    Ok(())
}

fn main() {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: info URL_OR_PATH");
        std::process::exit(2);
    };
    if let Err(e) = futures_lite::future::block_on(info(&url)) {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
