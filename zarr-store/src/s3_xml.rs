//! The XML bodies of S3: a ListObjectsV2 page and an error document.

use quick_xml::events::Event;
use quick_xml::Reader;

/// One page of a ListObjectsV2 answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListPage {
    /// Full keys of the objects on this page.
    pub(crate) keys: Vec<String>,
    /// The common prefixes (sub-"directories") on this page, with their delimiter.
    pub(crate) prefixes: Vec<String>,
    /// Where the next page starts, when the listing is truncated.
    pub(crate) next_token: Option<String>,
}

/// The fields of an S3 `<Error>` document that decide what to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ErrorBody {
    /// E.g. `NoSuchKey`, `AccessDenied`, `AuthorizationHeaderMalformed`.
    pub(crate) code: String,
    /// The server's explanation.
    pub(crate) message: String,
    /// The bucket's region, when the server says which it expected.
    pub(crate) region: Option<String>,
}

/// Text content of each element, with the path of element names leading to it.
fn texts(xml: &[u8]) -> Result<Vec<(Vec<String>, String)>, String> {
    let mut reader = Reader::from_reader(xml);
    let mut path: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => path.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned()),
            Ok(Event::End(_)) => {
                path.pop();
            }
            Ok(Event::Text(t)) => {
                let text = t.unescape().map_err(|e| e.to_string())?.into_owned();
                if !text.trim().is_empty() {
                    out.push((path.clone(), text));
                }
            }
            Ok(Event::Eof) => return Ok(out),
            Ok(_) => {}
            Err(e) => return Err(format!("malformed XML at byte {}: {e}", reader.buffer_position())),
        }
        buf.clear();
    }
}

/// Parses a ListObjectsV2 result.
pub(crate) fn parse_list(xml: &[u8]) -> Result<ListPage, String> {
    let mut page = ListPage::default();
    let mut truncated = false;
    for (path, text) in texts(xml)? {
        let names: Vec<&str> = path.iter().map(String::as_str).collect();
        match names.as_slice() {
            ["ListBucketResult", "Contents", "Key"] => page.keys.push(text),
            ["ListBucketResult", "CommonPrefixes", "Prefix"] => page.prefixes.push(text),
            ["ListBucketResult", "IsTruncated"] => truncated = text.trim() == "true",
            ["ListBucketResult", "NextContinuationToken"] => page.next_token = Some(text),
            _ => {}
        }
    }
    if truncated && page.next_token.is_none() {
        return Err("a truncated listing without a NextContinuationToken".into());
    }
    if !truncated {
        page.next_token = None;
    }
    Ok(page)
}

/// Parses an `<Error>` document; `None` when the body is not one.
pub(crate) fn parse_error(xml: &[u8]) -> Option<ErrorBody> {
    let mut body = ErrorBody::default();
    for (path, text) in texts(xml).ok()? {
        match path.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["Error", "Code"] => body.code = text,
            ["Error", "Message"] => body.message = text,
            ["Error", "Region"] => body.region = Some(text),
            _ => {}
        }
    }
    (!body.code.is_empty()).then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_page_with_keys_prefixes_and_a_token() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>data/</Prefix><KeyCount>3</KeyCount><MaxKeys>2</MaxKeys>
  <Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>
  <Contents><Key>data/zarr.json</Key><Size>10</Size><ETag>&quot;abc&quot;</ETag></Contents>
  <Contents><Key>data/a&amp;b</Key><Size>1</Size></Contents>
  <CommonPrefixes><Prefix>data/c/</Prefix></CommonPrefixes>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>"#;
        let page = parse_list(xml).unwrap();
        assert_eq!(page.keys, ["data/zarr.json", "data/a&b"]);
        assert_eq!(page.prefixes, ["data/c/"]);
        assert_eq!(page.next_token.as_deref(), Some("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="));

        let last = br#"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key></Contents></ListBucketResult>"#;
        assert_eq!(parse_list(last).unwrap(), ListPage { keys: vec!["k".into()], ..ListPage::default() });
        assert!(parse_list(b"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>").is_err());
        assert!(parse_list(b"<ListBucketResult><Contents><Key>k</Contents>").is_err());
    }

    #[test]
    fn error_documents() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region 'us-east-1' is wrong; expecting 'eu-west-1'</Message>
<Region>eu-west-1</Region><RequestId>X</RequestId></Error>"#;
        let e = parse_error(xml).unwrap();
        assert_eq!((e.code.as_str(), e.region.as_deref()), ("AuthorizationHeaderMalformed", Some("eu-west-1")));
        assert_eq!(parse_error(b"<html>nope</html>"), None);
        assert_eq!(parse_error(b"not xml <"), None);
    }
}
