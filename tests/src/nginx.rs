//! nginx as a third-party server for tests, through `bench/nginx.sh`.
//!
//! [`Nginx::start`] serves a directory on six consecutive free loopback ports (see
//! the script for what each speaks) and [`Drop`] stops it and removes its temp dir,
//! even when the test panics. Without nginx installed it panics with what to
//! install; [`skip_requested`] lets a machine without nginx opt out.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// True when `ZARR_SKIP_NGINX=1`: the caller should skip its nginx test.
pub fn skip_requested() -> bool {
    std::env::var("ZARR_SKIP_NGINX").is_ok_and(|v| v == "1")
}

/// A running nginx from `bench/nginx.sh start`; stopped (and its temp dir removed) on drop.
pub struct Nginx {
    vars: BTreeMap<String, String>,
    /// The first of its six ports (plain HTTP/1.1).
    pub port: u16,
}

impl Nginx {
    fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/nginx.sh")
    }

    /// Starts nginx serving `dir` without added latency, on six consecutive free ports.
    pub fn start(dir: &Path) -> Nginx {
        let mut last_error = String::new();
        for _ in 0..10 {
            let Some(port) = free_port_run(6) else { continue };
            let out = Command::new("bash")
                .arg(Self::script())
                .args(["start", &dir.to_string_lossy(), &port.to_string(), "0"])
                .output()
                .unwrap_or_else(|e| panic!("cannot run bash {}: {e}", Self::script().display()));
            if out.status.success() {
                let vars = String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter_map(|l| l.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                let nginx = Nginx { vars, port };
                assert!(nginx.vars.contains_key("PREFIX"), "nginx.sh printed no PREFIX: {out:?}");
                return nginx;
            }
            last_error = String::from_utf8_lossy(&out.stderr).into_owned();
            if last_error.contains("not installed") || last_error.contains("too old") {
                break;
            }
        }
        panic!(
            "could not start nginx through bench/nginx.sh: {last_error}\n\
             install it (apt-get install nginx libnginx-mod-http-echo openssl; .ci/run does) \
             or set ZARR_SKIP_NGINX=1 to skip this test"
        );
    }

    /// A `KEY=value` line `nginx.sh start` printed (`CA`, `HTTP_URL`, `ACCESS_LOG`, ...).
    pub fn var(&self, name: &str) -> &str {
        self.vars.get(name).map_or_else(|| panic!("nginx.sh printed no {name}"), String::as_str)
    }

    /// The access log so far (one line per request; format in `bench/nginx.sh`).
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.var("ACCESS_LOG")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Some(prefix) = self.vars.get("PREFIX") {
            let _ = Command::new("bash").arg(Self::script()).args(["stop", prefix]).status();
        }
    }
}

/// The first of `n` consecutive loopback ports that are free right now.
fn free_port_run(n: u16) -> Option<u16> {
    // Below the ephemeral range: a client socket's TIME_WAIT (thousands after a busy
    // test run) blocks nginx from binding that port, though our own probe binds it.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let base = 20_000 + ((nanos ^ std::process::id().wrapping_mul(7919)) % 10_000) as u16;
    (0..n).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok()).then_some(base)
}
