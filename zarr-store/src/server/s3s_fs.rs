//! A real S3 server for tests: `s3s-fs` (an S3 implementation over a directory that
//! checks SigV4 signatures) run as a child process on a free loopback port.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{S3Config, S3Options, StoreResult};

/// The s3s-fs release the tests and `.ci/run` use (newer ones need a newer rustc).
pub const S3S_FS_VERSION: &str = "0.14.1";

/// The access key the test server accepts.
pub const ACCESS_KEY: &str = "zarrtestkey";
/// The secret of [`ACCESS_KEY`].
pub const SECRET_KEY: &str = "zarr-test-secret-0123456789";
/// The region the tests sign for (s3s-fs accepts any).
pub const REGION: &str = "us-east-1";

/// A running s3s-fs, stopped when dropped.
#[derive(Debug)]
pub struct S3sFs {
    child: Child,
    addr: SocketAddr,
    root: PathBuf,
}

/// Where the s3s-fs binary is: `ZARR_S3S_FS` when set, else `s3s-fs` in `~/.cargo/bin`
/// or on `PATH`.
///
/// # Errors
///
/// A message saying why not: `ZARR_S3S_FS` naming no file, or no binary found.
pub fn binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("ZARR_S3S_FS").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() { Ok(path) } else { Err(format!("ZARR_S3S_FS={} is not a file", path.display())) };
    }
    let home = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin/s3s-fs"));
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("s3s-fs")).collect::<Vec<_>>())
        .unwrap_or_default();
    home.into_iter().chain(on_path).find(|p| p.is_file()).ok_or_else(|| {
        format!(
            "s3s-fs not found: set ZARR_S3S_FS or `cargo install s3s-fs@{S3S_FS_VERSION} --locked --features binary` \
             (.ci/run does)"
        )
    })
}

impl S3sFs {
    /// Starts s3s-fs over `root` (each subdirectory is a bucket) on a free port of
    /// 127.0.0.1, accepting [`ACCESS_KEY`] / [`SECRET_KEY`]; returns once it accepts
    /// connections.
    ///
    /// `Ok(None)` when no binary is found and `ZARR_S3S_FS` is unset (the caller skips,
    /// saying so); with `ZARR_S3S_FS` set, a missing binary is an error.
    ///
    /// # Errors
    ///
    /// The binary cannot be started, or it exits or never listens.
    pub fn start(root: &Path) -> std::io::Result<Option<S3sFs>> {
        let bin = match binary() {
            Ok(bin) => bin,
            Err(msg) if std::env::var_os("ZARR_S3S_FS").is_none() => {
                eprintln!("skipping: {msg}");
                return Ok(None);
            }
            Err(msg) => return Err(std::io::Error::new(std::io::ErrorKind::NotFound, msg)),
        };
        // A port the kernel just handed out and we released: free unless another
        // process takes it in between, which the start-up check below would notice.
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut server = S3sFs { child, addr, root: root.to_owned() };
        // Readiness, not a timing assertion: wait (up to a minute on a loaded machine)
        // until it accepts a connection, failing at once if it exits.
        for _ in 0..3000 {
            if let Some(status) = server.child.try_wait()? {
                return Err(std::io::Error::other(format!("s3s-fs exited at start: {status}")));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(Some(server));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = server.child.kill();
        Err(std::io::Error::other("s3s-fs did not listen"))
    }

    /// The endpoint URL, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The directory it serves.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Makes the bucket `name` (a directory under the root).
    ///
    /// # Errors
    ///
    /// The directory cannot be made.
    pub fn bucket(&self, name: &str) -> std::io::Result<PathBuf> {
        let dir = self.root.join(name);
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// The environment that points the AWS settings at this server with its credentials
    /// (and away from the machine's `~/.aws` files).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_REGION", REGION.into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/zarr-test-credentials".into()),
            ("AWS_CONFIG_FILE", "/nonexistent/zarr-test-config".into()),
        ]
    }

    /// The configuration of `url` (`s3://bucket/prefix`) on this server with `secret`
    /// (the right one is [`SECRET_KEY`]; `None`: anonymous), independent of the
    /// process's environment.
    ///
    /// # Errors
    ///
    /// A malformed URL.
    pub fn config(&self, url: &str, secret: Option<&str>) -> StoreResult<S3Config> {
        self.config_via(&self.endpoint(), url, secret)
    }

    /// As [`config`](Self::config), with requests sent to `endpoint`: a proxy in front
    /// of this server (such as a [`LatencyProxy`](super::proxy::LatencyProxy)).
    ///
    /// # Errors
    ///
    /// A malformed URL or endpoint.
    pub fn config_via(&self, endpoint: &str, url: &str, secret: Option<&str>) -> StoreResult<S3Config> {
        let options = S3Options {
            endpoint: Some(endpoint.to_owned()),
            region: Some(REGION.into()),
            no_sign_request: secret.is_none(),
            ..S3Options::default()
        };
        let secret = secret.unwrap_or_default().to_owned();
        let env = move |name: &str| match name {
            "AWS_ACCESS_KEY_ID" => Some(ACCESS_KEY.to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some(secret.clone()),
            _ => None,
        };
        S3Config::resolve(url, &options, &env, "", "")
    }
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
