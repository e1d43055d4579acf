//! Read an array over HTTP: with default settings, then with a configured client.
//! Uses nothing but `zarr_blocking` (whose default feature `http` brings the client).
//!
//! ```text
//! cargo run -p zarr-blocking --example http -- https://example.org/data/array.zarr
//! ```

use std::time::Duration;

use zarr_blocking::{s, Array, Error, HttpConfig, OpenOptions};

fn main() -> Result<(), Error> {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: http URL_OF_AN_ARRAY");
        std::process::exit(2);
    };

    // The short way: default HTTP settings (HTTP/2 where TLS offers it, a keep-alive
    // pool otherwise, retries on 5xx). Every chunk request of a read is in flight at once.
    let array = Array::open(&url)?;
    let everything = array.read(&zarr_blocking::Selection::all())?;
    println!("{url}: {:?} {}, {} elements read", array.shape(), array.data_type(), everything.num_elements());

    // With settings: a store made from a configuration, then opened like any other store.
    let config = HttpConfig::default().timeout(Duration::from_secs(10)).header("User-Agent", "zarr-rs example");
    let store = zarr_blocking::store_for_url(&url, config)?;
    let array = Array::open_with(store, "", OpenOptions::default().into())?;
    // The first two entries of the first dimension (`a[0:2]`, the others whole).
    let head = array.read(&s![0..2])?;
    println!("head: shape {:?}, {} elements", head.shape, head.num_elements());
    Ok(())
}
