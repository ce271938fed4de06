//! Policy bounds and names (DESIGN §4): a policy outside `[limits]` and a
//! name with `/` are a 422 naming the field over the API, and an error
//! naming the key in the file; Hasura's map never shows colliding keys.
//! The start-up warning naming stored rows from before the rules is in
//! `crate::server_bounds`.

use axum::body::Body;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::unstructured::{SOURCES, body, create, one};
use super::{ACME, ADMIN, Api, OTHER, assert_422, assert_refused};

async fn put(api: &Api, uri: &str, key: Option<&str>, body: &Value) -> (StatusCode, Value) {
    api.call("PUT", uri, key, Some(Body::from(body.to_string()))).await
}

/// Each policy out of bounds, the field it names.
fn out_of_bounds() -> Vec<(&'static str, Value)> {
    vec![
        ("interval", json!("1ms")),
        ("interval", json!("31d")),
        ("timeout", json!("999999d")),
        ("timeout", json!("5ms")),
        ("retries", json!(11)),
        ("retry_interval", json!("2h")),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_out_of_bounds_is_a_422_naming_the_field() {
    let api = Api::start().await;
    let created = create(&api, ACME, &body("bounded", "hostile", json!({"mode": "ok"}))).await;
    let id = created["id"].as_str().expect("id");
    for (field, value) in out_of_bounds() {
        let mut b = body("unbounded", "hostile", json!({"mode": "ok"}));
        b[field] = value.clone();
        let (status, reply) = api.post(SOURCES, Some(ACME), &b).await;
        assert_422(status, &reply, json!(["body", field]), "value_error");
        // An update too, with `{config}` and the field alone as the SDK sends.
        let update = json!({"config": {"mode": "ok"}, field: value});
        let (status, reply) = put(&api, &one(id), Some(ACME), &update).await;
        assert_422(status, &reply, json!(["body", field]), "value_error");
        // Another organization's source stays a 404, never a hint; no key a 401.
        let (status, reply) = put(&api, &one(id), Some(OTHER), &update).await;
        assert_refused(status, &reply, StatusCode::NOT_FOUND);
        let (status, reply) = put(&api, &one(id), None, &update).await;
        assert_refused(status, &reply, StatusCode::UNAUTHORIZED);
    }
    // At the bounds, a policy is like any other.
    let mut edge = body("edge", "hostile", json!({"mode": "ok"}));
    for (field, value) in [
        ("interval", json!("1s")),
        ("timeout", json!("10m")),
        ("retries", json!(10)),
        ("retry_interval", json!("1h")),
    ] {
        edge[field] = value;
    }
    create(&api, ACME, &edge).await;
    assert!(api.service.list_sources().await.expect("list").iter().all(|s| s.name != "unbounded"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_with_a_slash_is_a_422_and_hasura_keys_never_collide() {
    let api = Api::start().await;
    // org_other has a "victim"; org_acme may not name one "org_other/victim".
    create(&api, OTHER, &body("victim", "hostile", json!({"mode": "ok"}))).await;
    create(&api, ACME, &body("victim", "hostile", json!({"mode": "ok"}))).await;
    let (status, reply) =
        api.post(SOURCES, Some(ACME), &body("org_other/victim", "hostile", json!({"mode": "ok"}))).await;
    assert_422(status, &reply, json!(["body", "name"]), "value_error");
    let (status, reply) = api
        .post(
            SOURCES,
            Some(ADMIN),
            &json!({"name": "a/b", "organization": "org_acme", "type": "hostile", "config": {}}),
        )
        .await;
    assert_422(status, &reply, json!(["body", "name"]), "value_error");
    let mine = create(&api, ACME, &body("mine", "hostile", json!({"mode": "ok"}))).await;
    let (status, reply) = put(
        &api,
        &one(mine["id"].as_str().expect("id")),
        Some(ACME),
        &json!({"name": "org_other/victim", "config": {"mode": "ok"}}),
    )
    .await;
    assert_422(status, &reply, json!(["body", "name"]), "value_error");
    let (status, reply) = api.post(SOURCES, None, &body("x/y", "hostile", json!({"mode": "ok"}))).await;
    assert_refused(status, &reply, StatusCode::UNAUTHORIZED);

    // One key per checked source in Hasura's map.
    for s in api.service.list_sources().await.expect("list").iter().filter(|s| s.name == "victim") {
        api.checked_source(s).await;
    }
    let (status, map) = api.get("/healthz/sources", Some(ADMIN)).await;
    assert_eq!(status, StatusCode::OK, "{map}");
    let health = api.service.health_all().await.expect("health");
    let checked = health.values().filter(|h| h.last.is_some()).count();
    assert_eq!(map.as_object().expect("a map").len(), checked, "{map}");
    assert!(map.get("org_acme/victim").is_some() && map.get("org_other/victim").is_some(), "{map}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_gets_an_error_naming_the_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let cases = [
        ("interval = \"1ms\"", "sources[0].interval"),
        ("timeout = \"999999d\"", "sources[0].timeout"),
        ("retries = 11", "sources[0].retries"),
    ];
    let source = |name: &str, extra: &str| {
        format!(
            "data_dir = {:?}\ncache_dir = {:?}\n[[sources]]\nname = {name:?}\norganization = \"org_a\"\n\
             type = \"tcp\"\nconfig = {{ host = \"127.0.0.1\", port = 1 }}\n{extra}\n",
            dir.path().join("data"),
            crate::common::cache_dir()
        )
    };
    for (extra, key) in cases {
        let config = sonde::config::Config::parse(&source("a", extra), "t.toml").expect("parses");
        let err = sonde::service::Service::start(&config).await.expect_err(extra).to_string();
        assert!(err.contains(key), "{key}: {err}");
    }
    let config = sonde::config::Config::parse(&source("org_b/a", ""), "t.toml").expect("parses");
    let err = sonde::service::Service::start(&config).await.expect_err("a slash").to_string();
    assert!(err.contains("sources[0].name") && err.contains('/'), "{err}");
    // The operator may move the bounds.
    let text = format!("limits.min_interval = \"1ms\"\n{}", source("a", "interval = \"1ms\""));
    let config = sonde::config::Config::parse(&text, "t.toml").expect("parses");
    sonde::service::Service::start(&config).await.expect("within the operator's bounds");
}
