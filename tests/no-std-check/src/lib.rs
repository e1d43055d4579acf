//! Links `zarr-proto` into a `#![no_std]` library.
//!
//! If any crate in the dependency graph pulled in `std`, this crate's own
//! `#[panic_handler]` would clash with std's (`duplicate lang item panic_impl`)
//! and the build would fail. That is the whole check: `cargo build` succeeding
//! means zarr-proto (without features) and every dependency it enables are
//! `no_std` + `alloc`.
//!
//! `main.c` then links the library into a C program and runs it on a fixture
//! (parse a `zarr.json`, decode one chunk), so the symbols resolve and the code
//! works with nothing but this allocator.
#![no_std]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};

use zarr_proto::codec::CodecRegistry;
use zarr_proto::ArrayMetadata;
use zarr_proto::Limits;

const HEAP_SIZE: usize = 4 << 20;

/// A bump allocator over a static array: never frees, enough for a smoke test.
struct Bump {
    heap: UnsafeCell<[u8; HEAP_SIZE]>,
    next: AtomicUsize,
}

// SAFETY: `next` hands out disjoint ranges of `heap` atomically.
unsafe impl Sync for Bump {}

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = self.heap.get() as *mut u8;
        let mut current = self.next.load(Ordering::Relaxed);
        loop {
            let addr = base as usize + current;
            let aligned = (addr + layout.align() - 1) & !(layout.align() - 1);
            let start = aligned - base as usize;
            let Some(end) = start.checked_add(layout.size()) else { return core::ptr::null_mut() };
            if end > HEAP_SIZE {
                return core::ptr::null_mut();
            }
            match self.next.compare_exchange_weak(current, end, Ordering::Relaxed, Ordering::Relaxed) {
                // SAFETY: start..end lies inside `heap` and was handed out to nobody else.
                Ok(_) => return unsafe { base.add(start) },
                Err(seen) => current = seen,
            }
        }
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static ALLOCATOR: Bump = Bump { heap: UnsafeCell::new([0; HEAP_SIZE]), next: AtomicUsize::new(0) };

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}

/// The precompiled `core` and `alloc` carry unwind tables that name this symbol;
/// with `panic = "abort"` nothing ever calls it, but a C linker wants it defined.
#[no_mangle]
extern "C" fn rust_eh_personality() {}

/// Parses a v3 `zarr.json`, then decodes one chunk through its codec chain.
/// Returns the number of decoded elements, or a negative number on error.
#[no_mangle]
pub extern "C" fn zarr_no_std_check(
    metadata: *const u8,
    metadata_len: usize,
    chunk: *const u8,
    chunk_len: usize,
) -> i64 {
    if metadata.is_null() || chunk.is_null() {
        return -1;
    }
    // SAFETY: the caller passes valid buffers of the given lengths.
    let (metadata, chunk) =
        unsafe { (core::slice::from_raw_parts(metadata, metadata_len), core::slice::from_raw_parts(chunk, chunk_len)) };
    check(metadata, chunk).unwrap_or(-2)
}

fn check(metadata: &[u8], chunk: &[u8]) -> Option<i64> {
    let limits = Limits::default();
    let registry = CodecRegistry::pure_rust();
    let meta = ArrayMetadata::from_v3_json(metadata, &registry, &limits).ok()?;
    let first = alloc::vec![0u64; meta.ndim()];
    let repr = meta.chunk_repr(&first).ok()?;
    let decoded = meta.codecs.decode(chunk, &repr, &limits).ok()?;
    let item = meta.data_type.size().unwrap_or(1);
    // Also exercise the codec registry directly on a v2 compressor description.
    let gzip = serde_json::json!({"id": "gzip", "level": 1});
    registry.v2(&gzip).ok()?;
    let _key = meta.chunk_key(&first);
    i64::try_from(decoded.len(item)).ok()
}
