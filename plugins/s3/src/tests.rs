//! Native unit tests of the s3 probe: its schema's auth markers, the
//! configs it refuses, and whole checks against a scripted loopback server
//! that answers as the S3 API reference documents (`serve_http`; signing
//! is the host's and is covered by the e2e tests against SeaweedFS).

use serde_json::{Value, json};
use sonde_sdk::testing::{self, http_answer, serve_http};
use sonde_sdk::{CheckError, clock};

use super::{S3, parse_remote_url};

fn listing(objects: &[&str]) -> String {
    let contents: String = objects
        .iter()
        .enumerate()
        .map(|(i, at)| {
            format!("<Contents><Key>docs/{i}</Key><LastModified>{at}</LastModified><Size>1</Size></Contents>")
        })
        .collect();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
         <Name>bucket</Name><Prefix>docs/</Prefix><KeyCount>{}</KeyCount><MaxKeys>1000</MaxKeys>\
         <IsTruncated>false</IsTruncated>{contents}</ListBucketResult>",
        objects.len()
    );
    http_answer(200, &[("Content-Type", "application/xml")], &body)
}

fn invalid(config: Value) -> String {
    match testing::check::<S3>(config) {
        Err(CheckError::InvalidConfig(m)) => m,
        other => panic!("not invalid: {other:?}"),
    }
}

#[test]
fn the_schema_maps_unstructured_keys_to_sigv4_at_the_endpoint() {
    let s = testing::config_schema::<S3>();
    assert_eq!(
        s["x-sonde-auth"],
        json!({"kind": "aws_sigv4", "access_key_id": "/key", "secret_access_key": "/secret",
               "session_token": "/token", "region": "/region", "service": "s3"})
    );
    let endpoint = &s["properties"]["endpoint_url"];
    assert_eq!(
        (endpoint["x-sonde-auth-target"].clone(), endpoint["default"].clone()),
        (json!(true), json!("https://s3.amazonaws.com"))
    );
    assert_eq!(s["properties"]["auth"]["x-sonde-auth"], true);
    for secret in ["secret", "token"] {
        assert_eq!(s["properties"][secret]["writeOnly"], true, "{secret}");
    }
    for key in
        ["remote_url", "key", "anonymous", "recursive", "region", "path_style", "expect", "scan", "tls"]
    {
        assert!(s["properties"][key].is_object(), "{key}");
    }
}

#[test]
fn remote_urls() {
    assert_eq!(parse_remote_url("s3://bucket/docs/"), Ok(("bucket".into(), "docs/".into())));
    assert_eq!(parse_remote_url("s3://bucket"), Ok(("bucket".into(), String::new())));
    for bad in ["bucket/x", "s3:///x", "gs://b/", "s3://b?x/"] {
        assert!(parse_remote_url(bad).is_err(), "{bad}");
    }
}

#[test]
fn configs_it_refuses() {
    let m = invalid(json!({"remote_url": "s3://b/", "key": "AKID", "auth": {"kind": "aws_sigv4"}}));
    assert!(m.contains("not both"), "{m}");
    let m = invalid(json!({"remote_url": "s3://b/", "anonymous": true, "key": "AKID"}));
    assert!(m.contains("anonymous"), "{m}");
    let m = invalid(json!({"remote_url": "s3://b/", "expect": {"json": {"/a": 1}}}));
    assert!(m.contains("expect.json"), "{m}");
    assert!(invalid(json!({"remote_url": "b"})).contains("s3://"));
}

#[test]
fn a_listable_bucket_is_healthy_with_one_key_asked() {
    let (url, seen) = serve_http(vec![listing(&["2009-10-12T17:50:30.000Z"])]);
    let r = testing::check::<S3>(json!({"remote_url": "s3://bucket/docs and more/", "endpoint_url": url}))
        .expect("healthy");
    assert_eq!(r.items, Some(1));
    assert_eq!(r.details, json!({"bucket": "bucket", "prefix": "docs and more/", "key_count": 1}));
    let head = seen.recv().expect("a request");
    assert!(
        head.starts_with("GET /bucket?list-type=2&max-keys=1&prefix=docs%20and%20more%2F HTTP/1.1"),
        "{head}"
    );
}

#[test]
fn expect_lists_up_to_scan_and_checks_rows_and_age() {
    let fresh = clock::format_rfc3339(clock::now_unix());
    let answers =
        vec![listing(&["2009-10-12T17:50:30.000Z", &fresh]), listing(&["2009-10-12T17:50:30.000Z"])];
    let (url, seen) = serve_http(answers);
    let config = |expect: Value| json!({"remote_url": "s3://bucket/docs/", "endpoint_url": url, "scan": 10, "recursive": false, "expect": expect});
    let r = testing::check::<S3>(config(json!({"rows": {"min": 2}, "max_age": "1h"}))).expect("healthy");
    assert_eq!((r.details["newest"].clone(), r.items), (json!(fresh), Some(2)));
    assert!(seen.recv().expect("a request").contains("max-keys=10&prefix=docs%2F&delimiter=%2F"));
    match testing::check::<S3>(config(json!({"max_age": "1d"}))) {
        Err(CheckError::Unhealthy(p)) => {
            assert_eq!(p.message, "assertion failed");
            assert_eq!(p.members().and_then(|m| m.get("expected").cloned()), Some(json!("1d")));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_missing_bucket() {
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchBucket</Code>\
                <Message>The specified bucket does not exist</Message><BucketName>gone</BucketName></Error>";
    let (url, _) = serve_http(vec![http_answer(404, &[("Content-Type", "application/xml")], body)]);
    match testing::check::<S3>(json!({"remote_url": "s3://gone/", "endpoint_url": url})) {
        Err(CheckError::Unhealthy(p)) => assert_eq!(
            (p.message.as_str(), p.stage().as_deref()),
            ("bucket does not exist", Some("resource"))
        ),
        other => panic!("{other:?}"),
    }
}
