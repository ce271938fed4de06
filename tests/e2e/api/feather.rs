//! Feather: `GET /v1/knowledge-base/knowledge-bases/{kb_id}/sources/{source_id}/sync/status`.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{ACME, ADMIN, Api, KB, OTHER, SECRET, assert_422, assert_refused, eventually, keys};

const FIELDS: [&str; 9] = [
    "error_message",
    "last_sync_completed_at",
    "last_sync_job_id",
    "last_sync_started_at",
    "last_sync_status",
    "processed_count",
    "source_id",
    "source_status",
    "total_items",
];

fn uri(kb: &str, source: &str) -> String {
    format!("/v1/knowledge-base/knowledge-bases/{kb}/sources/{source}/sync/status")
}

async fn status(api: &Api, name: &str, key: &str) -> (StatusCode, Value) {
    let s = api.source(name).await;
    api.get(&uri(KB, &s.id.to_string()), Some(key)).await
}

fn is_rfc3339(v: &Value) -> bool {
    v.as_str().is_some_and(|t| t.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(t).is_ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_status_follows_the_newest_check() {
    let api = Api::start().await;
    let healthy = api.source("healthy").await;
    let (code, before) = status(&api, "healthy", ACME).await;
    assert_eq!(code, StatusCode::OK, "{before}");
    assert_eq!(keys(&before), FIELDS);
    let nothing_yet = json!({
        "source_id": healthy.id.to_string(), "source_status": "active",
        "last_sync_job_id": null, "last_sync_status": null, "last_sync_started_at": null,
        "last_sync_completed_at": null, "total_items": null, "processed_count": null, "error_message": null,
    });
    assert_eq!(before, nothing_yet);

    let check = api.checked("healthy").await;
    let (code, after) = status(&api, "healthy", ACME).await;
    assert_eq!(code, StatusCode::OK, "{after}");
    assert_eq!(keys(&after), FIELDS);
    assert_eq!(after["source_id"], healthy.id.to_string());
    assert_eq!(after["last_sync_job_id"], check.id.to_string());
    assert_eq!(after["last_sync_status"], "OK");
    assert!(is_rfc3339(&after["last_sync_started_at"]), "{after}");
    assert!(is_rfc3339(&after["last_sync_completed_at"]), "{after}");
    assert_eq!((&after["total_items"], &after["processed_count"]), (&json!(42), &json!(42)));
    assert_eq!(after["error_message"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_are_spelled_as_designed() {
    let api = Api::start().await;
    api.checked("broken").await;
    let (code, body) = status(&api, "broken", ACME).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        (&body["last_sync_status"], &body["error_message"]),
        (&json!("FAILED"), &json!("port 0 can never work"))
    );
    assert_eq!((&body["total_items"], &body["processed_count"]), (&Value::Null, &Value::Null));

    api.checked("leaky").await;
    let (_, body) = status(&api, "leaky", ACME).await;
    assert_eq!(body["last_sync_status"], "ERROR", "{body}");
    assert!(body["error_message"].is_string(), "{body}");
    assert!(!body.to_string().contains(SECRET), "the secret leaked: {body}");

    let (_, body) = status(&api, "resting", ACME).await;
    assert_eq!(body["source_status"], "paused", "{body}");

    // A check under way is the newest one, with no outcome yet.
    let slow = api.source("slow").await;
    let requested = api.service.request_check(&slow).await.expect("request");
    let (_, body) = status(&api, "slow", ACME).await;
    assert_eq!(body["last_sync_job_id"], requested.id.to_string(), "{body}");
    assert!(["SCHEDULED", "RUNNING"].contains(&body["last_sync_status"].as_str().unwrap_or("")), "{body}");
    assert_eq!((&body["last_sync_completed_at"], &body["error_message"]), (&Value::Null, &Value::Null));
    let running = eventually(Duration::from_secs(5), || api.service.load().1 == 1).await;
    assert!(running, "the check never started");
    let (_, body) = status(&api, "slow", ACME).await;
    assert_eq!(body["last_sync_status"], "RUNNING", "{body}");
    assert!(is_rfc3339(&body["last_sync_started_at"]), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_outside_the_knowledge_base_or_organization_are_missing() {
    let api = Api::start().await;
    let healthy = api.source("healthy").await.id.to_string();
    let (code, body) = api.get(&uri(&Uuid::new_v4().to_string(), &healthy), Some(ACME)).await;
    assert_refused(code, &body, StatusCode::NOT_FOUND);
    let (code, body) = status(&api, "no-kb", ACME).await;
    assert_refused(code, &body, StatusCode::NOT_FOUND);
    let (code, body) = api.get(&uri(KB, &Uuid::new_v4().to_string()), Some(ACME)).await;
    assert_refused(code, &body, StatusCode::NOT_FOUND);
    let (code, body) = status(&api, "elsewhere", ACME).await;
    assert_refused(code, &body, StatusCode::NOT_FOUND);
    let (code, body) = status(&api, "elsewhere", OTHER).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let (code, body) = status(&api, "healthy", ADMIN).await;
    assert_eq!(code, StatusCode::OK, "{body}");

    let (code, body) = api.get(&uri(KB, &healthy), None).await;
    assert_refused(code, &body, StatusCode::UNAUTHORIZED);
    let (code, body) = api.get(&uri(KB, &healthy), Some("not-a-key")).await;
    assert_refused(code, &body, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_ids_are_422s_at_the_path() {
    let api = Api::start().await;
    let healthy = api.source("healthy").await.id.to_string();
    let (code, body) = api.get(&uri("not-a-uuid", &healthy), Some(ACME)).await;
    assert_422(code, &body, json!(["path", "kb_id"]), "uuid_parsing");
    assert_eq!(body["detail"].as_array().map(Vec::len), Some(1), "{body}");
    let (code, body) = api.get(&uri("kb", "src"), Some(ACME)).await;
    assert_422(code, &body, json!(["path", "kb_id"]), "uuid_parsing");
    assert_eq!(body["detail"][1]["loc"], json!(["path", "source_id"]), "{body}");
}
