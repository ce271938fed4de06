//! A source that uses TLS shows its certificate's expiry: the gauge
//! `sonde_source_tls_cert_expiry_timestamp_seconds` in `/metrics`, and the
//! days left beside it on the status page; a source without TLS has neither.

use axum::http::StatusCode;
use prometheus_parse::Scrape;
use sonde::model::CheckStatus;
use sonde_test_support::certs::{Leaf, TestCa};
use sonde_test_support::redis::RedisServer;

use crate::api::{ADMIN, Api};
use crate::metrics::value;
use crate::status_page::{get_root, send, sign_in};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_cert_expiry_in_metrics_and_on_the_status_page() {
    let dir = sonde_test_support::spawned::Spawned::temp_dir("expiry-certs");
    let ca = TestCa::new(&dir);
    let pair = ca.server(Leaf::Good, "server");
    let Some(redis) = RedisServer::with_tls(&pair, &ca.ca_file(), false) else { return };
    // A JSON string is a TOML basic string: the PEM's newlines as `\n`.
    let pem = serde_json::to_string(&ca.pem()).expect("json");
    let extra = format!(
        "[[sources]]\nname = \"cache-tls\"\norganization = \"org_acme\"\ntype = \"redis\"\n\
         config = {{ host = \"127.0.0.1\", port = {}, tls = {{ mode = \"verify-full\", ca = {pem} }} }}\n\
         interval = \"1h\"\nretries = 0\n",
        redis.port
    );
    let api = Api::start_with(&extra).await;
    let check = api.checked("cache-tls").await;
    assert_eq!(check.status, CheckStatus::Ok, "{check:?}");
    api.checked("healthy").await;

    let (status, _, text) = crate::metrics::get_text_as(&api, "/metrics", Some(ADMIN)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text");
    let name = "sonde_source_tls_cert_expiry_timestamp_seconds";
    let labels = |source| [("source", source), ("organization", "org_acme"), ("type", "redis")];
    let expected = chrono::DateTime::parse_from_rfc3339(&pair.not_after).expect("rfc3339").timestamp();
    assert_eq!(value(&scrape, name, &labels("cache-tls")), Some(expected as f64), "{text}");
    assert!(!scrape.samples.iter().any(|s| s.metric == name && s.labels.get("source") == Some("healthy")));

    let cookie = sign_in(&api, ADMIN).await;
    let (status, _, body) = send(&api, get_root(Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    // A year less the seconds since the certificate was made.
    assert!(body.contains("TLS: 364 days left") && body.contains(r#"data-tls-days="364""#), "{body}");
    assert_eq!(body.matches("days left").count(), 1, "only the TLS source: {body}");
}
