//! One source, four vocabularies: a `postgres` source created over
//! Unstructured against the local PostgreSQL, checked once, and the same
//! result read back through Hasura, Unstructured, Aitronos and Feather
//! (DESIGN §3). Over a real loopback socket, like a client would.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use super::unstructured::{body, connection_check, create, time};
use super::{ACME, ADMIN, Api, KB, keys};

/// What each surface answered for the source.
struct Views {
    hasura: Value,
    unstructured: Value,
    aitronos: Value,
    feather: Value,
}

/// Creates `name` with `config` in org_acme and knowledge base [`KB`], runs
/// one connection check to its end, and reads it from every surface.
async fn flow(name: &str, config: Value) -> Views {
    let api = Api::start_over_loopback().await;
    let mut source = body(name, "postgres", config);
    source["organization"] = json!("org_acme");
    source["workspace"] = json!(KB);
    let created = create(&api, ACME, &source).await;
    let id = created["id"].as_str().expect("id").to_string();

    let unstructured = connection_check(&api, ACME, &id).await;

    let req = Request::get("/healthz/sources")
        .header("X-Hasura-Role", "admin")
        .header("X-Hasura-Admin-Secret", ADMIN)
        .body(Body::empty())
        .expect("request");
    let (status, map) = api.send(req).await;
    assert_eq!(status, StatusCode::OK, "{map}");
    let hasura = map[name].clone();
    assert_eq!(keys(&hasura), ["error", "status", "timestamp"], "{map}");
    assert_eq!(hasura["timestamp"], unstructured["reported_at"], "one result, one time");

    let test = "/v1/organizations/org_acme/knowledge/connectors/sources/test";
    let (status, aitronos) = api.post(test, Some(ACME), &json!({"source_id": id})).await;
    assert_eq!(status, StatusCode::OK, "{aitronos}");
    assert_eq!(keys(&aitronos), ["job_info", "status"], "{aitronos}");

    let sync = format!("/v1/knowledge-base/knowledge-bases/{KB}/sources/{id}/sync/status");
    let (status, feather) = api.get(&sync, Some(ACME)).await;
    assert_eq!(status, StatusCode::OK, "{feather}");
    assert_eq!(feather["source_id"], id.as_str(), "{feather}");
    assert_eq!(feather["last_sync_job_id"], unstructured["id"], "{feather}");
    assert_eq!(feather["last_sync_completed_at"], unstructured["reported_at"], "{feather}");
    Views { hasura, unstructured, aitronos, feather }
}

fn pg(database: &str) -> Value {
    json!({"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": database})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_database_reads_ok_everywhere() {
    if !sonde_test_support::require("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let v = flow("pg-flow-ok", pg("test")).await;
    assert_eq!((&v.hasura["status"], &v.hasura["error"]), (&json!("OK"), &Value::Null), "{}", v.hasura);
    time(&v.hasura["timestamp"]);
    assert_eq!(
        (&v.unstructured["status"], &v.unstructured["reason"]),
        (&json!("SUCCESS"), &Value::Null),
        "{}",
        v.unstructured
    );
    time(&v.unstructured["reported_at"]);
    assert_eq!(v.aitronos, json!({"status": "succeeded", "job_info": null}));
    assert_eq!(v.feather["last_sync_status"], "OK", "{}", v.feather);
    assert_eq!(v.feather["error_message"], Value::Null, "{}", v.feather);
    assert!(v.feather["total_items"].is_u64(), "a table count: {}", v.feather);
    assert_eq!(v.feather["processed_count"], v.feather["total_items"], "{}", v.feather);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_database_reads_as_the_same_error_everywhere() {
    if !sonde_test_support::require("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let message = "database does not exist";
    let v = flow("pg-flow-no-db", pg("no_such_db")).await;
    assert_eq!(v.hasura["status"], "ERROR", "{}", v.hasura);
    assert_eq!(keys(&v.hasura["error"]), ["extra", "message"], "{}", v.hasura);
    assert_eq!(v.hasura["error"]["message"], message, "{}", v.hasura);
    assert!(v.hasura["error"]["extra"].to_string().contains("3D000"), "the server's code: {}", v.hasura);
    assert_eq!(
        (&v.unstructured["status"], &v.unstructured["reason"]),
        (&json!("FAILURE"), &json!(message)),
        "{}",
        v.unstructured
    );
    assert_eq!(v.aitronos, json!({"status": "failed", "job_info": {"message": message}}));
    assert_eq!(
        (&v.feather["last_sync_status"], &v.feather["error_message"]),
        (&json!("ERROR"), &json!(message)),
        "{}",
        v.feather
    );
    assert_eq!(v.feather["total_items"], Value::Null, "{}", v.feather);
}
