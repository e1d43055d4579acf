//! OpenSSL must not clean up at process exit (see `src/http/openssl_init.rs`): its
//! `atexit` clean-up raced with exiting threads and aborted one TLS `zarr get` in ~200.
//!
//! The test runs this binary again as a child that asks OpenSSL, through
//! `OPENSSL_atexit`, to print a line when `OPENSSL_cleanup` runs, then exits normally.
//! A control child calls `OPENSSL_cleanup` itself, to show the line does appear when
//! the clean-up runs.
#![cfg(feature = "http")]
#![allow(unsafe_code)] // two calls into libcrypto, which this binary links through openssl-sys

use std::ffi::c_int;
use std::io::Write;
use std::process::Command;

const CHILD: &str = "ZARR_OPENSSL_EXIT_CHILD";
const MARK: &str = "OPENSSL_cleanup ran";

extern "C" {
    fn OPENSSL_atexit(handler: extern "C" fn()) -> c_int;
    fn OPENSSL_cleanup();
}

extern "C" fn report_cleanup() {
    let _ = writeln!(std::io::stderr(), "{MARK}");
}

/// The child's part, chosen by `CHILD`; nothing when run as an ordinary test.
#[test]
fn child() {
    let Ok(mode) = std::env::var(CHILD) else { return };
    // The binary uses the store crate (so its constructor and libcurl's are linked in,
    // as in `zarr`), and OpenSSL as a TLS client would.
    let store = zarr_store::HttpStore::new("https://127.0.0.1:9/").expect("an https store");
    drop(store);
    // SAFETY: OpenSSL is initialised (constructors ran before main); the handler is a
    // plain function that lives as long as the process.
    assert_eq!(unsafe { OPENSSL_atexit(report_cleanup) }, 1, "OPENSSL_atexit failed");
    if mode == "cleanup-now" {
        // SAFETY: no other thread of this process uses OpenSSL at this point.
        unsafe { OPENSSL_cleanup() };
    }
}

fn run_child(mode: &str) -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = Command::new(exe)
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(CHILD, mode)
        .output()
        .expect("run the test binary as a child");
    assert!(out.status.success(), "child {mode}: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn openssl_does_not_clean_up_at_exit() {
    let control = run_child("cleanup-now");
    assert!(control.contains(MARK), "the control child's handler did not run: {control}");
    let exit = run_child("exit");
    assert!(!exit.contains(MARK), "OPENSSL_cleanup ran at exit: {exit}");
}
