//! `zarr cp`: copy an array or a whole hierarchy between any two stores, as it is or
//! re-chunked, re-compressed or converted between Zarr v2 and v3.
//!
//! Memory stays bounded: threads copy one destination unit (a shard, or a chunk) at a
//! time each, so at most `threads` units are in memory. Without layout options the
//! metadata is copied as it is and the stored objects byte for byte, never decoded.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use clap::Args;
use zarr_blocking::{Array, ArrayMetadata, DimSelector, Group, GroupMetadata, Node, Selection, Store, ZarrFormat};
use zarr_proto::key;

use crate::create::Layout;
use crate::{Remote, Result};

/// `zarr cp` arguments.
#[derive(Args)]
pub(crate) struct CpArgs {
    /// The array or group to copy: local path, file:// or http(s):// URL.
    src: String,
    /// Where to: a local path or file:// URL (http(s):// for servers that accept PUT).
    dst: String,
    /// Destination layout; without any of these, nodes are copied as they are.
    #[command(flatten)]
    layout: Layout,
    /// Units (shards or chunks) copied at once [default: the number of cores].
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    remote: Remote,
}

pub(crate) fn run(args: CpArgs) -> Result<()> {
    let src_store = zarr_blocking::store_for_url(&args.src, args.remote.config()?)?;
    let dst_store = zarr_blocking::store_for_url(&args.dst, args.remote.config()?)?;
    let node = Node::open_with(src_store, "", Arc::default()).map_err(|e| format!("{}: {e}", args.src))?;
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())).max(1);
    let copier = Copier { dst: dst_store, layout: &args.layout, threads };
    let (arrays, units) = copier.node(&node, "")?;
    println!("copied {arrays} array(s), {units} stored object(s) written or checked, to {}", args.dst);
    Ok(())
}

struct Copier<'a> {
    dst: Arc<dyn Store>,
    layout: &'a Layout,
    threads: usize,
}

impl Copier<'_> {
    fn node(&self, node: &Node, path: &str) -> Result<(u64, u64)> {
        match node {
            Node::Array(a) => Ok((1, self.array(a, path)?)),
            Node::Group(g) => self.group(g, path),
        }
    }

    fn group(&self, group: &Group, path: &str) -> Result<(u64, u64)> {
        let format = self.layout.format_or(group.metadata().zarr_format);
        let meta = GroupMetadata::new(format, group.attributes().clone());
        Group::create(self.dst.clone(), path, meta)?;
        let (mut arrays, mut units) = (0, 0);
        for name in group.children()? {
            let (a, u) = self.node(&group.child(&name)?, &key::join(path, &name))?;
            arrays += a;
            units += u;
        }
        Ok((arrays, units))
    }

    fn array(&self, src: &Array, path: &str) -> Result<u64> {
        if !self.layout.is_given() {
            let dst = Array::create(self.dst.clone(), path, src.metadata().clone())?;
            return self.raw(src, &dst);
        }
        let meta = self.relayout(src.metadata())?;
        let dst = Array::create(self.dst.clone(), path, meta)?;
        self.reencode(src, &dst)
    }

    /// The source's array in the requested layout: same shape, type, fill value,
    /// attributes and dimension names.
    fn relayout(&self, src: &ArrayMetadata) -> Result<ArrayMetadata> {
        let format = self.layout.format_or(src.zarr_format);
        let mut builder =
            self.layout.build_like(src.shape.clone(), src.data_type.clone(), src.chunk_shape(), src.shard_shape())?;
        builder.fill_value = Some(src.fill_value.clone());
        if builder.attributes.is_empty() {
            builder.attributes = src.attributes.clone();
        }
        if format == ZarrFormat::V3 {
            builder.dimension_names = src.dimension_names.clone();
        } else {
            builder.shard_shape = None;
        }
        Ok(builder.build(format)?)
    }

    /// Every stored object copied byte for byte (same metadata, same keys).
    fn raw(&self, src: &Array, dst: &Array) -> Result<u64> {
        let grid = src.chunk_grid_shape();
        self.each_unit(&grid, |index| {
            if let Some(bytes) = src.read_encoded_chunk(index)? {
                self.dst.set_blocking(&dst.chunk_key(index), bytes)?;
            }
            Ok(())
        })
    }

    /// Each unit of the destination's stored grid read from the source and written whole.
    fn reencode(&self, src: &Array, dst: &Array) -> Result<u64> {
        let unit = dst.shard_shape().or_else(|| dst.chunk_shape()).ok_or("the destination grid is not regular")?;
        let shape = dst.shape().to_vec();
        let grid = dst.chunk_grid_shape();
        self.each_unit(&grid, |index| {
            let dims = index
                .iter()
                .zip(&unit)
                .zip(&shape)
                .map(|((&i, &u), &n)| {
                    let start = i * u;
                    DimSelector::Slice { start: Some(start as i64), stop: Some((start + u).min(n) as i64), step: 1 }
                })
                .collect();
            let selection = Selection::Orthogonal(dims);
            let values = src.read(&selection)?;
            dst.write(&selection, values)?;
            Ok(())
        })
    }

    /// Runs `copy` on every index of `grid` (C order) on `threads` threads; the count.
    fn each_unit(&self, grid: &[u64], copy: impl Fn(&[u64]) -> Result<()> + Sync) -> Result<u64> {
        let total =
            grid.iter().try_fold(1u64, |a, &n| a.checked_mul(n)).ok_or("more than 2^64 chunks: too many to copy")?;
        let next = AtomicU64::new(0);
        let failure: Mutex<Option<String>> = Mutex::new(None);
        let bar = crate::progress_bar();
        let done = AtomicU64::new(0);
        std::thread::scope(|scope| {
            for _ in 0..self.threads.min(usize::try_from(total).unwrap_or(usize::MAX)).max(1) {
                scope.spawn(|| loop {
                    let flat = next.fetch_add(1, Ordering::Relaxed);
                    if flat >= total || failure.lock().unwrap_or_else(PoisonError::into_inner).is_some() {
                        return;
                    }
                    let mut index = vec![0; grid.len()];
                    let mut rest = flat;
                    for d in (0..grid.len()).rev() {
                        index[d] = rest % grid[d];
                        rest /= grid[d];
                    }
                    if let Err(e) = copy(&index) {
                        failure.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(e.to_string());
                        return;
                    }
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if let Some(bar) = &bar {
                        bar(usize::try_from(n).unwrap_or(usize::MAX), usize::try_from(total).unwrap_or(usize::MAX));
                    }
                });
            }
        });
        match failure.into_inner().unwrap_or_else(PoisonError::into_inner) {
            Some(e) => Err(e.into()),
            None => Ok(total),
        }
    }
}
