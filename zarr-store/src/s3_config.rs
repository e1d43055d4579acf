//! Where an `s3://bucket/prefix` URL leads and with which credentials, resolved
//! the way the AWS CLI resolves them.
//!
//! Order, as the AWS CLI documents it: explicit settings, then the environment
//! (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_DEFAULT_REGION`,
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_PROFILE`,
//! `AWS_NO_SIGN_REQUEST`), then the shared files (`~/.aws/credentials`,
//! `~/.aws/config`, or `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE`). Resolution
//! is a pure function of an environment lookup and the two files' text, so every rule
//! is tested without touching the machine's real configuration.

use std::collections::HashMap;

use zarr_proto::sigv4::Credentials;

use crate::{StoreError, StoreResult};

/// How the bucket appears in request URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressing {
    /// `https://endpoint/bucket/key`: what custom endpoints (MinIO, Ceph, s3s) expect.
    Path,
    /// `https://bucket.s3.region.amazonaws.com/key`: AWS's default.
    VirtualHosted,
}

/// Everything needed to reach one bucket prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    /// The bucket.
    pub bucket: String,
    /// The key prefix inside the bucket, without leading or trailing `/`.
    pub prefix: String,
    /// The endpoint, e.g. `http://127.0.0.1:9000`; `None` for AWS itself.
    pub endpoint: Option<String>,
    /// The region the requests are signed for.
    pub region: String,
    /// Credentials, or `None` for anonymous (unsigned) requests.
    pub credentials: Option<Credentials>,
    /// Path-style or virtual-hosted URLs.
    pub addressing: Addressing,
}

/// Settings given explicitly (flags, code), which win over the environment.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// Endpoint URL.
    pub endpoint: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Profile name in the shared files.
    pub profile: Option<String>,
    /// Send unsigned requests (public buckets).
    pub no_sign_request: bool,
    /// Force path-style (`Some(true)`) or virtual-hosted (`Some(false)`) addressing.
    pub path_style: Option<bool>,
}

/// The region when nothing names one, as the AWS CLI assumes for S3.
const DEFAULT_REGION: &str = "us-east-1";

impl S3Config {
    /// Resolves `url` (`s3://bucket/prefix`) with `options`, the environment `env`
    /// and the text of the shared credentials and config files (empty if absent).
    ///
    /// # Errors
    /// A URL that is not `s3://bucket[/prefix]`; a profile named explicitly (or by
    /// `AWS_PROFILE`) that neither file has; an access key without a secret.
    pub fn resolve(
        url: &str,
        options: &S3Options,
        env: &dyn Fn(&str) -> Option<String>,
        credentials_file: &str,
        config_file: &str,
    ) -> StoreResult<S3Config> {
        let (bucket, prefix) = parse_url(url)?;
        let env = |name: &str| env(name).filter(|v| !v.is_empty());
        let credentials_ini = parse_ini(credentials_file);
        let config_ini = parse_ini(config_file);
        let named = options.profile.clone().or_else(|| env("AWS_PROFILE"));
        let profile_name = named.clone().unwrap_or_else(|| "default".into());
        // The config file names non-default profiles `[profile NAME]`.
        let config_section =
            if profile_name == "default" { "default".to_string() } else { format!("profile {profile_name}") };
        let from_credentials = credentials_ini.get(&profile_name);
        let from_config = config_ini.get(&config_section);
        if named.is_some() && from_credentials.is_none() && from_config.is_none() {
            return Err(config_error(url, &format!("profile `{profile_name}` is in neither shared file")));
        }
        let profile = |key: &str| {
            from_credentials.and_then(|s| s.get(key)).or_else(|| from_config.and_then(|s| s.get(key))).cloned()
        };

        let endpoint = options
            .endpoint
            .clone()
            .or_else(|| env("AWS_ENDPOINT_URL_S3"))
            .or_else(|| env("AWS_ENDPOINT_URL"))
            .or_else(|| profile("endpoint_url"))
            .map(|e| e.trim_end_matches('/').to_string());
        let region = options
            .region
            .clone()
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .or_else(|| profile("region"))
            .unwrap_or_else(|| DEFAULT_REGION.into());
        let no_sign = options.no_sign_request || env("AWS_NO_SIGN_REQUEST").is_some_and(|v| truthy(&v));
        let credentials = if no_sign {
            None
        } else {
            match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
                // The environment's key wins over a profile, unless a profile was named explicitly.
                (Some(id), Some(secret)) if options.profile.is_none() => Some(Credentials {
                    access_key_id: id,
                    secret_access_key: secret,
                    session_token: env("AWS_SESSION_TOKEN"),
                }),
                (Some(_), None) if options.profile.is_none() => {
                    return Err(config_error(url, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"))
                }
                _ => match (profile("aws_access_key_id"), profile("aws_secret_access_key")) {
                    (Some(id), Some(secret)) => Some(Credentials {
                        access_key_id: id,
                        secret_access_key: secret,
                        session_token: profile("aws_session_token"),
                    }),
                    (Some(_), None) => {
                        return Err(config_error(
                            url,
                            &format!("profile `{profile_name}` has aws_access_key_id but no aws_secret_access_key"),
                        ))
                    }
                    _ => None,
                },
            }
        };
        let addressing = match options.path_style {
            Some(true) => Addressing::Path,
            Some(false) => Addressing::VirtualHosted,
            // Custom endpoints rarely have wildcard DNS for buckets; AWS prefers virtual hosts,
            // which also need the bucket to be a valid DNS label.
            None if endpoint.is_some() || bucket.contains('.') => Addressing::Path,
            None => Addressing::VirtualHosted,
        };
        Ok(S3Config { bucket, prefix, endpoint, region, credentials, addressing })
    }

    /// [`resolve`](Self::resolve) with this process's environment and shared files.
    ///
    /// # Errors
    /// As for [`resolve`](Self::resolve); unreadable files count as absent.
    pub fn from_env(url: &str, options: &S3Options) -> StoreResult<S3Config> {
        let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
        let file = |var: &str, default: &str| {
            std::env::var_os(var)
                .map(std::path::PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
                .and_then(|p| std::fs::read_to_string(p).ok())
                .unwrap_or_default()
        };
        let credentials = file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
        let config = file("AWS_CONFIG_FILE", "config");
        S3Config::resolve(url, options, &|name| std::env::var(name).ok(), &credentials, &config)
    }

    /// The URL of the bucket's root (every object URL is this plus `/` and the key).
    pub fn bucket_url(&self) -> String {
        let endpoint = self.endpoint.clone().unwrap_or_else(|| format!("https://s3.{}.amazonaws.com", self.region));
        match self.addressing {
            Addressing::Path => format!("{endpoint}/{}", self.bucket),
            Addressing::VirtualHosted => match endpoint.split_once("://") {
                Some((scheme, host)) => format!("{scheme}://{}.{host}", self.bucket),
                None => format!("https://{}.{endpoint}", self.bucket),
            },
        }
    }

    /// Where this store is, for messages: the `s3://` URL (never the credentials).
    pub fn location(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// `s3://bucket/prefix` into the bucket and the prefix.
fn parse_url(url: &str) -> StoreResult<(String, String)> {
    let rest = url.strip_prefix("s3://").ok_or_else(|| config_error(url, "not an s3:// URL"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !bucket.starts_with(['-', '.'])
        && !bucket.ends_with(['-', '.']);
    if !valid_bucket {
        return Err(config_error(url, &format!("`{bucket}` is not a valid bucket name")));
    }
    Ok((bucket.to_string(), prefix.trim_matches('/').to_string()))
}

/// Sections of an INI file (the AWS shared files' format): `[name]` then `key = value`.
fn parse_ini(text: &str) -> HashMap<String, HashMap<String, String>> {
    let mut sections: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            sections.entry(name.clone()).or_default();
            current = Some(name);
        } else if let (Some(section), Some((key, value))) = (&current, line.split_once('=')) {
            if let Some(entries) = sections.get_mut(section) {
                entries.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
            }
        }
    }
    sections
}

fn truthy(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}

fn config_error(url: &str, reason: &str) -> StoreError {
    StoreError::Config { location: url.to_string(), reason: reason.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(
        url: &str,
        options: &S3Options,
        env: &[(&str, &str)],
        creds: &str,
        config: &str,
    ) -> StoreResult<S3Config> {
        let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        S3Config::resolve(url, options, &|k| env.get(k).cloned(), creds, config)
    }

    const CREDS: &str = "[default]\naws_access_key_id = DEFAULTKEY\naws_secret_access_key = defaultsecret\n\n\
                         [work]\naws_access_key_id=WORKKEY\naws_secret_access_key=worksecret\naws_session_token=tok\n";
    const CONFIG: &str =
        "[default]\nregion = eu-west-1\n[profile work]\nregion = ap-south-1\nendpoint_url = http://127.0.0.1:9000/\n";

    #[test]
    fn the_environment_wins_over_the_files() {
        let env =
            [("AWS_ACCESS_KEY_ID", "ENVKEY"), ("AWS_SECRET_ACCESS_KEY", "envsecret"), ("AWS_REGION", "us-west-2")];
        let c = resolve("s3://bucket/a/b/", &S3Options::default(), &env, CREDS, CONFIG).unwrap();
        assert_eq!((c.bucket.as_str(), c.prefix.as_str(), c.region.as_str()), ("bucket", "a/b", "us-west-2"));
        assert_eq!(c.credentials.unwrap().access_key_id, "ENVKEY");
        assert_eq!(c.addressing, Addressing::VirtualHosted);
        assert_eq!(c.endpoint, None);
    }

    #[test]
    fn profiles_come_from_both_files() {
        let c = resolve("s3://bucket", &S3Options::default(), &[], CREDS, CONFIG).unwrap();
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(c.credentials.unwrap().access_key_id, "DEFAULTKEY");

        let c = resolve("s3://bucket", &S3Options::default(), &[("AWS_PROFILE", "work")], CREDS, CONFIG).unwrap();
        assert_eq!(c.region, "ap-south-1");
        assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(c.addressing, Addressing::Path, "custom endpoints use path-style");
        let creds = c.credentials.clone().unwrap();
        assert_eq!((creds.access_key_id.as_str(), creds.session_token.as_deref()), ("WORKKEY", Some("tok")));
        assert_eq!(c.bucket_url(), "http://127.0.0.1:9000/bucket");

        let e = resolve("s3://bucket", &S3Options::default(), &[("AWS_PROFILE", "nope")], CREDS, CONFIG).unwrap_err();
        assert!(e.to_string().contains("profile `nope`"), "{e}");
    }

    #[test]
    fn endpoints_regions_and_anonymous_access() {
        let env =
            [("AWS_ENDPOINT_URL", "http://a:1"), ("AWS_ENDPOINT_URL_S3", "http://b:2"), ("AWS_DEFAULT_REGION", "r")];
        let c = resolve("s3://bkt", &S3Options::default(), &env, "", "").unwrap();
        assert_eq!((c.endpoint.as_deref(), c.region.as_str()), (Some("http://b:2"), "r"));
        assert_eq!(c.credentials, None, "no credentials anywhere: anonymous");

        let options = S3Options { no_sign_request: true, ..S3Options::default() };
        assert_eq!(resolve("s3://bkt", &options, &[], CREDS, CONFIG).unwrap().credentials, None);
        let c = resolve("s3://bkt", &S3Options::default(), &[("AWS_NO_SIGN_REQUEST", "true")], CREDS, "").unwrap();
        assert_eq!(c.credentials, None);

        let c = resolve("s3://bkt", &S3Options::default(), &[], "", "").unwrap();
        assert_eq!(c.region, "us-east-1");
        assert_eq!(c.bucket_url(), "https://bkt.s3.us-east-1.amazonaws.com");
        let options = S3Options { path_style: Some(true), ..S3Options::default() };
        assert_eq!(
            resolve("s3://bkt", &options, &[], "", "").unwrap().bucket_url(),
            "https://s3.us-east-1.amazonaws.com/bkt"
        );
    }

    #[test]
    fn bad_urls_and_half_credentials_are_clear_errors_without_secrets() {
        for url in ["http://bucket", "s3://", "s3://UPPER/x", "s3://a", "s3://-bad/x"] {
            assert!(resolve(url, &S3Options::default(), &[], "", "").is_err(), "{url}");
        }
        let e = resolve("s3://bkt", &S3Options::default(), &[("AWS_ACCESS_KEY_ID", "K")], "", "").unwrap_err();
        assert!(e.to_string().contains("AWS_SECRET_ACCESS_KEY"), "{e}");
        let c = resolve("s3://bkt", &S3Options::default(), &[], CREDS, "").unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("defaultsecret"), "{shown}");
    }
}
