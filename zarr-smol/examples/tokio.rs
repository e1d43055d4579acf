//! zarr-smol under tokio: no smol runtime needed, and the futures are `Send`, so a read
//! can be `tokio::spawn`ed onto tokio's worker threads. Takes a path or URL.
//!
//! ```text
//! cargo run -p zarr-smol --example tokio -- tests/fixtures/data/v3_zstd.zarr
//! ```

use zarr_smol::{s, Array};

/// Any error, boxed: `zarr_smol::Error` is `Send + Sync + 'static`, so `?` boxes it.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn run(url: String) -> Result<(), BoxError> {
    let array = Array::open(&url).await?;
    println!("{:?} {}", array.shape(), array.data_type());

    // Two reads as tokio tasks, running at once on tokio's threads: `spawn` requires a
    // `Send + 'static` future, so each task owns its clone of the array (cheap: the
    // metadata and a shared store).
    let rows = array.shape().first().copied().unwrap_or(1);
    let half = rows / 2;
    let (a, b) = (array.clone(), array.clone());
    let top = tokio::spawn(async move { a.read(&s![0..half]).await });
    let bottom = tokio::spawn(async move { b.read(&s![half..]).await });
    let (top, bottom) = (top.await??, bottom.await??);
    println!("top {:?} and bottom {:?}", top.shape, bottom.shape);

    // The same as one read, for comparison.
    let whole = array.read(&zarr_smol::Selection::all()).await?;
    assert_eq!(top.num_elements() + bottom.num_elements(), whole.num_elements());
    Ok(())
}

fn main() -> Result<(), BoxError> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "tests/fixtures/data/v3_zstd.zarr".into());
    // `#[tokio::main]` does the same; built by hand here to keep tokio's macros out.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(url))
}
