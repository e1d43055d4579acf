//! `zarr put`: write a `.npy` file into an array, creating the array when there is none.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use zarr_blocking::{Array, DimSelector, Node, Selection, SelectionKind, WriteOptions};
use zarr_proto::ChunkGrid;

use crate::create::Layout;
use crate::npy_read::NpyFile;
use crate::{Remote, Result};

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
    /// Bytes of the .npy read per block when writing a whole array (tests use small
    /// blocks to exercise the splitting on small files).
    #[arg(long, hide = true, default_value_t = BLOCK_BYTES)]
    block_bytes: u64,
    /// Layout of a new array (refused for an existing one).
    #[command(flatten)]
    layout: Layout,
    #[command(flatten)]
    remote: Remote,
}

pub(crate) fn run(args: PutArgs) -> Result<()> {
    let from = |e: String| format!("{}: {e}", args.from.display());
    let mut npy = NpyFile::open(&args.from).map_err(from)?;
    let (npy_dtype, npy_shape) = (npy.header.dtype.clone(), npy.header.shape.clone());
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
            let meta = args.layout.build(npy_shape.clone(), npy_dtype.clone(), None)?.build(args.layout.format())?;
            Array::create(store, "", meta)?
        }
        Err(e) => return Err(e.into()),
    };
    if &npy_dtype != array.data_type() {
        return Err(format!(
            "{} holds {}, the array {}: convert it first (e.g. a.astype(...))",
            args.from.display(),
            npy_dtype,
            array.data_type()
        )
        .into());
    }
    let elements: u64 = npy_shape.iter().product();
    // A bar on a terminal for puts over half a second (`zarr cp` draws its own per chunk).
    let options =
        WriteOptions { conditional: !args.no_conditional, progress: crate::progress_bar(), ..WriteOptions::default() };
    let dst = |e: zarr_blocking::Error| format!("{}: {e}", args.dst);
    match &args.select {
        Some(expr) => {
            let selection = Selection::parse(expr, SelectionKind::Orthogonal)?;
            let source = npy.read_all().map_err(from)?;
            array.write_with(&selection, source, &options).map_err(dst)?;
        }
        None => {
            if npy_shape != array.shape() {
                return Err(format!(
                    "{} has shape {npy_shape:?}, the array {:?}: give --select for a part of the array",
                    args.from.display(),
                    array.shape()
                )
                .into());
            }
            let rows = block_rows(&array, npy.row_bytes(), args.block_bytes);
            let total_rows = npy_shape.first().copied().unwrap_or(1);
            let per_block = objects(&array, rows);
            let blocks = total_rows.div_ceil(rows.max(1)).max(1) as usize;
            let mut start = 0;
            for block in 0..blocks {
                let count = rows.min(total_rows - start);
                let source = npy.read_rows(start, count).map_err(from)?;
                let selection = if npy_shape.is_empty() {
                    Selection::all()
                } else {
                    let first =
                        DimSelector::Slice { start: Some(start as i64), stop: Some((start + count) as i64), step: 1 };
                    Selection::from(vec![first, DimSelector::Ellipsis])
                };
                let progress = options.progress.clone().map(|outer| -> zarr_blocking::Progress {
                    let base = block * per_block;
                    Arc::new(move |done, _| outer(base + done, per_block * blocks))
                });
                array.write_with(&selection, source, &WriteOptions { progress, ..options.clone() }).map_err(dst)?;
                start += count;
            }
        }
    }
    println!("wrote {elements} elements of {} to {}", array.data_type(), args.dst);
    Ok(())
}

/// A whole `.npy` is written a block of rows (first-dimension indices) at a time, each
/// block read from the file just before its write, so `zarr put` holds one block rather
/// than the whole file (the 256 MiB sharded write of BENCHMARKS.md went over 1.5x the
/// input holding both). Blocks are whole stored objects (chunks, or shards) along the
/// first dimension, so no object is read and merged, and at least this many bytes, so
/// the encode threads have enough objects between two blocks' drains.
const BLOCK_BYTES: u64 = 64 << 20;

/// Rows per block: a multiple of the stored objects' extent along the first dimension
/// (all rows for a 0-d array or an irregular grid).
fn block_rows(array: &Array, row_bytes: u64, block_bytes: u64) -> u64 {
    let all = array.shape().first().copied().unwrap_or(1).max(1);
    let ChunkGrid::Regular { chunk_shape } = &array.metadata().chunk_grid else { return all };
    let Some(&object_rows) = chunk_shape.first() else { return all };
    let object_bytes = object_rows.max(1).saturating_mul(row_bytes).max(1);
    let objects = (block_bytes / object_bytes).max(1);
    object_rows.max(1).saturating_mul(objects).min(all)
}

/// Stored objects per block of [`block_rows`] rows, for a progress bar over all blocks.
fn objects(array: &Array, rows: u64) -> usize {
    let ChunkGrid::Regular { chunk_shape } = &array.metadata().chunk_grid else { return 1 };
    let per_row_of_objects: u64 =
        array.shape().iter().zip(chunk_shape).skip(1).map(|(&n, &c)| n.div_ceil(c.max(1))).product();
    let object_rows = chunk_shape.first().copied().unwrap_or(1).max(1);
    usize::try_from(per_row_of_objects.saturating_mul(rows.div_ceil(object_rows))).unwrap_or(usize::MAX)
}
