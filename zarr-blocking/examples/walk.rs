//! Walk a group: list its children, open each array and print its shape and data type.
//! Uses nothing but `zarr_blocking`.
//!
//! ```text
//! cargo run -p zarr-blocking --example walk -- tests/fixtures/data/v3_group.zarr
//! ```

use zarr_blocking::{Error, Group, Node};

fn main() -> Result<(), Error> {
    // A local path, a `file://` URL or an `http(s)://` URL all work.
    let url = std::env::args().nth(1).unwrap_or_else(|| "tests/fixtures/data/v3_group.zarr".into());
    let root = Group::open(&url)?;
    println!("{url} (attributes {:?})", root.attributes());
    print_tree(&root, 1)
}

/// Prints every node below `group`, one line each, indented by depth.
fn print_tree(group: &Group, depth: usize) -> Result<(), Error> {
    let indent = "  ".repeat(depth);
    // The direct children's names: from consolidated metadata when the group has it,
    // otherwise from a listing of the store.
    for name in group.children()? {
        // `child` opens an array or a group; `group.array(&name)` when you know it is an array.
        match group.child(&name)? {
            Node::Array(array) => println!("{indent}{name}: {:?} {}", array.shape(), array.data_type()),
            Node::Group(sub) => {
                println!("{indent}{name}/");
                print_tree(&sub, depth + 1)?;
            }
        }
    }
    Ok(())
}
