//! OpenSSL initialised before libcurl, without its clean-up at process exit.
//!
//! The `curl` crate initialises libcurl from a constructor (before `main`), and libcurl
//! initialises OpenSSL without `OPENSSL_INIT_NO_ATEXIT`, so OpenSSL registers
//! `OPENSSL_cleanup` with `atexit`. That clean-up frees OpenSSL's global state and the
//! list of per-thread states while other threads still run: a thread that did TLS work
//! (a handshake, random numbers for a connection) and ends during `exit` frees its
//! per-thread state a second time. `zarr get` over TLS aborted with "double free or
//! corruption" in about 1 exit in 200, the main thread inside `OPENSSL_cleanup` and an
//! exiting thread in its thread-specific-data destructors. Waiting for connections to
//! close does not help: the threads' own exit is what races.
//!
//! OpenSSL chooses once, at its first initialisation, whether to register the
//! handler. [`OPENSSL_FIRST`] runs before libcurl's constructor (a linker sorts
//! `.init_array.NNNNN` entries, by priority, before the unprioritised `.init_array`
//! ones) and initialises OpenSSL as rust-openssl does, with `OPENSSL_INIT_NO_ATEXIT`:
//! its memory goes back with the process and nothing is freed under a running thread.
//! A process that initialised OpenSSL before loading this code (a Python interpreter
//! that imported `ssl` before `zarr_rs`) keeps its handler.

/// The constructor: a function pointer in a prioritised `.init_array` section (ELF
/// platforms, where libcurl's constructor is an `.init_array` entry too).
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
#[used]
#[allow(unsafe_code)] // a link section is how a constructor is made; the function is safe
#[link_section = ".init_array.00200"]
static OPENSSL_FIRST: extern "C" fn() = {
    extern "C" fn init_openssl_without_atexit() {
        openssl::init();
    }
    init_openssl_without_atexit
};
