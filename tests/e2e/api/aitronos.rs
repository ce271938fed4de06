//! Aitronos: `POST …/knowledge/connectors/sources/test` and the connector
//! health routes.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use super::{ACME, ADMIN, Api, OTHER, SECRET, assert_422, assert_refused, eventually, keys};

const TEST: &str = "/v1/organizations/org_acme/knowledge/connectors/sources/test";

fn failed(message: &str) -> Value {
    json!({"status": "failed", "job_info": {"message": message}})
}

fn succeeded() -> Value {
    json!({"status": "succeeded", "job_info": null})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_tests_succeed_and_fail_as_the_seed_spells_them() {
    let api = Api::start().await;
    let inline = |kind: &str, configuration: Value| json!({"source_definition_id": kind, "configuration": configuration});

    // The seed's own request style: a Bearer token.
    let req = Request::post(TEST)
        .header("authorization", format!("Bearer {ACME}"))
        .header("content-type", "application/json")
        .body(Body::from(inline("hostile", json!({"mode": "ok"})).to_string()))
        .expect("request");
    let (status, body) = api.send(req).await;
    assert_eq!((status, &body), (StatusCode::OK, &succeeded()));
    assert_eq!(keys(&body), ["job_info", "status"]);

    let port = sonde_test_support::closed_port();
    let mut with_context = inline("tcp", json!({"host": "127.0.0.1", "port": port}));
    with_context["name"] = json!("new source");
    with_context["workspace_id"] = json!("ws_123");
    let (status, body) = api.post(TEST, Some(ACME), &with_context).await;
    assert_eq!((status, body), (StatusCode::OK, failed("connection refused")));

    let (status, body) = api.post(TEST, Some(ACME), &inline("hostile", json!({"mode": "invalid"}))).await;
    assert_eq!((status, body), (StatusCode::OK, failed("port 0 can never work")));

    let (status, body) = api.post(TEST, Some(ADMIN), &inline("hostile", json!({"mode": "panic"}))).await;
    assert_eq!((status, body), (StatusCode::OK, failed("probe crashed")));

    // The probe puts the password in its message: the answer must not.
    let leak = inline("hostile", json!({"mode": "leak", "password": SECRET}));
    let (status, body) = api.post(TEST, Some(ACME), &leak).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("failed")), "{body}");
    assert!(!body.to_string().contains(SECRET), "the secret leaked: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_sources_are_tested_within_their_organization() {
    let api = Api::start().await;
    let id = |s: &sonde::model::Source| json!({"source_id": s.id.to_string()});
    let (healthy, refused, elsewhere) =
        (api.source("healthy").await, api.source("refused").await, api.source("elsewhere").await);

    let (status, body) = api.post(TEST, Some(ACME), &id(&healthy)).await;
    assert_eq!((status, body), (StatusCode::OK, succeeded()));
    let (status, body) = api.post(TEST, Some(ADMIN), &id(&refused)).await;
    assert_eq!((status, body), (StatusCode::OK, failed("connection refused")));
    let (status, body) = api.post(TEST, Some(ACME), &id(&api.source("leaky").await)).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("failed")), "{body}");
    assert!(!body.to_string().contains(SECRET), "the secret leaked: {body}");

    // Another organization's source is missing, for its key and under
    // another organization's path, even for an admin.
    let (status, body) = api.post(TEST, Some(ACME), &id(&elsewhere)).await;
    assert_refused(status, &body, StatusCode::NOT_FOUND);
    let (status, body) = api.post(TEST, Some(ADMIN), &id(&elsewhere)).await;
    assert_refused(status, &body, StatusCode::NOT_FOUND);
    let other_path = TEST.replace("org_acme", "org_other");
    let (status, body) = api.post(&other_path, Some(ADMIN), &id(&elsewhere)).await;
    assert_eq!((status, body), (StatusCode::OK, succeeded()));
    for missing in ["src_abc123", "7d1c5ad4-9a7e-4b0e-8a53-7b0f0c1d2e3f"] {
        let (status, body) = api.post(TEST, Some(ACME), &json!({"source_id": missing})).await;
        assert_refused(status, &body, StatusCode::NOT_FOUND);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_route_needs_a_key_of_the_organization() {
    let api = Api::start().await;
    let body = json!({"source_definition_id": "hostile", "configuration": {"mode": "ok"}});
    let (status, reply) = api.post(TEST, None, &body).await;
    assert_refused(status, &reply, StatusCode::UNAUTHORIZED);
    assert_eq!(reply["detail"], "Not authenticated");
    let (status, reply) = api.post(TEST, Some("not-a-key"), &body).await;
    assert_refused(status, &reply, StatusCode::UNAUTHORIZED);
    let (status, reply) = api.post(TEST, Some(OTHER), &body).await;
    assert_refused(status, &reply, StatusCode::NOT_FOUND);
    let bad_org = TEST.replace("org_acme", "acme");
    let (status, reply) = api.post(&bad_org, Some(ADMIN), &body).await;
    assert_422(status, &reply, json!(["path", "organization_id"]), "value_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_test_bodies_are_422s_at_the_field() {
    let api = Api::start().await;
    let post = |body: Value| {
        let api = &api;
        async move { api.post(TEST, Some(ACME), &body).await }
    };
    let (s, b) = post(json!({"name": "x"})).await;
    assert_422(s, &b, json!(["body"]), "missing");
    let (s, b) = post(json!({"source_id": "x", "source_definition_id": "tcp", "configuration": {}})).await;
    assert_422(s, &b, json!(["body"]), "value_error");
    let (s, b) = post(json!({"source_definition_id": "nope", "configuration": {}})).await;
    assert_422(s, &b, json!(["body", "source_definition_id"]), "value_error");
    let (s, b) = post(json!({"source_definition_id": "tcp"})).await;
    assert_422(s, &b, json!(["body", "configuration"]), "missing");
    let (s, b) = post(json!({"source_definition_id": "tcp", "configuration": [1]})).await;
    assert_422(s, &b, json!(["body", "configuration"]), "dict_type");
    let (s, b) =
        post(json!({"source_definition_id": "tcp", "configuration": {"host": "h", "port": "x"}})).await;
    assert_422(s, &b, json!(["body", "configuration", "port"]), "value_error");
    let (s, b) = post(json!({"source_id": "x", "configuration": {"mode": "ok"}})).await;
    assert_422(s, &b, json!(["body", "configuration"]), "value_error");
    let (s, b) = post(json!({"source_definition_id": "tcp", "configuration": {}, "colour": "red"})).await;
    assert_422(s, &b, json!(["body", "colour"]), "extra_forbidden");
    // A secret of the wrong type is refused without being echoed.
    let wrong =
        json!({"source_definition_id": "hostile", "configuration": {"mode": "ok", "password": [SECRET]}});
    let (s, b) = post(wrong).await;
    assert_422(s, &b, json!(["body", "configuration", "password"]), "value_error");
    assert!(!b.to_string().contains(SECRET), "the secret leaked: {b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_health_is_public_and_scoped() {
    let api = Api::start().await;
    let ok = json!({"status": "ok", "available": true});
    for key in [None, Some("not-a-key")] {
        let (status, body) = api.get("/v1/knowledge/connectors/health", key).await;
        assert_eq!((status, body), (StatusCode::OK, ok.clone()));
    }
    let scoped = "/v1/organizations/org_acme/knowledge/connectors/health";
    for key in [ACME, ADMIN] {
        let (status, body) = api.get(scoped, Some(key)).await;
        assert_eq!((status, body), (StatusCode::OK, ok.clone()));
    }
    let (status, body) = api.get(scoped, None).await;
    assert_refused(status, &body, StatusCode::UNAUTHORIZED);
    let (status, body) = api.get(scoped, Some("not-a-key")).await;
    assert_refused(status, &body, StatusCode::UNAUTHORIZED);
    let (status, body) = api.get(scoped, Some(OTHER)).await;
    assert_refused(status, &body, StatusCode::NOT_FOUND);
    let (status, body) = api.get("/v1/organizations/acme/knowledge/connectors/health", Some(ADMIN)).await;
    assert_422(status, &body, json!(["path", "organization_id"]), "value_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saturated_queue_is_unavailable() {
    // One slot, held by a spinning check, and more than ten checks behind it.
    let spinners: String = (0..12)
        .map(|i| {
            format!(
                "[[sources]]\nname = \"spin{i}\"\norganization = \"org_busy\"\ntype = \"hostile\"\n\
                 config = {{ mode = \"spin\" }}\ninterval = \"1h\"\ntimeout = \"30s\"\nretries = 0\n"
            )
        })
        .collect();
    let api = Api::start_with(&format!("{spinners}[checks]\nmax_concurrent = 1\n")).await;
    for i in 0..12 {
        let s = api.source(&format!("spin{i}")).await;
        api.service.request_check(&s).await.expect("request");
    }
    assert!(eventually(Duration::from_secs(5), || api.service.saturated()).await, "{:?}", api.service.load());
    let (status, body) = api.get("/v1/knowledge/connectors/health", None).await;
    assert_eq!(
        (status, body),
        (StatusCode::SERVICE_UNAVAILABLE, json!({"status": "unavailable", "available": false}))
    );
}
