//! `zarr consolidate`: write consolidated metadata for a hierarchy.
//!
//! A command of its own rather than a flag on `create` or `cp`: consolidated metadata is
//! a snapshot of a whole hierarchy, stale as soon as any node below changes, and
//! hierarchies are built node by node (by `zarr create`, `put`, `cp` or zarr-python).
//! Run it once the hierarchy is complete, and again after changes.

use clap::Args;
use zarr_blocking::{Group, Node};

use crate::{Remote, Result};

/// `zarr consolidate` arguments.
#[derive(Args)]
pub(crate) struct ConsolidateArgs {
    /// Local path, file:// or s3:// URL of the group (the store must list: not plain HTTP).
    url: String,
    #[command(flatten)]
    remote: Remote,
}

pub(crate) fn run(args: ConsolidateArgs) -> Result<()> {
    let store = args.remote.store(&args.url)?;
    let mut group: Group = match Node::open_with(store, "", Default::default()) {
        Ok(Node::Group(g)) => g,
        Ok(Node::Array(_)) => {
            return Err(format!("{} is an array: only a group has consolidated metadata", args.url).into())
        }
        Err(e) => return Err(format!("{}: {e}", args.url).into()),
    };
    group.consolidate().map_err(|e| format!("{}: {e}", args.url))?;
    let nodes = group.consolidated().map_or(0, |c| c.nodes.len());
    let document = match group.metadata().zarr_format {
        zarr_blocking::ZarrFormat::V2 => ".zmetadata",
        zarr_blocking::ZarrFormat::V3 => "zarr.json",
    };
    println!("consolidated {nodes} nodes below {} into its {document}", args.url);
    Ok(())
}
