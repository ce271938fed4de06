//! Request limits: an oversized body is a JSON 413, and configs are capped
//! in depth and size with a 422 at the field, on every route that takes one.

use axum::body::Body;
use axum::http::StatusCode;
use serde_json::{Value, json};
use sonde::server::MAX_BODY;
use sonde::server::limits::{MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH};

use super::{ACME, Api, assert_422, keys};

const TEST: &str = "/v1/organizations/org_acme/knowledge/connectors/sources/test";

/// A hostile config of `levels` nested objects.
fn nested(levels: usize) -> Value {
    let mut config = (1..levels).fold(json!({}), |inner, _| json!({ "a": inner }));
    config["mode"] = json!("ok");
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_a_json_413() {
    let api = Api::start().await;
    let padding = "x".repeat(MAX_BODY + 1);
    let body = json!({"source_definition_id": "hostile", "configuration": {"mode": "ok", "pad": padding}});
    for uri in [TEST, "/api/v1/sources"] {
        let (status, reply) = api.call("POST", uri, Some(ACME), Some(Body::from(body.to_string()))).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{uri}: {reply}");
        assert_eq!(keys(&reply), ["detail"]);
        assert!(reply["detail"].as_str().is_some_and(|d| d.contains("too large")), "{reply}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configs_are_capped_in_depth_and_size() {
    let api = Api::start().await;
    let deep = nested(MAX_CONFIG_DEPTH + 1);
    let big = json!({"mode": "ok", "pad": "x".repeat(MAX_CONFIG_BYTES)});
    for config in [&deep, &big] {
        let inline = json!({"source_definition_id": "hostile", "configuration": config});
        let (status, reply) = api.post(TEST, Some(ACME), &inline).await;
        assert_422(status, &reply, json!(["body", "configuration"]), "value_error");

        let source = json!({"name": "capped", "type": "hostile", "config": config});
        let (status, reply) = api.post("/api/v1/sources", Some(ACME), &source).await;
        assert_422(status, &reply, json!(["body", "config"]), "value_error");
        let id = api.source("healthy").await.id;
        let uri = format!("/api/v1/sources/{id}");
        let (status, reply) = api.call("PUT", &uri, Some(ACME), Some(Body::from(source.to_string()))).await;
        assert_422(status, &reply, json!(["body", "config"]), "value_error");
    }
    // At the cap, a config is like any other.
    let inline = json!({"source_definition_id": "hostile", "configuration": nested(MAX_CONFIG_DEPTH)});
    let (status, reply) = api.post(TEST, Some(ACME), &inline).await;
    assert_eq!((status, reply), (StatusCode::OK, json!({"status": "succeeded", "job_info": null})));
}
