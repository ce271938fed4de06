//! One client cannot starve the others (DESIGN §5): synchronous tests get
//! fair shares per organization, and one that cannot start within its
//! timeout is a 429 with `Retry-After`; repeated connection-check requests
//! for one source queue one check.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use sonde::model::Trigger;
use sonde_test_support::SilentListener;
use tower::ServiceExt;

use super::unstructured::{body, check_uri, create};
use super::{ACME, Api, OTHER, assert_refused};

const TEST_ACME: &str = "/v1/organizations/org_acme/knowledge/connectors/sources/test";
const TEST_OTHER: &str = "/v1/organizations/org_other/knowledge/connectors/sources/test";

/// One POST: status, `Retry-After` and JSON body.
async fn post(app: &axum::Router, uri: &str, key: &str, body: &Value) -> (StatusCode, Option<u64>, Value) {
    let req = Request::post(uri)
        .header("x-api-key", key)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let retry = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse().ok());
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    (status, retry, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_inline_tests_cannot_starve_another_organization() {
    let silent = SilentListener::start();
    let healthy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let healthy_port = healthy.local_addr().expect("addr").port();
    // Eight slots; inline tests time out after 2 s.
    let api = Api::start_with("[checks]\nmax_concurrent = 8\n[defaults]\ntimeout = \"2s\"\n").await;
    let app = Arc::new(api.app.clone());

    let slow =
        json!({"source_definition_id": "redis", "configuration": {"host": "127.0.0.1", "port": silent.port}});
    let flood: Vec<_> = (0..200)
        .map(|_| {
            let (app, slow) = (Arc::clone(&app), slow.clone());
            tokio::spawn(async move { post(&app, TEST_ACME, ACME, &slow).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // org_other's test of a healthy source runs meanwhile, at once.
    let fine =
        json!({"source_definition_id": "tcp", "configuration": {"host": "127.0.0.1", "port": healthy_port}});
    let started = std::time::Instant::now();
    let (status, _, reply) = post(&app, TEST_OTHER, OTHER, &fine).await;
    let took = started.elapsed();
    assert_eq!((status, &reply), (StatusCode::OK, &json!({"status": "succeeded", "job_info": null})));
    assert!(took < Duration::from_secs(30), "org_other's test took {took:?}");

    let mut ran = 0;
    let mut turned_away = 0;
    for task in flood {
        match task.await.expect("task") {
            (StatusCode::OK, _, reply) => {
                assert_eq!(reply["status"], "failed", "{reply}");
                ran += 1;
            }
            (StatusCode::TOO_MANY_REQUESTS, retry, reply) => {
                assert!(retry.is_some_and(|s| s >= 1), "429 without Retry-After: {reply}");
                assert!(reply["detail"].is_string(), "{reply}");
                turned_away += 1;
            }
            other => panic!("unexpected answer: {other:?}"),
        }
    }
    // At most 7 at once (one slot is held for org_other), each 2 s, and
    // each waits at most its own 2 s: most are turned away.
    assert!(ran >= 7 && turned_away >= 100, "ran {ran}, turned away {turned_away}");
    assert!(silent.accepted() <= 200, "{}", silent.accepted());

    // Tenancy as everywhere: another organization's path is a 404, no key a 401.
    let (status, reply) = api.post(TEST_OTHER, Some(ACME), &fine).await;
    assert_refused(status, &reply, StatusCode::NOT_FOUND);
    let (status, reply) = api.post(TEST_ACME, None, &fine).await;
    assert_refused(status, &reply, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn repeated_connection_checks_queue_one_check() {
    let silent = SilentListener::start();
    let api = Api::start().await;
    let mut source = body("slowpoke", "redis", json!({"host": "127.0.0.1", "port": silent.port}));
    source["timeout"] = json!("3s");
    let created = create(&api, ACME, &source).await;
    let id = created["id"].as_str().expect("id").to_string();
    let uri = check_uri(&id);
    let app = Arc::new(api.app.clone());
    let posts: Vec<_> = (0..200)
        .map(|_| {
            let (app, uri) = (Arc::clone(&app), uri.clone());
            tokio::spawn(async move { post(&app, &uri, ACME, &Value::Null).await })
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for task in posts {
        let (status, _, reply) = task.await.expect("task");
        assert_eq!(status, StatusCode::ACCEPTED, "{reply}");
        assert_eq!(reply["status"], "SCHEDULED", "{reply}");
        ids.insert(reply["id"].as_str().expect("id").to_string());
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    // Another organization's key and no key are refused as elsewhere.
    let (status, reply) = api.call("POST", &uri, Some(OTHER), None).await;
    assert_refused(status, &reply, StatusCode::NOT_FOUND);
    let (status, reply) = api.call("POST", &uri, None, None).await;
    assert_refused(status, &reply, StatusCode::UNAUTHORIZED);

    // Once it has finished, a new request queues a new check.
    let source = api.source("slowpoke").await;
    let end = tokio::time::Instant::now() + Duration::from_secs(30);
    while api.service.health(source.id).await.expect("health").current.is_some() {
        assert!(tokio::time::Instant::now() < end, "the check never finished");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let manual = |history: &[sonde::model::CheckRecord]| {
        history.iter().filter(|c| c.trigger == Trigger::Manual).count()
    };
    let history = api.service.history(source.id, 1000, None).await.expect("history");
    assert_eq!(manual(&history), 1, "{history:?}");
    let (status, again) = api.call("POST", &uri, Some(ACME), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{again}");
    assert!(!ids.contains(again["id"].as_str().expect("id")), "{again}");
}
