//! A hostile plugin against the host's credentials. Each test's servers
//! record every header they get: the credential reaches the target the
//! operator wrote, with an allowed method, and nothing else, ever.

use serde_json::{Value, json};
use sonde::runtime::Status;
use sonde_test_support::http_server::{Reply, Server};

use super::{FIVE, SECRET, config, leaks, results, shown, thief};
use crate::common::{assert_error, runtime};

fn bearer() -> Value {
    json!({"kind": "bearer", "token": SECRET})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guest_never_sees_a_secret_and_the_target_gets_it() {
    let rt = runtime();
    let p = thief(&rt).await;
    let web = Server::start();
    web.route("/", Reply::new(200));
    let url = web.url("/");
    // The object form, and the flat key a root mapping takes.
    let flat = json!({"url": url, "token": SECRET, "requests": [{"url": url}]});
    for cfg in [config(&url, bearer(), json!([{"url": url}])), flat] {
        let r = rt.check(&p, &cfg, FIVE).await;
        assert_eq!(r.status, Status::Ok, "{r:?}");
        assert!(!leaks(&shown(&r)), "the guest saw the secret: {}", shown(&r));
        let details = r.details.clone().unwrap_or_default();
        assert_eq!(details["seen"]["token"], Value::Null, "{details}");
        assert_eq!(details["auth"]["kind"], "bearer", "{details}");
        assert_eq!(details["auth"]["target"], format!("http://127.0.0.1:{}", web.port));
        assert_eq!(results(&r), [json!(200)]);
    }
    let got: Vec<Option<String>> =
        web.requests().iter().map(|r| r.header("authorization").map(str::to_string)).collect();
    assert_eq!(got, vec![Some(format!("Bearer {SECRET}")); 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extra_endpoint_a_look_alike_or_another_port_gets_nothing() {
    let rt = runtime();
    let p = thief(&rt).await;
    let (target, other) = (Server::start(), Server::start());
    target.route("/", Reply::new(200));
    other.route("/", Reply::new(200));
    let url = target.url("/");
    // Declared beside the target: the whole check is refused before it runs.
    for extra in [format!("127.0.0.1:{}", other.port), format!("localhost:{}", target.port)] {
        let mut cfg = config(&url, bearer(), json!([{"url": format!("http://{extra}/")}]));
        cfg["extra"] = json!([extra]);
        let r = rt.check(&p, &cfg, FIVE).await;
        assert_error(&r, "permission denied by sandbox");
        assert!(r.extra.as_deref().is_some_and(|e| e.contains("reaches only")), "{r:?}");
    }
    // Not declared: the request is refused by the sandbox.
    let cfg = config(&url, bearer(), json!([{"url": other.url("/")}, {"url": url}]));
    let r = rt.check(&p, &cfg, FIVE).await;
    assert_eq!(results(&r)[0], json!("ErrorCode::HttpRequestDenied"), "{r:?}");
    assert_eq!(results(&r)[1], json!(200));
    assert_eq!(other.accepted(), 0, "a server beside the target was reached");
    assert!(target.requests().iter().all(|r| r.header("authorization") == Some(&format!("Bearer {SECRET}"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn methods_outside_the_policy_are_refused_and_the_guests_own_header_replaced() {
    let rt = runtime();
    let p = thief(&rt).await;
    let web = Server::start();
    web.route("/", Reply::new(200));
    let url = web.url("/");
    let own = json!([["Authorization", "Bearer guest"], ["X-Amz-Security-Token", "guest"]]);
    let requests = json!([
        {"method": "PUT", "url": url},
        {"method": "DELETE", "url": url},
        {"method": "GET", "url": url, "headers": own},
    ]);
    let r = rt.check(&p, &config(&url, bearer(), requests.clone()), FIVE).await;
    assert_eq!(
        results(&r),
        [json!("ErrorCode::HttpRequestDenied"), json!("ErrorCode::HttpRequestDenied"), json!(200)],
        "{r:?}"
    );
    let seen = web.requests();
    assert_eq!(seen.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(), ["GET"]);
    assert_eq!(seen[0].header("authorization"), Some(format!("Bearer {SECRET}").as_str()));
    assert_eq!(seen[0].header("x-amz-security-token"), None);

    // Allowed by `methods`, a PUT goes, signed.
    let mut auth = bearer();
    auth["methods"] = json!(["GET", "PUT"]);
    let r = rt.check(&p, &config(&url, auth, json!([{"method": "PUT", "url": url}])), FIVE).await;
    assert_eq!(results(&r), [json!(200)], "{r:?}");
    assert_eq!(web.requests().last().map(|r| r.method.clone()).as_deref(), Some("PUT"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinds_put_their_credential_where_it_belongs() {
    let rt = runtime();
    let p = thief(&rt).await;
    let web = Server::start();
    web.route("/x", Reply::new(200));
    web.route("/x?a=1&api_key=s3cret-T0KEN-never-in-a-guest", Reply::new(200));
    let url = web.url("/x");
    let cases = [
        (json!({"kind": "basic", "user": "ann", "password": SECRET}), "authorization", "Basic "),
        (json!({"kind": "header", "name": "X-Api-Key", "value": SECRET}), "x-api-key", SECRET),
    ];
    for (auth, header, starts) in cases {
        let r = rt.check(&p, &config(&url, auth, json!([{"url": url}])), FIVE).await;
        assert_eq!(results(&r), [json!(200)], "{r:?}");
        assert!(!leaks(&shown(&r)), "{}", shown(&r));
        let last = web.requests().pop().expect("a request");
        assert!(last.header(header).is_some_and(|v| v.starts_with(starts)), "{last:?}");
    }
    let auth = json!({"kind": "query", "name": "api_key", "value": SECRET});
    let r = rt.check(&p, &config(&url, auth, json!([{"url": web.url("/x?a=1")}])), FIVE).await;
    assert_eq!(results(&r), [json!(200)], "{r:?}");
    assert_eq!(web.requests().pop().map(|r| r.path), Some(format!("/x?a=1&api_key={SECRET}")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_policies_fail_before_anything_is_sent() {
    let rt = runtime();
    let p = thief(&rt).await;
    let web = Server::start();
    let url = web.url("/");
    for (cfg, why) in [
        (config("http://sonde-test.invalid/", bearer(), json!([])), "plain http beyond this machine"),
        (
            config(&url, json!({"kind": "header", "name": "Host", "value": SECRET}), json!([])),
            "set by the host",
        ),
        (config(&url, json!({"kind": "nope", "token": SECRET}), json!([])), "is not one of"),
        (json!({"url": url, "token": SECRET, "auth": bearer()}), "not both"),
    ] {
        let r = rt.check(&p, &cfg, FIVE).await;
        assert_eq!(r.status, Status::Failed, "{cfg}: {r:?}");
        assert!(r.message.as_deref().is_some_and(|m| m.contains(why)), "{cfg}: {r:?}");
        assert!(!leaks(&shown(&r)), "{}", shown(&r));
    }
    assert_eq!(web.accepted(), 0);
}
