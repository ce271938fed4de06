//! The http probe against scripted HTTP servers on loopback (and Redis, as
//! the wrong kind of server). https is not covered: the host trusts only the
//! web PKI roots, which no loopback certificate chains to.

use std::time::Duration;

use serde_json::{Value, json};
use sonde::runtime::{CheckReport, Status};
use sonde_test_support::http_server::{Reply, Server};
use sonde_test_support::{SilentListener, closed_port, probe, require};

use crate::common::{load, runtime};

const T: Duration = Duration::from_secs(5);

async fn run(config: Value) -> CheckReport {
    let rt = runtime();
    let p = load(&rt, probe("http")).await;
    rt.check(&p, &config, T).await
}

fn error(r: &CheckReport) -> (Status, Option<&str>) {
    (r.status, r.message.as_deref())
}

/// `secret` appears nowhere in what the check reports.
fn assert_hidden(r: &CheckReport, secret: &str) {
    let all = format!("{r:?}");
    assert!(!all.contains(secret), "the secret leaked: {all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_for_a_200() {
    let server = Server::start();
    server.route("/health", Reply::new(200).header("Server", "scripted/1.0").body("ok"));
    let r = run(json!({"url": server.url("/health")})).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let details = r.details.expect("details");
    assert_eq!(details["status_code"], 200);
    assert_eq!(details["server"], "scripted/1.0");
    let seen = server.requests();
    assert_eq!((seen.len(), seen[0].method.as_str(), seen[0].path.as_str()), (1, "GET", "/health"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn method_and_headers_arrive() {
    let server = Server::start();
    server.route("/items?x=1", Reply::new(201));
    let r =
        run(json!({"url": server.url("/items?x=1#frag"), "method": "post", "headers": {"X-Probe": "yes"}}))
            .await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let seen = &server.requests()[0];
    assert_eq!((seen.method.as_str(), seen.path.as_str()), ("POST", "/items?x=1"));
    assert_eq!(seen.header("x-probe"), Some("yes"));
    assert_eq!(seen.header("authorization"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_status_decides() {
    let server = Server::start();
    server.route("/", Reply::new(200));
    server.route("/down", Reply::new(503));
    let r = run(json!({"url": server.url("/"), "expected_status": [204]})).await;
    assert_eq!(error(&r), (Status::Error, Some("unexpected status")), "{r:?}");
    assert!(r.extra.as_deref().is_some_and(|e| e.contains("200")), "{r:?}");

    let r = run(json!({"url": server.url("/down")})).await;
    assert_eq!(error(&r), (Status::Error, Some("unexpected status")), "{r:?}");
    assert!(r.extra.as_deref().is_some_and(|e| e.contains("503")), "{r:?}");

    let r = run(json!({"url": server.url("/down"), "expected_status": [200, 503]})).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(r.details.expect("details")["status_code"], 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_contains_is_checked() {
    let server = Server::start();
    server.route("/", Reply::new(200).body("{\"status\": \"green\"}"));
    let r = run(json!({"url": server.url("/"), "body_contains": "\"green\""})).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let r = run(json!({"url": server.url("/"), "body_contains": "red"})).await;
    assert_eq!(error(&r), (Status::Error, Some("unexpected body")), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bearer_token_arrives_and_is_never_reported() {
    let secret = "tok-s3cret-4711";
    let server = Server::start();
    server.route("/", Reply::new(200));
    server.route("/broken", Reply::new(500).body(secret));
    server.route("/denied", Reply::new(401));
    let r = run(json!({"url": server.url("/"), "token": secret})).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_hidden(&r, secret);
    assert_eq!(server.requests()[0].header("authorization"), Some(format!("Bearer {secret}").as_str()));

    let r = run(json!({"url": server.url("/broken"), "token": secret, "body_contains": "x"})).await;
    assert_eq!(error(&r), (Status::Error, Some("unexpected status")), "{r:?}");
    assert_hidden(&r, secret);
    let r = run(json!({"url": server.url("/denied"), "token": secret})).await;
    assert_eq!(error(&r), (Status::Error, Some("authentication failed")), "{r:?}");
    assert_hidden(&r, secret);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_arrives_and_is_never_reported() {
    let server = Server::start();
    server.route("/", Reply::new(200));
    let r = run(json!({"url": server.url("/"), "user": "alice", "password": "pa55-s3cret"})).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_hidden(&r, "pa55-s3cret");
    // base64("alice:pa55-s3cret")
    assert_eq!(server.requests()[0].header("authorization"), Some("Basic YWxpY2U6cGE1NS1zM2NyZXQ="));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_or_403_is_an_authentication_failure() {
    let server = Server::start();
    server.route("/401", Reply::new(401).header("WWW-Authenticate", "Bearer"));
    server.route("/403", Reply::new(403));
    for path in ["/401", "/403"] {
        let r = run(json!({"url": server.url(path), "user": "alice", "password": "wrong-pw"})).await;
        assert_eq!(error(&r), (Status::Error, Some("authentication failed")), "{path}: {r:?}");
        assert_hidden(&r, "wrong-pw");
    }
    // Unless that is what the check expects.
    let r = run(json!({"url": server.url("/401"), "expected_status": [401]})).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed_by_default() {
    let server = Server::start();
    server.route("/", Reply::new(302).header("Location", "/health"));
    server.route("/health", Reply::new(200));
    let r = run(json!({"url": server.url("/")})).await;
    assert_eq!(error(&r), (Status::Error, Some("unexpected status")), "{r:?}");
    assert!(r.extra.as_deref().is_some_and(|e| e.contains("302") && e.contains("/health")), "{r:?}");
    let r = run(json!({"url": server.url("/"), "expected_status": [302]})).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert!(server.requests().iter().all(|q| q.path == "/"), "{:?}", server.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_on_the_same_host_and_port_are_followed_when_enabled() {
    let server = Server::start();
    server.route("/", Reply::new(301).header("Location", "/next"));
    server.route("/next", Reply::new(303).header("Location", &server.url("/health")));
    server.route("/health", Reply::new(200).body("fine"));
    let config = json!({
        "url": server.url("/"), "method": "POST", "follow_redirects": true,
        "body_contains": "fine", "token": "tok-redirect-secret",
    });
    let r = run(config).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_hidden(&r, "tok-redirect-secret");
    assert_eq!(r.details.as_ref().expect("details")["redirects"], 2);
    let seen: Vec<_> = server.requests().into_iter().map(|q| (q.method, q.path)).collect();
    let want = [("POST", "/"), ("GET", "/next"), ("GET", "/health")];
    assert_eq!(seen, want.map(|(m, p)| (m.to_string(), p.to_string())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_another_port_is_denied() {
    let server = Server::start();
    let elsewhere = Server::start();
    elsewhere.route("/", Reply::new(200));
    server.route("/", Reply::new(307).header("Location", &elsewhere.url("/")));
    let r = run(json!({"url": server.url("/"), "follow_redirects": true})).await;
    assert_eq!(error(&r), (Status::Error, Some("permission denied by sandbox")), "{r:?}");
    assert!(r.extra.as_deref().is_some_and(|e| e.contains(&elsewhere.port.to_string())), "{r:?}");
    assert_eq!((elsewhere.accepted(), elsewhere.requests().len()), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_loop_stops() {
    let server = Server::start();
    server.route("/loop", Reply::new(302).header("Location", "/loop"));
    let r = run(json!({"url": server.url("/loop"), "follow_redirects": true})).await;
    assert_eq!(error(&r), (Status::Error, Some("too many redirects")), "{r:?}");
    assert_eq!(server.requests().len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_against_a_closed_port() {
    let r = run(json!({"url": format!("http://127.0.0.1:{}/", closed_port())})).await;
    assert_eq!(error(&r), (Status::Error, Some("connection refused")), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_against_redis() {
    if !require("Redis", "127.0.0.1:6379") {
        return;
    }
    let r = run(json!({"url": "http://127.0.0.1:6379/"})).await;
    assert_eq!(error(&r), (Status::Error, Some("unexpected protocol")), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_against_a_listener_that_never_answers() {
    let rt = runtime();
    let p = load(&rt, probe("http")).await;
    let silent = SilentListener::start();
    let url = format!("http://127.0.0.1:{}/", silent.port);
    let r = rt.check(&p, &json!({"url": url}), Duration::from_millis(700)).await;
    assert_eq!(r.status, Status::Timeout, "{r:?}");
    assert_eq!(silent.accepted(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_for_a_config_that_cannot_work() {
    let rt = runtime();
    let p = load(&rt, probe("http")).await;
    let url = format!("http://127.0.0.1:{}/", closed_port());
    for config in [
        json!({}),
        json!({"url": ""}),
        json!({"url": "not a url"}),
        json!({"url": "ftp://127.0.0.1/"}),
        json!({"url": "http://alice:url-s3cret@127.0.0.1/"}),
        json!({"url": url, "token": "t", "user": "alice"}),
        json!({"url": url, "password": "p"}),
        json!({"url": url, "headers": {"Authorization": "Bearer t"}}),
        json!({"url": url, "headers": {"Host": "example.com"}}),
        json!({"url": url, "headers": {"bad name": "x"}}),
        json!({"url": url, "method": "CONNECT"}),
        json!({"url": url, "method": "GET /"}),
        json!({"url": url, "expected_status": []}),
        json!({"url": url, "expected_status": [42]}),
        json!({"url": url, "timeout": 5}),
    ] {
        let r = rt.check(&p, &config, T).await;
        assert_eq!(r.status, Status::Failed, "{config}: {r:?}");
        assert_hidden(&r, "url-s3cret");
    }
}
