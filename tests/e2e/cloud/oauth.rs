//! The host's token step against a real authorization server (npm
//! `oidc-provider`), through the `http` probe: its `/resource` answers 200
//! only to a live access token, so an OK proves the token reached it, and
//! the provider's own log counts every token request.

use std::time::Duration;

use serde_json::{Value, json};
use sonde::runtime::{CheckReport, Plugin, Runtime, Status};
use sonde_test_support::http_server::{Reply, Server};
use sonde_test_support::oidc::{OidcOptions, OidcProvider, TokenRequest};

use super::{assert_ok, assert_staged, auth_details, extra, shown};
use crate::common::{load, runtime};

const TEN: Duration = Duration::from_secs(10);
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

async fn http_probe() -> (Runtime, Plugin) {
    let rt = runtime();
    let plugin = load(&rt, sonde_test_support::probe("http")).await;
    (rt, plugin)
}

/// One check of `url` with `auth`, which never shows the provider's secrets.
async fn check(rt: &Runtime, plugin: &Plugin, idp: &OidcProvider, url: &str, auth: &Value) -> CheckReport {
    let r = rt.check(plugin, &json!({"url": url, "auth": auth}), TEN).await;
    let text = shown(&r);
    let secrets = [
        idp.basic.client_secret.as_str(),
        idp.post.client_secret.as_str(),
        idp.private_key_jwt.private_key_pem.as_str(),
        idp.jwt_bearer.private_key_pem.as_str(),
        "PRIVATE KEY",
    ];
    for s in secrets {
        assert!(!text.contains(s), "a secret is shown: {text}");
    }
    r
}

fn basic(idp: &OidcProvider) -> Value {
    json!({"kind": "oauth2", "token_url": idp.token_url,
           "client_id": idp.basic.client_id, "client_secret": idp.basic.client_secret})
}

/// (client authentication, client, grant, status) of each token request.
fn summary(seen: &[TokenRequest]) -> Vec<(String, String, String, u16)> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    seen.iter().map(|r| (r.auth.clone(), text(&r.client_id), text(&r.grant_type), r.status)).collect()
}

fn row(auth: &str, client: &str, grant: &str, status: u16) -> (String, String, String, u16) {
    (auth.into(), client.into(), grant.into(), status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_authentication_gets_a_token_the_resource_accepts() {
    let Some(idp) = OidcProvider::start() else { return };
    println!("oidc-provider ready in {:?}", idp.startup);
    let (rt, plugin) = http_probe().await;
    let (k, b) = (&idp.private_key_jwt, &idp.jwt_bearer);
    let mut with_resource = basic(&idp);
    with_resource["resource"] = json!(idp.resource);
    let auths = [
        // client_secret_basic, the default.
        with_resource,
        json!({"kind": "oauth2", "token_url": idp.token_url, "client_auth": "post",
               "client_id": idp.post.client_id, "client_secret": idp.post.client_secret}),
        // private_key_jwt: a client assertion signed with the client's key.
        json!({"kind": "oauth2", "token_url": idp.token_url, "client_id": k.client_id,
               "private_key": k.private_key_pem, "key_id": k.key_id}),
        // RFC 7523's JWT bearer grant; the audience defaults to the token URL.
        json!({"kind": "jwt_bearer", "token_url": idp.token_url, "issuer": b.issuer,
               "private_key": b.private_key_pem, "key_id": b.key_id}),
    ];
    for auth in &auths {
        let r = check(&rt, &plugin, &idp, &idp.resource_url, auth).await;
        assert_ok(&r);
        let details = auth_details(&r);
        assert_eq!(details["kind"], auth["kind"], "{r:?}");
        assert_eq!(details["token_url"], idp.token_url, "{r:?}");
        assert_eq!(details["target"], idp.issuer, "{r:?}");
        assert_eq!(details["token_cached"], false, "{r:?}");
        let expires_in = details["token_expires_in"].as_u64().unwrap_or_else(|| panic!("{r:?}"));
        assert!((200..=300).contains(&expires_in), "{r:?}");
    }
    let seen = idp.token_requests();
    assert_eq!(
        summary(&seen),
        [
            row("basic", &idp.basic.client_id, "client_credentials", 200),
            row("post", &idp.post.client_id, "client_credentials", 200),
            row("jwt", &k.client_id, "client_credentials", 200),
            row("none", &b.client_id, JWT_BEARER, 200),
        ]
    );
    assert_eq!(seen[0].resource.as_deref(), Some(idp.resource.as_str()));
    // Each check's token was live at the resource; none was refused.
    assert_eq!(idp.resource_requests(), (4, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_token_per_lifetime_then_a_new_one() {
    let ttl = Duration::from_secs(3);
    let Some(idp) = OidcProvider::start_with(OidcOptions { token_ttl: ttl, ..Default::default() }) else {
        return;
    };
    let (rt, plugin) = http_probe().await;
    let auth = basic(&idp);
    for i in 0..5 {
        let r = check(&rt, &plugin, &idp, &idp.resource_url, &auth).await;
        assert_ok(&r);
        assert_eq!(auth_details(&r)["token_cached"], i > 0, "check {i}: {r:?}");
    }
    assert_eq!(idp.token_requests().len(), 1, "five checks, one token: {:?}", idp.token_requests());
    assert_eq!(idp.resource_requests(), (5, 0));

    // Past the token's lifetime: a new token, which the resource accepts
    // (the old one it would refuse).
    tokio::time::sleep(ttl + Duration::from_millis(300)).await;
    let r = check(&rt, &plugin, &idp, &idp.resource_url, &auth).await;
    assert_ok(&r);
    assert_eq!(auth_details(&r)["token_cached"], false, "{r:?}");
    assert_eq!(idp.token_requests().len(), 2);
    assert_eq!(idp.resource_requests(), (6, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_client_and_an_unreachable_token_url_fail_at_the_token_step() {
    let Some(idp) = OidcProvider::start() else { return };
    let (rt, plugin) = http_probe().await;
    let auth = basic(&idp);
    assert_ok(&check(&rt, &plugin, &idp, &idp.resource_url, &auth).await);

    // Revoked: the host still holds the token it cached (no new token
    // request), and the resource, which looks the client up, refuses it:
    // the source's own 401.
    idp.revoke(&idp.basic.client_id);
    let r = check(&rt, &plugin, &idp, &idp.resource_url, &auth).await;
    assert_staged(&r, "authentication failed", "auth");
    assert_eq!(auth_details(&r)["token_cached"], true, "{r:?}");
    assert_eq!(idp.token_requests().len(), 1);
    assert_eq!(idp.resource_requests(), (1, 1));

    // Any other member is another cache key: a new token request, refused.
    let mut scoped = auth.clone();
    scoped["scope"] = json!("read");
    let r = check(&rt, &plugin, &idp, &idp.resource_url, &scoped).await;
    assert_staged(&r, "authentication failed", "token");
    assert_eq!(extra(&r)["error"], "invalid_client", "{r:?}");
    let seen = idp.token_requests();
    assert_eq!(summary(&seen[1..]), [row("basic", &idp.basic.client_id, "client_credentials", 401)]);
    // The refused check sent nothing to the resource.
    assert_eq!(idp.resource_requests(), (1, 1));

    // A token URL where nothing listens: ERROR at the token step, and the
    // resource is never asked.
    let mut dead = basic(&idp);
    dead["token_url"] = json!(format!("http://127.0.0.1:{}/token", sonde_test_support::closed_port()));
    let r = check(&rt, &plugin, &idp, &idp.resource_url, &dead).await;
    assert_eq!(r.status, Status::Error, "{r:?}");
    assert_eq!(extra(&r)["stage"], "token", "{r:?}");
    assert_eq!(idp.resource_requests(), (1, 1));
    assert_eq!(idp.token_requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_salesforce_token_must_be_for_the_target_instance() {
    // The instance: a local server that records what it is sent.
    let instance = Server::start();
    instance.route("/services/data/v61.0/limits", Reply::new(200).body("{}"));
    let instance_url = format!("http://127.0.0.1:{}", instance.port);
    // Salesforce's token answers name the instance (its OAuth 2.0 JWT
    // bearer flow's documented response).
    let options =
        OidcOptions { extra_token_fields: Some(json!({"instance_url": instance_url})), ..Default::default() };
    let Some(idp) = OidcProvider::start_with(options) else { return };
    let (rt, plugin) = http_probe().await;
    let b = &idp.jwt_bearer;
    let auth = json!({"kind": "jwt_bearer", "token_url": idp.token_url, "issuer": b.issuer,
                      "private_key": b.private_key_pem, "key_id": b.key_id});

    // Checked at another target (the provider's resource): refused.
    let r = check(&rt, &plugin, &idp, &idp.resource_url, &auth).await;
    assert_staged(&r, "authentication failed", "token");
    let e = extra(&r);
    assert_eq!((&e["instance_url"], &e["target"]), (&json!(instance_url), &json!(idp.issuer)), "{r:?}");
    assert_eq!(idp.resource_requests(), (0, 0), "the token was used: {r:?}");

    // Checked at the instance it names: OK, with the token as a bearer.
    let r = check(&rt, &plugin, &idp, &instance.url("/services/data/v61.0/limits"), &auth).await;
    assert_ok(&r);
    let seen = instance.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let bearer = seen[0].header("authorization").unwrap_or_default();
    assert!(bearer.starts_with("Bearer ") && bearer.len() > 20, "{seen:?}");
    assert!(!shown(&r).contains(&bearer["Bearer ".len()..]), "the token is shown: {r:?}");
    assert_eq!(idp.token_requests().len(), 2);
}
