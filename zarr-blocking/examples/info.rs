//! Open an array or group anywhere (a path, `file://`, `http(s)://`), print what it
//! is, and read a corner of an array; uses nothing but `zarr_blocking`.
//!
//! ```text
//! cargo run -p zarr-blocking --example info -- tests/fixtures/data/v3_attributes.zarr
//! ```

use zarr_blocking::{Error, Group, Node};

fn main() -> Result<(), Error> {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: info URL_OR_PATH");
        std::process::exit(2);
    };
    match Node::open(&url) {
        Ok(Node::Array(array)) => {
            println!("array {:?} of {}", array.shape(), array.data_type());
            println!(
                "chunks {:?}, shards {:?}, fill value {}",
                array.chunk_shape(),
                array.shard_shape(),
                array.fill_value()
            );
            if let Some(names) = array.dimension_names() {
                println!("dimensions {names:?}");
            }
            // The first two elements along every dimension (fewer where it is shorter);
            // for a known rank, `zarr_blocking::s![0..2, 0..2]` says the same.
            let corner = zarr_blocking::Selection::from(
                array.shape().iter().map(|&n| zarr_blocking::DimSelector::from(0..n.min(2))).collect::<Vec<_>>(),
            );
            let part = array.read(&corner)?;
            println!("corner {:?}: {} elements", part.shape, part.num_elements());
        }
        Ok(Node::Group(group)) => walk(&group, "")?,
        Err(e) if e.is_not_found() => {
            eprintln!("{e}");
            std::process::exit(1);
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

/// Prints the hierarchy under `group`, children from consolidated metadata or a listing.
fn walk(group: &Group, indent: &str) -> Result<(), Error> {
    for name in group.children()? {
        match group.child(&name)? {
            Node::Array(a) => println!("{indent}{name} {:?} {}", a.shape(), a.data_type()),
            Node::Group(g) => {
                println!("{indent}{name}/");
                walk(&g, &format!("{indent}  "))?;
            }
        }
    }
    Ok(())
}
