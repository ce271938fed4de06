//! Sonde's check history, `GET /v1/sources/{source_id}/checks`: newest
//! first, paged with `limit` and `before`, each check naming the replica
//! that ran it.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{ACME, ADMIN, Api, OTHER, assert_422, assert_refused, keys};

const FIELDS: [&str; 12] = [
    "attempts",
    "created_at",
    "duration_ms",
    "extra",
    "id",
    "location",
    "message",
    "replica",
    "reported_at",
    "started_at",
    "status",
    "trigger",
];

fn uri(id: impl std::fmt::Display, query: &str) -> String {
    format!("/v1/sources/{id}/checks{query}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_is_newest_first_paged_and_names_the_replica() {
    let api = Api::start().await;
    let first = api.checked("healthy").await;
    let second = api.checked("healthy").await;
    let id = api.source("healthy").await.id;

    let (status, body) = api.get(&uri(id, ""), Some(ACME)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(keys(&body), ["checks"]);
    let checks = body["checks"].as_array().expect("a list");
    let ids: Vec<&Value> = checks.iter().map(|c| &c["id"]).collect();
    assert_eq!(ids, [&json!(second.id), &json!(first.id)], "newest first: {body}");
    for c in checks {
        assert_eq!(keys(c), FIELDS, "{c}");
        assert_eq!(
            (&c["status"], &c["trigger"], &c["attempts"]),
            (&json!("OK"), &json!("manual"), &json!(1))
        );
        assert_eq!(c["replica"], api.service.replica(), "{c}");
    }
    let pid = format!("-{}", std::process::id());
    assert!(api.service.replica().ends_with(&pid), "host name and pid by default: {}", api.service.replica());

    // One at a time, going back with `before`.
    let (_, page) = api.get(&uri(id, "?limit=1"), Some(ACME)).await;
    assert_eq!(page["checks"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["checks"][0]["id"], json!(second.id));
    let before = page["checks"][0]["created_at"].as_str().expect("created_at").replace('+', "%2B");
    let (_, older) = api.get(&uri(id, &format!("?limit=1&before={before}")), Some(ACME)).await;
    assert_eq!(older["checks"][0]["id"], json!(first.id), "{older}");

    // Bad paging is a 422 at the parameter; others' sources are 404s.
    for (query, field) in [
        ("?limit=0", "limit"),
        ("?limit=1001", "limit"),
        ("?limit=x", "limit"),
        ("?before=yesterday", "before"),
    ] {
        let (status, body) = api.get(&uri(id, query), Some(ACME)).await;
        assert_422(status, &body, json!(["query", field]), "value_error");
    }
    let (status, body) = api.get(&uri(id, ""), Some(OTHER)).await;
    assert_refused(status, &body, StatusCode::NOT_FOUND);
    let (status, body) = api.get(&uri(uuid::Uuid::new_v4(), ""), Some(ADMIN)).await;
    assert_refused(status, &body, StatusCode::NOT_FOUND);
    let (status, _) = api.get(&uri(id, ""), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
