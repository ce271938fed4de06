//! Native unit tests of the http probe: its schema's auth markers, the
//! configs it refuses, and its answers to a scripted loopback server
//! (`sonde_sdk::testing::serve_http`; the host-side parts, TLS and auth,
//! are covered by tests/e2e/http.rs).

use serde_json::{Value, json};
use sonde_sdk::testing::{self, http_answer, serve_http};
use sonde_sdk::{CheckError, Problem};

use super::Http;

fn unhealthy(r: Result<testing::Report, CheckError>) -> (String, Value) {
    match r {
        Err(CheckError::Unhealthy(p @ Problem { .. })) => {
            let m = p.members().map(Value::Object).unwrap_or(Value::Null);
            (p.message, m)
        }
        other => panic!("not unhealthy: {other:?}"),
    }
}

fn invalid(config: Value) -> String {
    match testing::check::<Http>(config) {
        Err(CheckError::InvalidConfig(m)) => m,
        other => panic!("not invalid: {other:?}"),
    }
}

#[test]
fn the_schema_maps_token_and_user_to_the_host_and_targets_url() {
    let s = testing::config_schema::<Http>();
    assert_eq!(
        s["x-sonde-auth"],
        json!([
            {"kind": "bearer", "token": "/token", "methods": "/method"},
            {"kind": "basic", "user": "/user", "password": "/password", "methods": "/method"}
        ])
    );
    assert_eq!(s["properties"]["url"]["x-sonde-auth-target"], true);
    assert_eq!(s["properties"]["auth"]["x-sonde-auth"], true);
    for secret in ["token", "password"] {
        assert_eq!(s["properties"][secret]["writeOnly"], true, "{secret}");
    }
}

#[test]
fn configs_it_refuses() {
    let url = "http://127.0.0.1:1/";
    let m = invalid(json!({"url": url, "user": "alice", "auth": {"kind": "bearer"}}));
    assert!(m.contains("not both"), "{m}");
    let m = invalid(json!({"url": url, "headers": {"authorization": "Bearer x"}}));
    assert!(m.contains("Authorization header"), "{m}");
    for member in [json!({"rows": 1}), json!({"equals": 1}), json!({"max_age": "1d"})] {
        let m = invalid(json!({"url": url, "expect": member}));
        assert!(m.contains("has no meaning for the http probe") && m.contains("expect.json"), "{m}");
    }
    assert!(invalid(json!({"url": "ftp://x/"})).contains("url"));
}

#[test]
fn json_expectations_hold_or_fail_as_assertions() {
    let body = r#"{"status":"green","nodes":[{"up":true}]}"#;
    let (url, seen) =
        serve_http(vec![http_answer(200, &[("Server", "scripted")], body), http_answer(200, &[], body)]);
    let ok = testing::check::<Http>(
        json!({"url": url, "expect": {"json": {"/status": "green", "/nodes/0/up": true}}}),
    )
    .expect("healthy");
    assert_eq!(
        (ok.details["status_code"].clone(), ok.details["server"].clone()),
        (json!(200), json!("scripted"))
    );
    let head = seen.recv().expect("a request");
    assert!(
        head.starts_with("GET / HTTP/1.1") && !head.to_ascii_lowercase().contains("authorization"),
        "{head}"
    );
    let (m, extra) =
        unhealthy(testing::check::<Http>(json!({"url": url, "expect": {"json": {"/status": "red"}}})));
    assert_eq!(m, "assertion failed");
    assert_eq!(
        extra,
        json!({"stage": "assertion", "detail": "/status differs", "expected": "red", "observed": "green"})
    );
}

#[test]
fn a_body_that_is_not_json_fails_the_assertion() {
    let (url, _) = serve_http(vec![http_answer(200, &[], "<html>ok</html>")]);
    let (m, extra) = unhealthy(testing::check::<Http>(json!({"url": url, "expect": {"json": {"/a": 1}}})));
    assert_eq!((m.as_str(), extra["detail"].as_str()), ("assertion failed", Some("the body is not JSON")));
}

#[test]
fn refusals_keep_their_stable_messages() {
    let answers = vec![
        http_answer(401, &[], r#"{"message":"Bad credentials"}"#),
        http_answer(403, &[], ""),
        http_answer(429, &[("Retry-After", "7")], ""),
        http_answer(503, &[], "down"),
        http_answer(302, &[("Location", "/health")], ""),
        http_answer(200, &[], "fine"),
    ];
    let (url, _) = serve_http(answers);
    let run = || unhealthy(testing::check::<Http>(json!({"url": url})));
    let (m, extra) = run();
    assert_eq!((m.as_str(), extra["stage"].as_str()), ("authentication failed", Some("auth")));
    assert_eq!(extra["detail"], "HTTP 401: Bad credentials");
    assert_eq!(run().0, "permission denied");
    let (m, extra) = run();
    assert_eq!((m.as_str(), extra["retry_after"].clone()), ("rate limited", json!(7)));
    let (m, extra) = run();
    assert_eq!(
        (m.as_str(), extra["detail"].as_str()),
        ("unexpected status", Some("HTTP 503: down, expected 2xx"))
    );
    let (m, extra) = run();
    assert_eq!(m, "unexpected status");
    assert!(extra["detail"].as_str().is_some_and(|d| d.contains("302") && d.contains("/health")), "{extra}");
    let (m, extra) = unhealthy(testing::check::<Http>(json!({"url": url, "body_contains": "green"})));
    assert_eq!((m.as_str(), extra["stage"].as_str()), ("unexpected body", Some("assertion")));
}
