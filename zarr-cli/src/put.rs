//! `zarr put`: write a `.npy` file into an array, creating the array when there is none.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use zarr_blocking::{Array, Node, Selection, SelectionKind, WriteOptions};

use crate::create::Layout;
use crate::{npy_read, Remote, Result};

/// `zarr put` arguments.
#[derive(Args)]
pub(crate) struct PutArgs {
    /// Local path or file:// URL of the array (http(s):// for servers that accept PUT).
    dst: String,
    /// The .npy file to write.
    #[arg(long)]
    from: PathBuf,
    /// Where in an existing array, numpy-style (`10:20, ::2`); default everywhere.
    #[arg(short, long)]
    select: Option<String>,
    /// Put partly covered chunks unconditionally. By default a chunk that is read,
    /// merged and put is put only if nobody changed it since the read (on stores that
    /// can check: files, HTTP servers with ETags), so two writers updating disjoint
    /// parts of the same chunks both survive; without the check the later put carries
    /// the earlier read and undoes the other writer's update. For stores whose
    /// conditional requests misbehave, and to show that loss.
    #[arg(long)]
    no_conditional: bool,
    /// Layout of a new array (refused for an existing one).
    #[command(flatten)]
    layout: Layout,
    #[command(flatten)]
    remote: Remote,
}

pub(crate) fn run(args: PutArgs) -> Result<()> {
    let bytes = std::fs::read(&args.from).map_err(|e| format!("{}: {e}", args.from.display()))?;
    let source = npy_read::read(bytes).map_err(|e| format!("{}: {e}", args.from.display()))?;
    let store = zarr_blocking::store_for_url(&args.dst, args.remote.config()?)?;
    let array = match Node::open_with(store.clone(), "", Arc::default()) {
        Ok(Node::Array(array)) => {
            if args.layout.is_given() {
                return Err(format!(
                    "{} exists: --chunks, --shards, --codec, --zarr-format and --attrs apply only to a new array",
                    args.dst
                )
                .into());
            }
            array
        }
        Ok(Node::Group(_)) => return Err(format!("{} is a group, not an array", args.dst).into()),
        Err(e) if e.is_not_found() => {
            if args.select.is_some() {
                return Err(format!(
                    "{}: no array to write a selection into (leave out --select to create one)",
                    args.dst
                )
                .into());
            }
            let meta =
                args.layout.build(source.shape.clone(), source.dtype.clone(), None)?.build(args.layout.format())?;
            Array::create(store, "", meta)?
        }
        Err(e) => return Err(e.into()),
    };
    if &source.dtype != array.data_type() {
        return Err(format!(
            "{} holds {}, the array {}: convert it first (e.g. a.astype(...))",
            args.from.display(),
            source.dtype,
            array.data_type()
        )
        .into());
    }
    let selection = match &args.select {
        Some(expr) => Selection::parse(expr, SelectionKind::Orthogonal)?,
        None => Selection::all(),
    };
    let elements = source.num_elements();
    // A bar on a terminal for puts over half a second (`zarr cp` draws its own per chunk).
    let options =
        WriteOptions { conditional: !args.no_conditional, progress: crate::progress_bar(), ..WriteOptions::default() };
    array.write_with(&selection, source, &options).map_err(|e| format!("{}: {e}", args.dst))?;
    println!("wrote {elements} elements of {} to {}", array.data_type(), args.dst);
    Ok(())
}
