//! Hasura: `GET /healthz/sources`, admin only, a map from source name to
//! `{status, error, timestamp}` (seeds/hasura-source-health-check-api.md).

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use uuid::Uuid;

use super::unstructured::{body, create, one};
use super::{ACME, ADMIN, Api, OTHER, assert_refused, keys};

const HEALTHZ: &str = "/healthz/sources";

/// Sources of an organization of their own, paused so that only the checks
/// a test requests ever run (a paused source still runs requested checks).
fn sources() -> String {
    [
        ("hz-ok", "{ mode = \"ok\" }", "10s"),
        ("hz-timeout", "{ mode = \"spin\" }", "200ms"),
        ("hz-panic", "{ mode = \"panic\" }", "10s"),
        ("hz-invalid", "{ mode = \"invalid\" }", "10s"),
        ("hz-never", "{ mode = \"ok\" }", "10s"),
        ("hz-running", "{ mode = \"spin\" }", "30s"),
    ]
    .iter()
    .map(|(name, config, timeout)| {
        format!(
            "[[sources]]\nname = {name:?}\norganization = \"org_hz\"\ntype = \"hostile\"\nconfig = {config}\n\
             interval = \"1h\"\ntimeout = {timeout:?}\nretries = 0\nstate = \"paused\"\n"
        )
    })
    .collect()
}

async fn healthz(api: &Api, headers: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut req = Request::get(HEALTHZ);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    api.send(req.body(Body::empty()).expect("request")).await
}

/// The seed's own request: the admin secret and `X-Hasura-Role: admin`.
async fn as_admin(api: &Api) -> Value {
    let (status, body) = healthz(api, &[("X-Hasura-Role", "admin"), ("X-Hasura-Admin-Secret", ADMIN)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.is_object(), "{body}");
    body
}

fn timestamp(v: &Value) -> DateTime<Utc> {
    let t = v.as_str().unwrap_or_else(|| panic!("timestamp is not a string: {v}"));
    assert!(t.ends_with('Z'), "not UTC with Z: {t}");
    DateTime::parse_from_rfc3339(t).unwrap_or_else(|e| panic!("not RFC 3339: {t}: {e}")).with_timezone(&Utc)
}

/// One `HealthStatus`: exactly `{status, error, timestamp}`, `error` as the
/// seed's table says for the status, the timestamp RFC 3339 UTC.
fn assert_health_status(name: &str, h: &Value) {
    assert_eq!(keys(h), ["error", "status", "timestamp"], "{name}: {h}");
    let status = h["status"].as_str().unwrap_or_else(|| panic!("{name}: status is not a string: {h}"));
    match status {
        "OK" | "TIMEOUT" => assert_eq!(h["error"], Value::Null, "{name}: {h}"),
        "ERROR" => {
            assert_eq!(keys(&h["error"]), ["extra", "message"], "{name}: {h}");
            assert!(h["error"]["message"].is_string(), "{name}: {h}");
        }
        "FAILED" => assert!(h["error"].is_string(), "{name}: {h}"),
        other => panic!("{name}: unknown status {other:?}: {h}"),
    }
    timestamp(&h["timestamp"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_outcome_is_spelled_as_the_seed_documents() {
    let api = Api::start_with(&sources()).await;
    let started = Utc::now();
    for name in ["hz-ok", "hz-timeout", "hz-panic", "hz-invalid"] {
        api.checked(name).await;
    }
    let finished = Utc::now();

    let body = as_admin(&api).await;
    // Whatever else the map holds, every value has the documented shape.
    for (name, h) in body.as_object().expect("object") {
        assert_health_status(name, h);
    }

    let ok = &body["hz-ok"];
    assert_eq!((&ok["status"], &ok["error"]), (&json!("OK"), &Value::Null), "{body}");
    let timeout = &body["hz-timeout"];
    assert_eq!((&timeout["status"], &timeout["error"]), (&json!("TIMEOUT"), &Value::Null), "{body}");
    let panic = &body["hz-panic"];
    assert_eq!(panic["status"], "ERROR", "{body}");
    assert_eq!(panic["error"]["message"], "probe crashed", "{body}");
    assert!(
        panic["error"]["extra"].as_str().is_some_and(|e| e.contains("deliberate panic")),
        "the guest's stderr in extra: {body}"
    );
    let invalid = &body["hz-invalid"];
    assert_eq!(
        (&invalid["status"], &invalid["error"]),
        (&json!("FAILED"), &json!("port 0 can never work")),
        "{body}"
    );
    for name in ["hz-ok", "hz-timeout", "hz-panic", "hz-invalid"] {
        let t = timestamp(&body[name]["timestamp"]);
        assert!(started <= t && t <= finished, "{name}: {t} outside {started}..{finished}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_without_a_finished_check_are_absent() {
    let api = Api::start_with(&sources()).await;
    // A check that is running and will not finish within the test.
    let running = api.source("hz-running").await;
    let requested = api.service.request_check(&running).await.expect("request");
    let end = tokio::time::Instant::now() + Duration::from_secs(5);
    let started = loop {
        let current = api.service.health(running.id).await.expect("health").current;
        if current.is_some_and(|c| c.id == requested.id && c.started_at.is_some()) {
            break true;
        }
        if tokio::time::Instant::now() > end {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert!(started, "the check of hz-running never started");
    api.checked("hz-ok").await;

    let body = as_admin(&api).await;
    assert_health_status("hz-ok", &body["hz-ok"]);
    let map = body.as_object().expect("object");
    for absent in ["hz-never", "hz-running", "resting"] {
        assert!(!map.contains_key(absent), "{absent} has no finished check: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admin_keys_may_read_source_health() {
    let api = Api::start_with(&sources()).await;
    api.checked("hz-ok").await;

    // The seed's headers, and a Bearer admin key, answer the same map.
    let seed = as_admin(&api).await;
    assert_eq!(seed["hz-ok"]["status"], "OK", "{seed}");
    let bearer = format!("Bearer {ADMIN}");
    let (status, body) = healthz(&api, &[("authorization", &bearer)]).await;
    assert_eq!((status, &body), (StatusCode::OK, &seed));
    let (status, body) = healthz(&api, &[("x-api-key", ADMIN)]).await;
    assert_eq!((status, &body), (StatusCode::OK, &seed));

    // No key, or a wrong one.
    let (status, body) = healthz(&api, &[]).await;
    assert_refused(status, &body, StatusCode::UNAUTHORIZED);
    assert_eq!(body["detail"], "Not authenticated");
    let (status, body) = healthz(&api, &[("X-Hasura-Role", "admin")]).await;
    assert_refused(status, &body, StatusCode::UNAUTHORIZED);
    for wrong in [
        [("X-Hasura-Role", "admin"), ("X-Hasura-Admin-Secret", "not-a-key")],
        [("X-Hasura-Role", "admin"), ("authorization", "Bearer not-a-key")],
    ] {
        let (status, body) = healthz(&api, &wrong).await;
        assert_refused(status, &body, StatusCode::UNAUTHORIZED);
    }

    // An organization key is a valid key, but not an admin one.
    let acme_bearer = format!("Bearer {ACME}");
    for headers in [
        [("X-Hasura-Role", "admin"), ("authorization", acme_bearer.as_str())],
        [("X-Hasura-Role", "admin"), ("x-api-key", ACME)],
    ] {
        let (status, body) = healthz(&api, &headers).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(keys(&body), ["detail"], "{body}");
        assert!(body["detail"].is_string(), "{body}");
    }
    // The Hasura header carries admin secrets only: an organization key
    // there is no key at all.
    let (status, body) = healthz(&api, &[("X-Hasura-Role", "admin"), ("X-Hasura-Admin-Secret", ACME)]).await;
    assert_refused(status, &body, StatusCode::UNAUTHORIZED);

    // An admin key asking as another role is refused.
    let (status, body) = healthz(&api, &[("X-Hasura-Role", "user"), ("X-Hasura-Admin-Secret", ADMIN)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(keys(&body), ["detail"], "{body}");
}

/// Checks the source `id` once and answers the map afterwards.
async fn checked_then_map(api: &Api, id: &str) -> Value {
    let id = Uuid::parse_str(id).expect("uuid");
    let source = api.service.get_source(id).await.expect("store").expect("the source exists");
    api.checked_source(&source).await;
    as_admin(api).await
}

/// The map follows sources through the API as they change: a newer check
/// replaces the older, a rename moves the key, a name used by two
/// organizations is qualified in both, a delete takes the key away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_map_follows_sources_as_they_change() {
    let api = Api::start_with(&sources()).await;
    api.checked("hz-ok").await;
    assert_eq!(as_admin(&api).await["hz-ok"]["status"], "OK");

    let acme = create(&api, ACME, &body("hz-moving", "hostile", json!({"mode": "ok"}))).await;
    let acme_id = acme["id"].as_str().expect("id");
    let map = as_admin(&api).await;
    assert!(map.get("hz-moving").is_none(), "not checked yet: {map}");
    let map = checked_then_map(&api, acme_id).await;
    assert_eq!(map["hz-moving"]["status"], "OK", "{map}");

    // Same name, new config: the next check's result replaces the old one.
    let put = |key, body: Value| {
        let api = &api;
        async move { api.call("PUT", &one(acme_id), Some(key), Some(Body::from(body.to_string()))).await }
    };
    let (status, replaced) = put(ACME, body("hz-moving", "hostile", json!({"mode": "invalid"}))).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    let map = checked_then_map(&api, acme_id).await;
    assert_eq!(
        (&map["hz-moving"]["status"], &map["hz-moving"]["error"]),
        (&json!("FAILED"), &json!("port 0 can never work"))
    );

    // Renamed: the result moves to the new name, at once.
    let (status, renamed) = put(ACME, body("hz-moved", "hostile", json!({"mode": "invalid"}))).await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    let map = as_admin(&api).await;
    assert!(map.get("hz-moving").is_none(), "the old name is gone: {map}");
    assert_eq!(map["hz-moved"]["status"], "FAILED", "{map}");

    // The same name in a second organization: both are qualified.
    let other = create(&api, OTHER, &body("hz-moved", "hostile", json!({"mode": "ok"}))).await;
    let other_id = other["id"].as_str().expect("id");
    let map = checked_then_map(&api, other_id).await;
    assert!(map.get("hz-moved").is_none(), "a clashing name is qualified: {map}");
    assert_eq!(map["org_acme/hz-moved"]["status"], "FAILED", "{map}");
    assert_eq!(map["org_other/hz-moved"]["status"], "OK", "{map}");
    assert_eq!(map["hz-ok"]["status"], "OK", "unclashing names stay as they are: {map}");

    // Deleted: its key goes, and the name clashes no more.
    let (status, _) = api.call("DELETE", &one(acme_id), Some(ACME), None).await;
    assert!(status.is_success(), "{status}");
    let map = as_admin(&api).await;
    assert!(map.get("org_acme/hz-moved").is_none() && map.get("org_other/hz-moved").is_none(), "{map}");
    assert_eq!(map["hz-moved"]["status"], "OK", "{map}");
}
