//! S3's "try again" answers are retried with backoff, not reported: 503 `SlowDown`
//! and 500 `InternalError` on GET and on ListObjectsV2 pages, then the real answer.
//! The server is a few lines over a loopback socket: s3s-fs never answers those.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use zarr_store::{HttpConfig, S3Config, S3Options, S3Store, Store};

const LIST: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>bucket</Name>\
                    <Prefix>p/</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys>\
                    <IsTruncated>false</IsTruncated><Contents><Key>p/a/zarr.json</Key><Size>2</Size>\
                    </Contents></ListBucketResult>";

/// Answers each request target's first request 503 `SlowDown`, its second 500
/// `InternalError`, later ones 200 (a listing for ListObjectsV2, else `hello`).
/// Records every request target.
fn server() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                loop {
                    let mut target = String::new();
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if target.is_empty() {
                            target = line.split(' ').nth(1).unwrap_or_default().to_owned();
                            continue;
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let attempt = {
                        let mut log = log.lock().unwrap();
                        log.push(target.clone());
                        log.iter().filter(|t| **t == target).count()
                    };
                    let error = |status: &str, code: &str| {
                        let body =
                            format!("<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>m</Message></Error>");
                        format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n\r\n{body}", body.len())
                    };
                    let reply = match attempt {
                        1 => error("503 Slow Down", "SlowDown"),
                        2 => error("500 Internal Server Error", "InternalError"),
                        _ if target.contains("list-type=2") => {
                            format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{LIST}", LIST.len())
                        }
                        _ => "HTTP/1.1 200 OK\r\ncontent-length: 5\r\netag: \"1\"\r\n\r\nhello".to_owned(),
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
fn slow_down_and_internal_errors_are_retried() {
    let (endpoint, seen) = server();
    let options = S3Options { endpoint: Some(endpoint), region: Some("us-east-1".into()), ..S3Options::default() };
    let env = |name: &str| match name {
        "AWS_ACCESS_KEY_ID" => Some("AK".to_owned()),
        "AWS_SECRET_ACCESS_KEY" => Some("secret".to_owned()),
        _ => None,
    };
    let config = S3Config::resolve("s3://bucket/p", &options, &env, "", "").unwrap();
    let store = S3Store::new(config, HttpConfig::default()).unwrap();

    let got = store.get_blocking("a/zarr.json", None).unwrap();
    assert_eq!(got.as_deref(), Some(&b"hello"[..]));
    assert_eq!(seen.lock().unwrap().as_slice(), ["/bucket/p/a/zarr.json"; 3]);

    let keys = futures_lite::future::block_on(store.list("")).unwrap();
    assert_eq!(keys, ["a/zarr.json"]);
    let lists = seen.lock().unwrap().iter().filter(|t| t.contains("list-type=2")).count();
    assert_eq!(lists, 3, "{:?}", seen.lock().unwrap());
}
