//! Fuzz targets for zarr-proto. The bodies live in `targets.rs`, which
//! `zarr-proto/tests/hostile_input.rs` also compiles, so CI replays them on stable.
//!
//! This crate adds what the stable test cannot have: a global allocator that records the
//! largest single allocation, so the targets can check that hostile input never makes the
//! core allocate more than its limits allow (zarr-rs itself forbids unsafe code).

pub mod targets;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::Ordering;

/// `System`, recording the largest allocation in [`targets::LARGEST_ALLOC`].
struct Counting;

// SAFETY: every call is forwarded unchanged to `System`; the counter is a plain atomic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        targets::LARGEST_ALLOC.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        targets::LARGEST_ALLOC.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        targets::LARGEST_ALLOC.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;
