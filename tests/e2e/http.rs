//! The http probe's own tests against scripted HTTP servers on loopback:
//! what only an HTTP check has (methods, headers, statuses, bodies, its
//! credentials' headers, redirects). Its rows in the conformance table
//! (`conformance/http.rs`) cover OK, a 401, Redis as the wrong server, the
//! silent and closed ports, bad configs and `https` under the TLS table.

use std::time::Duration;

use serde_json::{Value, json};
use sonde::runtime::{CheckReport, Status};
use sonde_test_support::http_server::{Reply, Server};
use sonde_test_support::probe;

use crate::common::{assert_hidden, load, runtime};

const T: Duration = Duration::from_secs(5);

async fn run(config: Value) -> CheckReport {
    let rt = runtime();
    let p = load(&rt, probe("http")).await;
    rt.check(&p, &config, T).await
}

fn error(r: &CheckReport) -> (Status, Option<&str>) {
    (r.status, r.message.as_deref())
}

/// Not a table case: a method and headers of the operator's are HTTP's alone.
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

/// Not a table case: `expected_status` and "unexpected status" are the http
/// probe's own keys and message (DESIGN §3 keeps them).
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

/// Not a table case: `body_contains` and "unexpected body" are the http
/// probe's own key and message (DESIGN §3 keeps them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_contains_is_checked() {
    let server = Server::start();
    server.route("/", Reply::new(200).body("{\"status\": \"green\"}"));
    let r = run(json!({"url": server.url("/"), "body_contains": "\"green\""})).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let r = run(json!({"url": server.url("/"), "body_contains": "red"})).await;
    assert_eq!(error(&r), (Status::Error, Some("unexpected body")), "{r:?}");
}

/// Not a table case: what the `token` key puts on the wire (a bearer
/// header), which only this probe has; its secrecy in every outcome.
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

/// Not a table case: what `user` and `password` put on the wire (a Basic
/// header), which only this probe has.
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

/// Not a table case: a 403 is "permission denied" (DESIGN §4; the 401 is
/// the table's `credentials` row), and `expected_status` can make either OK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_403_is_a_permission_denied_and_expected_status_overrides() {
    let server = Server::start();
    server.route("/401", Reply::new(401).header("WWW-Authenticate", "Bearer"));
    server.route("/403", Reply::new(403));
    let r = run(json!({"url": server.url("/403"), "user": "alice", "password": "wrong-pw"})).await;
    assert_eq!(error(&r), (Status::Error, Some("permission denied")), "{r:?}");
    assert_hidden(&r, "wrong-pw");
    // Unless that is what the check expects.
    let r = run(json!({"url": server.url("/401"), "expected_status": [401]})).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
}

/// Not a table case: redirects are HTTP's alone.
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

/// Not a table case: redirects are HTTP's alone.
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

/// Not a table case: a redirect that leaves the declared endpoint is the
/// sandbox's refusal, reached only through HTTP's redirects.
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

/// Not a table case: "too many redirects" is the http probe's own message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_loop_stops() {
    let server = Server::start();
    server.route("/loop", Reply::new(302).header("Location", "/loop"));
    let r = run(json!({"url": server.url("/loop"), "follow_redirects": true})).await;
    assert_eq!(error(&r), (Status::Error, Some("too many redirects")), "{r:?}");
    assert_eq!(server.requests().len(), 6);
}
