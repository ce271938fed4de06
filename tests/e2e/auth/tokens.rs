//! The host's own token requests, refused before any packet leaves when
//! the egress policy denies the token URL, and never following a redirect.

use serde_json::json;
use sonde::runtime::{Egress, EgressPolicies, RuntimeConfig};
use sonde_test_support::http_server::{Reply, Server};

use super::{FIVE, SECRET, config, leaks, shown, thief};
use crate::common::{assert_error, runtime, runtime_with};

fn oauth(token_url: &str) -> serde_json::Value {
    json!({"kind": "oauth2", "token_url": token_url, "client_id": "sonde", "client_secret": SECRET})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_url_in_a_denied_range_is_never_reached() {
    let deny = ["127.0.0.2/32".parse().expect("cidr")];
    let egress = EgressPolicies::new(Egress::default()).with_organization("org_t", &deny, &[]);
    let rt = runtime_with(RuntimeConfig { egress, ..RuntimeConfig::default() });
    let p = thief(&rt).await;
    let idp = Server::start_on("127.0.0.2:0".parse().expect("addr")).expect("idp");
    let web = Server::start();
    let token_url = format!("http://127.0.0.2:{}/token", idp.port);
    let cfg = config(&web.url("/"), oauth(&token_url), json!([{"url": web.url("/")}]));
    let r = rt.check_with(&rt.egress("org_t"), &p, &cfg, FIVE).await;
    assert_error(&r, "permission denied by sandbox");
    let extra: serde_json::Value = serde_json::from_str(r.extra.as_deref().unwrap_or("{}")).expect("json");
    assert_eq!(extra["stage"], "token", "{r:?}");
    assert_eq!((idp.accepted(), web.accepted()), (0, 0));
    assert!(!leaks(&shown(&r)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_endpoint_that_redirects_is_not_followed() {
    let rt = runtime();
    let p = thief(&rt).await;
    let (idp, elsewhere, web) = (Server::start(), Server::start(), Server::start());
    idp.route("/token", Reply::new(307).header("Location", &elsewhere.url("/token")));
    let cfg = config(&web.url("/"), oauth(&idp.url("/token")), json!([{"url": web.url("/")}]));
    let r = rt.check(&p, &cfg, FIVE).await;
    assert_error(&r, "authentication failed");
    assert!(r.extra.as_deref().is_some_and(|e| e.contains("redirects are not followed")), "{r:?}");
    assert_eq!((elsewhere.accepted(), web.accepted()), (0, 0));
    // The client secret went in the Authorization header, to the token URL only.
    assert_eq!(idp.requests().len(), 1);
    assert!(idp.requests()[0].header("authorization").is_some_and(|v| v.starts_with("Basic ")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_token_url_fails_and_is_not_hammered() {
    let rt = runtime();
    let p = thief(&rt).await;
    let web = Server::start();
    let dead = format!("http://127.0.0.1:{}/token", sonde_test_support::closed_port());
    let cfg = config(&web.url("/"), oauth(&dead), json!([{"url": web.url("/")}]));
    let r = rt.check(&p, &cfg, FIVE).await;
    assert_error(&r, "connection refused");
    // Asked again at once: the backoff answers, with no new attempt.
    let r = rt.check(&p, &cfg, FIVE).await;
    assert_error(&r, "connection refused");
    assert!(r.extra.as_deref().is_some_and(|e| e.contains("not asked again")), "{r:?}");
    assert_eq!(web.accepted(), 0);
}
