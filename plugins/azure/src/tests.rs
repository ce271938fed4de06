//! Native unit tests of the azure probe: its schema's auth markers and
//! target template, the configs it refuses, and whole checks against a
//! scripted loopback server that answers as the Blob service REST reference
//! documents (`serve_http`; SharedKey signing is the host's and is covered
//! by the e2e tests against Azurite).

use serde_json::{Value, json};
use sonde_sdk::testing::{self, http_answer, serve_http};
use sonde_sdk::{CheckError, clock};

use super::{Azure, parse_remote_url};

fn listing(dates: &[String]) -> String {
    let blobs: String = dates
        .iter()
        .enumerate()
        .map(|(i, at)| {
            format!(
                "<Blob><Name>in/{i}</Name><Properties><Last-Modified>{at}</Last-Modified></Properties></Blob>"
            )
        })
        .collect();
    let body = format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ContainerName=\"docs\">\
         <Prefix>in/</Prefix><Blobs>{blobs}</Blobs><NextMarker /></EnumerationResults>"
    );
    http_answer(200, &[("Content-Type", "application/xml"), ("x-ms-version", "2020-10-02")], &body)
}

fn invalid(config: Value) -> String {
    match testing::check::<Azure>(config) {
        Err(CheckError::InvalidConfig(m)) => m,
        other => panic!("not invalid: {other:?}"),
    }
}

#[test]
fn the_schema_maps_key_and_sas_and_names_the_target_both_ways() {
    let s = testing::config_schema::<Azure>();
    assert_eq!(
        s["x-sonde-auth"],
        json!([
            {"kind": "azure_shared_key", "account": "/account_name", "key": "/account_key"},
            {"kind": "azure_shared_key", "account": "/account_name", "connection_string": "/connection_string"},
            {"kind": "query", "value": "/sas_token"}
        ])
    );
    assert_eq!(s["x-sonde-auth-target"], "https://{/account_name}.blob.core.windows.net");
    assert_eq!(s["properties"]["endpoint_url"]["x-sonde-auth-target"], true);
    assert_eq!(s["properties"]["auth"]["x-sonde-auth"], true);
    for secret in ["account_key", "sas_token", "connection_string"] {
        assert_eq!(s["properties"][secret]["writeOnly"], true, "{secret}");
    }
}

#[test]
fn remote_urls() {
    assert_eq!(parse_remote_url("az://docs/in/"), Ok(("docs".into(), "in/".into())));
    assert_eq!(parse_remote_url("abfs://docs@acct.dfs.core.windows.net/x"), Ok(("docs".into(), "x".into())));
    for bad in ["docs/x", "az://D/", "az://ab", "s3://docs/"] {
        assert!(parse_remote_url(bad).is_err(), "{bad}");
    }
}

#[test]
fn configs_it_refuses() {
    assert!(invalid(json!({"remote_url": "az://docs/"})).contains("account_name"));
    // A connection string alone names no target: the host keeps the string.
    let m = invalid(
        json!({"remote_url": "az://docs/", "connection_string": "DefaultEndpointsProtocol=https;AccountName=a"}),
    );
    assert!(m.contains("account_name") && !m.contains("AccountName=a"), "{m}");
    let m = invalid(json!({"remote_url": "az://docs/", "account_name": "a", "expect": {"equals": 1}}));
    assert!(m.contains("expect.equals"), "{m}");
    assert_eq!(
        testing::endpoints::<Azure>(json!({"remote_url": "az://docs/", "account_name": "acct"})),
        Ok(vec![sonde_sdk::Endpoint::new("acct.blob.core.windows.net", 443)])
    );
}

#[test]
fn a_listable_container_at_an_azurite_style_endpoint() {
    let (url, seen) = serve_http(vec![listing(&["Mon, 12 Oct 2009 17:50:30 GMT".into()])]);
    let config = json!({"remote_url": "az://docs/in/", "account_name": "devstoreaccount1",
                        "endpoint_url": format!("{url}/devstoreaccount1")});
    let r = testing::check::<Azure>(config).expect("healthy");
    assert_eq!(
        (r.items, r.details.clone()),
        (Some(1), json!({"container": "docs", "prefix": "in/", "blob_count": 1}))
    );
    let head = seen.recv().expect("a request");
    assert!(
        head.starts_with(
            "GET /devstoreaccount1/docs?restype=container&comp=list&maxresults=1&prefix=in%2F HTTP/1.1"
        ),
        "{head}"
    );
    assert!(head.to_ascii_lowercase().contains("x-ms-version: 2020-10-02"), "{head}");
}

#[test]
fn expect_rows_and_age() {
    let fresh = clock::format_rfc3339(clock::now_unix());
    let old = "Mon, 12 Oct 2009 17:50:30 GMT".to_string();
    let (url, _) = serve_http(vec![listing(&[old.clone(), fresh.clone()]), listing(&[old])]);
    let config = |expect: Value| json!({"remote_url": "az://docs/", "account_name": "a", "endpoint_url": url, "expect": expect});
    let r = testing::check::<Azure>(config(json!({"rows": 2, "max_age": "1h"}))).expect("healthy");
    assert_eq!(r.details["newest"], json!(fresh));
    match testing::check::<Azure>(config(json!({"rows": {"min": 2}}))) {
        Err(CheckError::Unhealthy(p)) => {
            assert_eq!((p.message.as_str(), p.stage().as_deref()), ("assertion failed", Some("assertion")))
        }
        other => panic!("{other:?}"),
    }
}
