//! `zarr_rs.open(url, **store_options)`: the options, checked by name.

use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use zarr_blocking::{HttpConfig, HttpVersion, S3Options};

/// Settings of the store a URL names, and of reads from it.
pub(crate) struct StoreOptions {
    pub(crate) http: HttpConfig,
    pub(crate) s3: S3Options,
    /// Requests in flight per read (`None`: the store kind's default).
    pub(crate) concurrency: Option<usize>,
}

impl StoreOptions {
    /// Reads the options dict; an unknown name is a `TypeError`, as an unknown keyword
    /// argument would be, so a typo never passes silently.
    pub(crate) fn from_py(options: &Bound<'_, PyAny>) -> PyResult<StoreOptions> {
        let mut out = StoreOptions { http: HttpConfig::default(), s3: S3Options::default(), concurrency: None };
        out.http.ca_file = system_ca_file();
        if options.is_none() {
            return Ok(out);
        }
        let dict = options.cast::<PyDict>().map_err(|_| PyTypeError::new_err("store options must be a dict"))?;
        for (name, value) in dict.iter() {
            let name: String = name.extract()?;
            if value.is_none() {
                continue;
            }
            match name.as_str() {
                "headers" => {
                    let headers: Vec<(String, String)> = value
                        .cast::<PyDict>()?
                        .iter()
                        .map(|(k, v)| Ok((k.extract()?, v.extract()?)))
                        .collect::<PyResult<_>>()?;
                    out.http.headers = headers;
                }
                "ca_file" => {
                    let path: std::path::PathBuf = value.extract()?;
                    out.http.ca_file = Some(path);
                }
                "http_version" => {
                    let version: String = value.extract()?;
                    out.http.version = match version.as_str() {
                        "auto" => HttpVersion::Auto,
                        "1.1" => HttpVersion::Http1,
                        "h2c" => HttpVersion::Http2PriorKnowledge,
                        other => {
                            return Err(PyValueError::new_err(format!(
                            "http_version {other:?}: one of \"auto\" (HTTP/2 where TLS offers it), \"1.1\", \"h2c\" \
                                 (HTTP/2 over plain http:// without asking)"
                        )))
                        }
                    };
                }
                "h2_connections" => {
                    let n: usize = value.extract()?;
                    if n == 0 {
                        return Err(PyValueError::new_err("h2_connections must be at least 1"));
                    }
                    out.http.max_h2_connections = n;
                }
                "timeout" => out.http.timeout = Some(seconds(&name, &value)?),
                "connect_timeout" => out.http.connect_timeout = seconds(&name, &value)?,
                "endpoint" => out.s3.endpoint = Some(value.extract()?),
                "region" => out.s3.region = Some(value.extract()?),
                "profile" => out.s3.profile = Some(value.extract()?),
                "anonymous" => out.s3.no_sign_request = value.extract()?,
                "path_style" => out.s3.path_style = Some(value.extract()?),
                "concurrency" => {
                    let n: usize = value.extract()?;
                    if n == 0 {
                        return Err(PyValueError::new_err("concurrency must be at least 1"));
                    }
                    out.concurrency = Some(n);
                }
                other => {
                    return Err(PyTypeError::new_err(format!(
                        "unknown store option {other:?} (known: headers, ca_file, http_version, h2_connections, \
                         timeout, connect_timeout, endpoint, region, profile, anonymous, path_style, concurrency)"
                    )))
                }
            }
        }
        Ok(out)
    }
}

/// The system's CA bundle, in a portable build (feature `portable`), when neither
/// `SSL_CERT_FILE` nor `SSL_CERT_DIR` is set.
///
/// That build's OpenSSL is compiled from source with `/usr/local/ssl` as its default
/// certificate location, which no distribution fills, so without this every HTTPS
/// server would fail to verify. openssl-probe knows where distributions keep the bundle
/// (/etc/ssl/certs/ca-certificates.crt, /etc/pki/tls/certs/ca-bundle.crt, ...), as curl
/// already uses it for its handles. The variables, when set, keep precedence: OpenSSL's
/// defaults and the curl client honour them as they do in the ordinary build.
#[cfg(feature = "portable")]
fn system_ca_file() -> Option<std::path::PathBuf> {
    if std::env::var_os("SSL_CERT_FILE").is_some() || std::env::var_os("SSL_CERT_DIR").is_some() {
        return None;
    }
    openssl_probe::probe().cert_file
}

/// The ordinary build links the system's OpenSSL, whose defaults are the system's CAs.
#[cfg(not(feature = "portable"))]
fn system_ca_file() -> Option<std::path::PathBuf> {
    None
}

fn seconds(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Duration> {
    let secs: f64 = value.extract()?;
    Duration::try_from_secs_f64(secs).map_err(|e| PyValueError::new_err(format!("{name}: {secs} seconds: {e}")))
}
