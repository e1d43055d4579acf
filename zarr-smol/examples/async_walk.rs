//! Walk a group from async code: list its children, open each array and print its
//! shape and data type. Uses nothing but `zarr_smol` (and an executor to run it:
//! `futures_lite::future::block_on` here; smol, tokio or any other work the same).
//!
//! ```text
//! cargo run -p zarr-smol --example async_walk -- tests/fixtures/data/v3_group.zarr
//! ```

use zarr_smol::{Error, Group, Node};

async fn walk(url: &str) -> Result<(), Error> {
    // A local path, a `file://` URL or an `http(s)://` URL all work.
    let root = Group::open(url).await?;
    println!("{url} (attributes {:?})", root.attributes());
    // A depth-first walk with an explicit stack (an async fn cannot call itself
    // without boxing its future).
    let mut stack = vec![(root, 1)];
    while let Some((group, depth)) = stack.pop() {
        let indent = "  ".repeat(depth);
        // The direct children's names: from consolidated metadata when the group has
        // it, otherwise from a listing of the store.
        for name in group.children().await? {
            // `child` opens an array or a group; `group.array(&name)` when you know it is an array.
            match group.child(&name).await? {
                Node::Array(array) => println!("{indent}{name}: {:?} {}", array.shape(), array.data_type()),
                Node::Group(sub) => {
                    println!("{indent}{name}/");
                    stack.push((sub, depth + 1));
                }
            }
        }
    }
    Ok(())
}

fn main() -> Result<(), Error> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "tests/fixtures/data/v3_group.zarr".into());
    futures_lite::future::block_on(walk(&url))
}
