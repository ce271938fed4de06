//! The API side of host-side credentials (DESIGN §4, "Secret binding"): an
//! organization key that moves where an `auth` object's secret goes (its
//! `token_url`, `hosts`, `kind`, `methods` or the target) without giving
//! the secret again is refused with one `missing` entry per secret, and the
//! new address receives nothing; and a target left out is the plugin's
//! default, written into the stored config at create. Local servers record
//! every request they get.

use axum::body::Body;
use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::{Value, json};
use sonde_test_support::http_server::{Reply, Server};

use crate::api::unstructured::{body, connection_check, create, one};
use crate::api::{ACME, Api, OTHER, assert_refused, keys};

const CLIENT_SECRET: &str = "client-secret-bound-7c1";

async fn put(api: &Api, id: &str, key: Option<&str>, body: Value) -> (StatusCode, Value) {
    api.call("PUT", &one(id), key, Some(Body::from(body.to_string()))).await
}

/// A 422 naming exactly `auth.<secret>` for each of `secrets`, as missing.
fn assert_unbound(status: StatusCode, reply: &Value, secrets: &[&str]) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
    let detail = reply["detail"].as_array().unwrap_or_else(|| panic!("no detail list: {reply}"));
    let locs: Vec<Value> = detail.iter().map(|d| d["loc"].clone()).collect();
    let expected: Vec<Value> = secrets.iter().map(|s| json!(["body", "config", "auth", s])).collect();
    assert_eq!(locs, expected, "{reply}");
    for d in detail {
        assert_eq!(
            (keys(d), &d["type"]),
            (vec!["loc".into(), "msg".into(), "type".into()], &json!("missing"))
        );
    }
}

/// A token endpoint that always issues `token` (a recording server that
/// answers as RFC 6749 §5.1 documents).
fn token_endpoint(token: &str) -> Server {
    let idp = Server::start();
    let answer = json!({"access_token": token, "token_type": "Bearer", "expires_in": 300});
    idp.route("/token", Reply::new(200).header("Content-Type", "application/json").body(answer.to_string()));
    idp
}

fn bearers(server: &Server) -> Vec<String> {
    server.requests().iter().filter_map(|r| r.header("authorization").map(str::to_string)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_auth_object_needs_its_secret_again() {
    let api = Api::start().await;
    let idp = token_endpoint("token-from-home");
    let web = Server::start();
    web.route("/", Reply::new(200));
    let (thief_idp, thief_web) = (token_endpoint("token-from-thief"), Server::start());
    thief_web.route("/", Reply::new(200));

    let auth = json!({"kind": "oauth2", "token_url": idp.url("/token"), "client_id": "sonde",
                      "client_secret": CLIENT_SECRET, "hosts": ["api.example.com"]});
    let mut created = body("bound-oauth", "http", json!({"url": web.url("/"), "auth": auth}));
    created["state"] = json!("paused");
    let created = create(&api, ACME, &created).await;
    let id = created["id"].as_str().expect("id").to_string();
    assert!(!created.to_string().contains(CLIENT_SECRET), "the secret is answered: {created}");
    assert_eq!(connection_check(&api, ACME, &id).await["status"], "SUCCESS");
    assert_eq!((idp.requests().len(), bearers(&web)), (1, vec!["Bearer token-from-home".to_string()]));

    // The public part of the stored auth, as Unstructured's SDK would send
    // it back: it never saw the secret.
    let public = json!({"kind": "oauth2", "token_url": idp.url("/token"), "client_id": "sonde",
                        "hosts": ["api.example.com"]});
    let config = |auth: Value, url: &str| json!({"config": {"url": url, "auth": auth}});
    let with = |member: &str, value: Value| {
        let mut a = public.clone();
        a[member] = value;
        a
    };
    // Each with why it moves the secret, as the 422 says it.
    let policy = "the auth policy changes";
    let moves = [
        ("the URL at auth.token_url moves", with("token_url", json!(thief_idp.url("/token"))), web.url("/")),
        (policy, with("hosts", json!(["api.example.com", "evil.example.com"])), web.url("/")),
        (policy, with("kind", json!("jwt_bearer")), web.url("/")),
        (policy, with("methods", json!(["GET", "HEAD", "POST", "DELETE"])), web.url("/")),
        ("the URL at url moves", public.clone(), thief_web.url("/")),
    ];
    for (why, auth, url) in moves {
        let (status, reply) = put(&api, &id, Some(ACME), config(auth, &url)).await;
        assert_unbound(status, &reply, &["client_secret"]);
        assert!(reply["detail"][0]["msg"].as_str().is_some_and(|m| m.contains(why)), "{why}: {reply}");
    }
    // The source still works where it was, and nothing reached the new places.
    assert_eq!(connection_check(&api, ACME, &id).await["status"], "SUCCESS");
    assert_eq!((thief_idp.accepted(), thief_web.accepted()), (0, 0));
    assert_eq!(bearers(&web).len(), 2);

    // The same public config keeps the stored secret (nothing moves).
    let (status, reply) = put(&api, &id, Some(ACME), config(public.clone(), &web.url("/"))).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert!(!reply.to_string().contains(CLIENT_SECRET), "{reply}");

    // Given again, the secret goes where the key sends it: it is the key's own.
    let mut given = with("token_url", json!(thief_idp.url("/token")));
    given["client_secret"] = json!("the-keys-own-secret");
    let (status, reply) = put(&api, &id, Some(ACME), config(given, &thief_web.url("/"))).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(connection_check(&api, ACME, &id).await["status"], "SUCCESS");
    let asked = thief_idp.requests();
    assert_eq!(asked.len(), 1, "{asked:?}");
    // client_secret_basic with the secret given now, not the stored one.
    let basic = base64::engine::general_purpose::STANDARD.encode("sonde:the-keys-own-secret");
    assert_eq!(asked[0].header("authorization"), Some(format!("Basic {basic}").as_str()), "{asked:?}");
    assert_eq!(bearers(&thief_web), ["Bearer token-from-thief"]);
    assert_eq!(idp.requests().len(), 1, "the old token endpoint was asked again");

    // Another organization cannot tell the source exists; no key is a 401.
    let moved = config(public.clone(), &thief_web.url("/"));
    assert_refused_pair(&api, &id, moved).await;
}

async fn assert_refused_pair(api: &Api, id: &str, moved: Value) {
    let (status, reply) = put(api, id, Some(OTHER), moved.clone()).await;
    assert_refused(status, &reply, StatusCode::NOT_FOUND);
    let (status, reply) = put(api, id, None, moved).await;
    assert_refused(status, &reply, StatusCode::UNAUTHORIZED);
    let (status, reply) = api.get(&one(id), Some(OTHER)).await;
    assert_refused(status, &reply, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_source_without_endpoint_url_is_bound_to_aws() {
    let api = Api::start().await;
    // Paused: never checked, so nothing leaves for AWS from a test.
    let config =
        json!({"remote_url": "s3://reports/daily/", "key": "AKIASONDETEST", "secret": CLIENT_SECRET});
    let mut made = body("aws-reports", "s3", config);
    made["state"] = json!("paused");
    let created = create(&api, ACME, &made).await;
    let id = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["config"]["endpoint_url"], "https://s3.amazonaws.com", "{created}");

    let (status, got) = api.get(&one(&id), Some(ACME)).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["config"]["endpoint_url"], "https://s3.amazonaws.com", "{got}");
    assert_eq!(got["config"]["key"], "AKIASONDETEST", "{got}");
    assert!(!got.to_string().contains(CLIENT_SECRET), "the secret is answered: {got}");

    // Pointing it at another endpoint without the secret is refused: the
    // default is as binding as a written endpoint.
    let moved = json!({"config": {"remote_url": "s3://reports/daily/", "key": "AKIASONDETEST",
                                  "endpoint_url": "http://127.0.0.1:9"}});
    let (status, reply) = put(&api, &id, Some(ACME), moved.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
    assert_eq!(reply["detail"][0]["loc"], json!(["body", "config", "secret"]), "{reply}");
    assert_eq!(reply["detail"][0]["type"], "missing", "{reply}");

    let (status, reply) = api.get(&one(&id), None).await;
    assert_refused(status, &reply, StatusCode::UNAUTHORIZED);
    assert_refused_pair(&api, &id, moved).await;
}
