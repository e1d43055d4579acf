//! A request signed for the wrong region is signed again for the region the server
//! names, as AWS answers it: 400 `AuthorizationHeaderMalformed` with `<Region>` in the
//! error document, or 301 with `x-amz-bucket-region`. The server here is a few lines
//! over a loopback socket that only knows which region a signature is for (s3s-fs
//! accepts any region).

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use zarr_store::{HttpConfig, S3Config, S3Options, S3Store, Store};

/// Answers every request on 127.0.0.1: 200 `hello` when signed for `eu-west-1`, else
/// `wrong` (status and extra header / body). Records each request's region.
fn server(wrong: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                loop {
                    let mut region = String::new();
                    let mut line = String::new();
                    let mut first = true;
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if first {
                            first = false;
                            continue;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("authorization:") {
                            region = v.split('/').nth(2).unwrap_or_default().to_owned();
                        }
                    }
                    log.lock().unwrap().push(region.clone());
                    let reply = if region == "eu-west-1" {
                        "HTTP/1.1 200 OK\r\ncontent-length: 5\r\netag: \"1\"\r\n\r\nhello".to_owned()
                    } else if wrong == "400" {
                        let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AuthorizationHeaderMalformed</Code>\
                                    <Message>the region 'us-east-1' is wrong; expecting 'eu-west-1'</Message>\
                                    <Region>eu-west-1</Region></Error>";
                        format!("HTTP/1.1 400 Bad Request\r\ncontent-length: {}\r\n\r\n{body}", body.len())
                    } else {
                        "HTTP/1.1 301 Moved Permanently\r\nx-amz-bucket-region: eu-west-1\r\ncontent-length: 0\r\n\r\n"
                            .to_owned()
                    };
                    if stream.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, seen)
}

#[test]
fn a_wrong_region_is_corrected_from_the_servers_answer() {
    for wrong in ["400", "301"] {
        let (endpoint, seen) = server(wrong);
        let options = S3Options { endpoint: Some(endpoint), region: Some("us-east-1".into()), ..S3Options::default() };
        let env = |name: &str| match name {
            "AWS_ACCESS_KEY_ID" => Some("AK".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("secret".to_owned()),
            _ => None,
        };
        let config = S3Config::resolve("s3://bucket/p", &options, &env, "", "").unwrap();
        let store = S3Store::new(config, HttpConfig::default()).unwrap();
        let got = store.get_blocking("zarr.json", None).unwrap();
        assert_eq!(got.as_deref(), Some(&b"hello"[..]), "{wrong}");
        assert_eq!(store.region(), "eu-west-1", "{wrong}");
        let regions = seen.lock().unwrap().clone();
        assert_eq!(regions.first().map(String::as_str), Some("us-east-1"), "{wrong}: {regions:?}");
        assert_eq!(regions.last().map(String::as_str), Some("eu-west-1"), "{wrong}: {regions:?}");
        // Later requests are signed for the right region at once.
        let before = seen.lock().unwrap().len();
        store.get_blocking("zarr.json", None).unwrap();
        assert_eq!(seen.lock().unwrap()[before..], ["eu-west-1".to_owned()], "{wrong}");
    }
}
