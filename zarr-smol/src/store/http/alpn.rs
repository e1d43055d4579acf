//! Learning which protocol a TLS server speaks before its first answer.
//!
//! libcurl learns it in the handshake, but isahc does not tell, so without help a
//! store would know only when the first response arrives: one server round trip
//! during which the other requests either wait (HTTP/1.1) or would each open a
//! connection (h2). A handshake-only connection, made on a blocking thread next to
//! the first request, learns the ALPN choice in the time of a TLS handshake; it
//! sends no request and is closed at once.
//!
//! The answer is only a hint: any failure (proxy configured, name not resolving,
//! handshake refused) gives `None` and the store waits for its first answer instead.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use openssl::ssl::{Ssl, SslContext, SslMethod, SslVerifyMode};

/// What ALPN chose on a probe connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Alpn {
    /// The server picked `h2`.
    H2,
    /// The server picked `http/1.1` or nothing (which also means HTTP/1.1).
    Http1,
}

/// The host and port of an `https://` URL, or `None` for anything else.
pub(super) fn https_authority(url: &str) -> Option<(String, u16)> {
    let uri: isahc::http::Uri = url.parse().ok()?;
    if uri.scheme_str() != Some("https") {
        return None;
    }
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']').to_owned();
    Some((host, uri.port_u16().unwrap_or(443)))
}

/// Whether a proxy may stand between us and the server (then the probe would ask the
/// wrong party, so it is not made).
pub(super) fn proxy_configured() -> bool {
    ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

/// Connects to `host:port`, runs a TLS handshake offering `h2` and `http/1.1`, and
/// reports the server's choice. Blocking; every step is bounded by `timeout`.
///
/// The certificate is not checked: nothing is sent on this connection, and the
/// connection that carries requests is verified by libcurl as configured.
pub(super) fn probe(host: &str, port: u16, timeout: Duration) -> io::Result<Alpn> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address for host");
    let mut tcp = None;
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => {
                tcp = Some(stream);
                break;
            }
            Err(e) => last = e,
        }
    }
    let tcp = tcp.ok_or(last)?;
    tcp.set_read_timeout(Some(timeout))?;
    tcp.set_write_timeout(Some(timeout))?;
    tcp.set_nodelay(true)?;
    // A bare context: SslConnector would load the system CA store, which costs more
    // than the handshake and is not needed here.
    let mut ctx = SslContext::builder(SslMethod::tls_client()).map_err(io::Error::other)?;
    ctx.set_verify(SslVerifyMode::NONE);
    ctx.set_alpn_protos(b"\x02h2\x08http/1.1").map_err(io::Error::other)?;
    let mut ssl = Ssl::new(&ctx.build()).map_err(io::Error::other)?;
    if host.parse::<std::net::IpAddr>().is_err() {
        // SNI: servers hosting several names pick their certificate and ALPN by it.
        ssl.set_hostname(host).map_err(io::Error::other)?;
    }
    let mut tls = ssl.connect(tcp).map_err(io::Error::other)?;
    let alpn = match tls.ssl().selected_alpn_protocol() {
        Some(b"h2") => Alpn::H2,
        _ => Alpn::Http1,
    };
    // Best effort: the server may already be gone, which changes nothing.
    let _ = tls.shutdown();
    Ok(alpn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_of_https_urls_only() {
        assert_eq!(https_authority("https://example.org/a/b"), Some(("example.org".into(), 443)));
        assert_eq!(https_authority("https://127.0.0.1:8443/x"), Some(("127.0.0.1".into(), 8443)));
        assert_eq!(https_authority("https://[::1]:9000/"), Some(("::1".into(), 9000)));
        assert_eq!(https_authority("http://example.org/"), None);
        assert_eq!(https_authority("not a url"), None);
    }

    /// A one-connection TLS server (self-signed, openssl) whose ALPN callback picks
    /// `choice` (ALPN wire format: length-prefixed) when the client offers it, or
    /// nothing for `None`; returns its port.
    fn tls_server(choice: Option<&'static [u8]>) -> u16 {
        use openssl::asn1::Asn1Time;
        use openssl::hash::MessageDigest;
        use openssl::pkey::PKey;
        use openssl::rsa::Rsa;
        use openssl::ssl::{select_next_proto, AlpnError, SslAcceptor};
        use openssl::x509::{X509NameBuilder, X509};

        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "127.0.0.1").unwrap();
        let name = name.build();
        let mut cert = X509::builder().unwrap();
        cert.set_version(2).unwrap();
        cert.set_subject_name(&name).unwrap();
        cert.set_issuer_name(&name).unwrap();
        cert.set_pubkey(&key).unwrap();
        cert.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
        cert.set_not_after(&Asn1Time::days_from_now(1).unwrap()).unwrap();
        cert.sign(&key, MessageDigest::sha256()).unwrap();
        let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
        acceptor.set_private_key(&key).unwrap();
        acceptor.set_certificate(&cert.build()).unwrap();
        acceptor.set_alpn_select_callback(move |_, offered| match choice {
            Some(wire) => select_next_proto(wire, offered).ok_or(AlpnError::NOACK),
            None => Err(AlpnError::NOACK),
        });
        let acceptor = acceptor.build();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((stream, _)) = listener.accept() {
                // The probe closes after the handshake; whatever happens next is fine.
                let _ = acceptor.accept(stream).map(|mut tls| tls.shutdown());
            }
        });
        port
    }

    #[test]
    fn probe_reports_what_the_server_chose() {
        let t = Duration::from_secs(5);
        assert_eq!(probe("127.0.0.1", tls_server(Some(b"\x02h2")), t).unwrap(), Alpn::H2);
        assert_eq!(probe("127.0.0.1", tls_server(Some(b"\x08http/1.1")), t).unwrap(), Alpn::Http1);
        // No ALPN answer at all means HTTP/1.1.
        assert_eq!(probe("127.0.0.1", tls_server(None), t).unwrap(), Alpn::Http1);
    }

    #[test]
    fn probe_of_a_closed_port_is_an_error_not_a_hang() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        assert!(probe("127.0.0.1", port, Duration::from_secs(2)).is_err());
    }

    #[test]
    fn probe_of_a_server_that_never_answers_times_out() {
        // Accepts the connection but never speaks TLS.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let started = std::time::Instant::now();
        assert!(probe("127.0.0.1", port, Duration::from_millis(300)).is_err());
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(listener);
    }
}
