//! Access tokens the host fetches for `oauth2` (client credentials, RFC 6749
//! §4.4, the client authenticated by secret or by a signed assertion, RFC
//! 7523 §2.2) and `jwt_bearer` (RFC 7523 §2.1), and the cache that makes a
//! source checked every minute cost one token request per token lifetime.
//!
//! The cache key is a SHA-256 over the kind, every non-secret member, the
//! target and the secret members: an edit of any of them never reuses a
//! token, and two sources share one only if they hold the same secrets
//! (and so could fetch it themselves). A failed fetch is remembered too, and
//! the endpoint is not asked again until a backoff that doubles with each
//! failure has passed, so retries cannot lock a client out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::fetch::{self, FetchError, Reach};
use super::jwt::{BoxApp, ServiceAccount, SigningKey, base_claims};
use super::policy::{AuthPolicy, Kind, Origin};

/// Entries kept at most; past it, expired ones go, then all.
const MAX_ENTRIES: usize = 4096;
/// Lifetime assumed when a token response names none.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// Backoff after the first failure; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(15);
const MAX_BACKOFF: Duration = Duration::from_secs(900);
/// Lifetime of the assertions the host signs.
const ASSERTION_LIFETIME: i64 = 180;

/// Why no token: a stable message and `extra` members (DESIGN §3, §4).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub message: &'static str,
    pub detail: String,
    /// `error`, `error_description`, `retry_after`, …
    pub members: Map<String, Value>,
}

impl Failure {
    fn new(message: &'static str, detail: impl Into<String>) -> Self {
        Self { message, detail: detail.into(), members: Map::new() }
    }

    /// `extra` as DESIGN §3 shapes it.
    pub fn extra(&self) -> String {
        let mut extra = Map::new();
        extra.insert("stage".into(), "token".into());
        extra.insert("detail".into(), self.detail.clone().into());
        extra.extend(self.members.clone());
        Value::Object(extra).to_string()
    }
}

impl From<FetchError> for Failure {
    fn from(e: FetchError) -> Self {
        let message = match &e {
            FetchError::Denied(_) => "permission denied by sandbox",
            FetchError::Unresolvable(_) => "could not resolve host",
            FetchError::Unreachable(_) => "connection refused",
            FetchError::TimedOut => "timed out",
            FetchError::Protocol(_) => "unexpected protocol",
        };
        Self::new(message, e.to_string())
    }
}

/// A token to send.
#[derive(Clone)]
pub struct Obtained {
    pub access_token: Arc<str>,
    pub cached: bool,
    pub expires_in: Duration,
}

#[derive(Clone)]
enum Entry {
    Token { access_token: Arc<str>, expires_at: Instant, refresh_at: Instant },
    Failed { failure: Failure, retry_at: Instant, failures: u32 },
}

/// Tokens and recent failures, per replica (or agent).
#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache").finish_non_exhaustive()
    }
}

impl TokenCache {
    /// A token for `policy`: the cached one while it is fresh, else one
    /// fetched now, unless the endpoint failed recently.
    pub async fn get(&self, policy: &AuthPolicy, reach: &Reach<'_>) -> Result<Obtained, Failure> {
        let key = cache_key(policy);
        let now = Instant::now();
        match self.lock().get(&key) {
            Some(Entry::Token { access_token, expires_at, refresh_at }) if now < *refresh_at => {
                return Ok(Obtained {
                    access_token: Arc::clone(access_token),
                    cached: true,
                    expires_in: expires_at.saturating_duration_since(now),
                });
            }
            Some(Entry::Failed { failure, retry_at, .. }) if now < *retry_at => {
                let mut failure = failure.clone();
                let wait = retry_at.saturating_duration_since(now).as_secs().max(1);
                failure.detail = format!("{} (not asked again for {wait} s)", failure.detail);
                return Err(failure);
            }
            _ => {}
        }
        match fetch_token(policy, reach).await {
            Ok((access_token, lifetime)) => {
                let access_token: Arc<str> = access_token.into();
                let margin = (lifetime / 5).min(Duration::from_secs(30));
                let entry = Entry::Token {
                    access_token: Arc::clone(&access_token),
                    expires_at: now + lifetime,
                    refresh_at: now + lifetime - margin,
                };
                self.insert(key, entry);
                Ok(Obtained { access_token, cached: false, expires_in: lifetime })
            }
            Err(failure) => {
                let failures = match self.lock().get(&key) {
                    Some(Entry::Failed { failures, .. }) => failures + 1,
                    _ => 1,
                };
                let backoff = FIRST_BACKOFF.saturating_mul(1 << (failures - 1).min(10)).min(MAX_BACKOFF);
                let entry =
                    Entry::Failed { failure: failure.clone(), retry_at: Instant::now() + backoff, failures };
                self.insert(key, entry);
                Err(failure)
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn insert(&self, key: [u8; 32], entry: Entry) {
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            let now = Instant::now();
            entries.retain(|_, e| match e {
                Entry::Token { expires_at, .. } => *expires_at > now,
                Entry::Failed { retry_at, .. } => *retry_at > now,
            });
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, entry);
    }
}

fn cache_key(policy: &AuthPolicy) -> [u8; 32] {
    let material = json!({
        "kind": policy.kind.as_str(),
        "public": policy.public_members(),
        "target": policy.target.url(),
        "secret": policy.secret_members(),
    });
    let digest = ring::digest::digest(&ring::digest::SHA256, material.to_string().as_bytes());
    let mut key = [0u8; 32];
    key.copy_from_slice(digest.as_ref());
    key
}

/// The token URL of a policy: the member, or a service account's own.
pub fn token_url(policy: &AuthPolicy) -> Option<String> {
    policy.text("token_url").map(str::to_string).or_else(|| {
        let sa = policy.value("service_account").and_then(|v| ServiceAccount::parse(v).ok())?;
        Some(sa.token_uri)
    })
}

/// One token request; the token and its lifetime.
async fn fetch_token(policy: &AuthPolicy, reach: &Reach<'_>) -> Result<(String, Duration), Failure> {
    let refused = |detail: String| Failure::new("authentication failed", detail);
    let url = token_url(policy).ok_or_else(|| refused("no token_url".into()))?;
    let origin = Origin::of_url(&url).map_err(refused)?;
    if !origin.https && !origin.is_loopback() {
        return Err(refused("token_url must be https (plain http only to this machine)".into()));
    }
    let (headers, body) = token_request(policy, &url)?;
    let answer = fetch::post_form(reach, &url, &headers, body).await?;
    read_answer(policy, &answer)
}

/// Headers of a token request beside its form.
type Headers = Vec<(&'static str, String)>;

/// The headers and form of a token request. Not async: the form's
/// serializer is not `Send`.
fn token_request(policy: &AuthPolicy, url: &str) -> Result<(Headers, String), Failure> {
    let refused = |detail: String| Failure::new("authentication failed", detail);
    let url = url.to_string();
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    let mut headers = Vec::new();
    let key_error = |e: super::jwt::KeyError| Failure::new("authentication failed", e.to_string());
    match policy.kind {
        Kind::OAuth2 => {
            // A refresh token (Dropbox's offline access) trades for an
            // access token; otherwise the client's own credentials do.
            match policy.text("refresh_token") {
                Some(refresh) => {
                    form.append_pair("grant_type", "refresh_token");
                    form.append_pair("refresh_token", refresh);
                }
                None => {
                    form.append_pair("grant_type", "client_credentials");
                }
            }
            let client_id = policy.text("client_id").unwrap_or_default();
            if let Some(pem) = policy.text("private_key") {
                let key = SigningKey::from_pem_with(pem, policy.text("passphrase")).map_err(key_error)?;
                let mut claims = base_claims(ASSERTION_LIFETIME);
                claims.insert("iss".into(), client_id.into());
                claims.insert("sub".into(), client_id.into());
                claims.insert("aud".into(), url.clone().into());
                let assertion = key.jwt(policy.text("key_id"), &claims).map_err(key_error)?;
                form.append_pair("client_id", client_id);
                form.append_pair(
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                );
                form.append_pair("client_assertion", &assertion);
            } else if policy.text("client_secret").is_none() {
                form.append_pair("client_id", client_id);
            } else if policy.text("client_auth") == Some("post") {
                form.append_pair("client_id", client_id);
                form.append_pair("client_secret", policy.text("client_secret").unwrap_or_default());
            } else {
                // RFC 6749 §2.3.1: each part form-encoded, then base64.
                let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                let pair =
                    format!("{}:{}", enc(client_id), enc(policy.text("client_secret").unwrap_or_default()));
                let basic = base64::engine::general_purpose::STANDARD.encode(pair);
                headers.push(("authorization", format!("Basic {basic}")));
            }
            for member in ["scope", "audience", "resource"] {
                if let Some(v) = policy.text(member) {
                    form.append_pair(member, v);
                }
            }
        }
        Kind::JwtBearer if policy.value("box_app_config").is_some() => {
            // Box's JWT server authentication: the app's own file names the
            // client, its key and the enterprise the token is for.
            let app = policy.value("box_app_config").map(BoxApp::parse).transpose().map_err(refused)?;
            let app = app.ok_or_else(|| refused("no box_app_config".into()))?;
            let key =
                SigningKey::from_pem_with(&app.private_key, Some(&app.passphrase)).map_err(key_error)?;
            // Box takes assertions that expire within 60 s.
            let mut claims = base_claims(45);
            claims.insert("iss".into(), app.client_id.clone().into());
            claims.insert("sub".into(), app.enterprise_id.clone().into());
            claims.insert("box_sub_type".into(), "enterprise".into());
            claims.insert("aud".into(), url.clone().into());
            let assertion = key.jwt(Some(&app.key_id), &claims).map_err(key_error)?;
            form.append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer");
            form.append_pair("assertion", &assertion);
            form.append_pair("client_id", &app.client_id);
            form.append_pair("client_secret", &app.client_secret);
        }
        Kind::JwtBearer => {
            let sa =
                policy.value("service_account").map(ServiceAccount::parse).transpose().map_err(refused)?;
            let (pem, issuer, key_id) = match &sa {
                Some(sa) => {
                    (sa.private_key.as_str(), Some(sa.client_email.as_str()), sa.private_key_id.as_deref())
                }
                None => (
                    policy.text("private_key").unwrap_or_default(),
                    policy.text("issuer"),
                    policy.text("key_id"),
                ),
            };
            let key = SigningKey::from_pem_with(pem, policy.text("passphrase")).map_err(key_error)?;
            let mut claims = base_claims(ASSERTION_LIFETIME);
            claims.insert("iss".into(), issuer.or(policy.text("client_id")).unwrap_or_default().into());
            claims.insert("aud".into(), policy.text("audience").unwrap_or(&url).into());
            if let Some(sub) = policy.text("subject") {
                claims.insert("sub".into(), sub.into());
            }
            if let Some(scope) = policy.text("scope") {
                claims.insert("scope".into(), scope.into());
            }
            let assertion = key.jwt(key_id, &claims).map_err(key_error)?;
            form.append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer");
            form.append_pair("assertion", &assertion);
            if let Some(id) = policy.text("client_id") {
                form.append_pair("client_id", id);
            }
            if let Some(secret) = policy.text("client_secret") {
                form.append_pair("client_secret", secret);
            }
        }
        _ => return Err(refused(format!("kind {} fetches no token", policy.kind.as_str()))),
    }
    Ok((headers, form.finish()))
}

/// The token and lifetime in a token endpoint's answer, or its refusal.
fn read_answer(policy: &AuthPolicy, answer: &fetch::Answer) -> Result<(String, Duration), Failure> {
    if (300..400).contains(&answer.status) {
        let to = answer.location.as_deref().unwrap_or("(no Location)");
        return Err(Failure::new(
            "authentication failed",
            format!("the token endpoint answered HTTP {} to {to}; redirects are not followed", answer.status),
        ));
    }
    let json: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    let text = |k: &str| json.get(k).and_then(Value::as_str).map(str::to_string);
    if answer.status != 200 || text("access_token").is_none() {
        let mut failure = Failure::new(
            if answer.status == 429 { "rate limited" } else { "authentication failed" },
            format!("the token endpoint answered HTTP {}", answer.status),
        );
        for k in ["error", "error_description"] {
            if let Some(v) = text(k) {
                failure.members.insert(k.into(), v.chars().take(512).collect::<String>().into());
            }
        }
        return Err(failure);
    }
    // Salesforce names the instance the token is for; it must be the target.
    if let Some(instance) = text("instance_url") {
        let same = Origin::of_url(&instance).is_ok_and(|o| o == policy.target);
        if !same {
            let mut failure = Failure::new(
                "authentication failed",
                format!("the token is for {instance}, not the configured target {}", policy.target.url()),
            );
            failure.members.insert("instance_url".into(), instance.into());
            failure.members.insert("target".into(), policy.target.url().into());
            return Err(failure);
        }
    }
    let lifetime = json
        .get("expires_in")
        .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
        .map_or(DEFAULT_LIFETIME, Duration::from_secs);
    Ok((text("access_token").unwrap_or_default(), lifetime))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(auth: Value) -> AuthPolicy {
        crate::runtime::sandbox::auth::policy::object_policy("https://my.example.com/x", auth)
    }

    fn answer(status: u16, body: Value) -> fetch::Answer {
        fetch::Answer { status, location: None, body: body.to_string().into() }
    }

    #[test]
    fn a_refusal_carries_the_endpoints_error() {
        let p = policy(
            json!({"kind": "oauth2", "token_url": "https://idp.example/t", "client_id": "c", "client_secret": "s"}),
        );
        let f =
            read_answer(&p, &answer(401, json!({"error": "invalid_client", "error_description": "nope"})))
                .expect_err("refused");
        assert_eq!(f.message, "authentication failed");
        let extra: Value = serde_json::from_str(&f.extra()).expect("json");
        assert_eq!(
            (extra["stage"].as_str(), extra["error"].as_str()),
            (Some("token"), Some("invalid_client"))
        );
    }

    /// Salesforce's documented token response (OAuth 2.0 JWT Bearer Flow for
    /// Server-to-Server Integration) names `instance_url`.
    #[test]
    fn a_token_for_another_instance_is_refused() {
        let p = policy(
            json!({"kind": "jwt_bearer", "token_url": "https://login.salesforce.com/services/oauth2/token",
                              "private_key": "k", "issuer": "i"}),
        );
        let body = json!({"access_token": "00Dxx!AR8AQ", "scope": "api", "instance_url": "https://other.my.salesforce.com",
                          "id": "https://login.salesforce.com/id/00Dxx/005xx", "token_type": "Bearer"});
        let f = read_answer(&p, &answer(200, body.clone())).expect_err("other instance");
        assert_eq!(f.members.get("instance_url"), Some(&Value::from("https://other.my.salesforce.com")));
        let mut ours = body;
        ours["instance_url"] = "https://my.example.com".into();
        let (token, lifetime) = read_answer(&p, &answer(200, ours)).expect("ours");
        assert_eq!((token.as_str(), lifetime), ("00Dxx!AR8AQ", DEFAULT_LIFETIME));
    }

    #[test]
    fn a_redirect_is_not_followed() {
        let p = policy(
            json!({"kind": "oauth2", "token_url": "https://idp.example/t", "client_id": "c", "client_secret": "s"}),
        );
        let mut a = answer(302, Value::Null);
        a.location = Some("https://evil.example/t".into());
        let f = read_answer(&p, &a).expect_err("redirect");
        assert!(f.detail.contains("redirects are not followed"), "{}", f.detail);
    }

    /// The form of a token request, decoded.
    fn form(policy: &AuthPolicy) -> (Headers, std::collections::BTreeMap<String, String>) {
        let url = token_url(policy).unwrap_or_default();
        let (headers, body) = token_request(policy, &url).expect("a request");
        (headers, url::form_urlencoded::parse(body.as_bytes()).into_owned().collect())
    }

    /// The claims of a compact JWT, unverified.
    fn claims(jwt: &str) -> Value {
        use base64::Engine as _;
        let part = jwt.split('.').nth(1).unwrap_or_default();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("base64");
        serde_json::from_slice(&bytes).expect("claims")
    }

    /// Dropbox's documented refresh ("grant_type=refresh_token", the app's
    /// key and secret as HTTP Basic: dropbox.com/developers/documentation/http/documentation#oauth2-token).
    #[test]
    fn a_refresh_token_is_traded_with_the_clients_basic_credentials() {
        let p = policy(json!({"kind": "oauth2", "token_url": "https://api.dropboxapi.com/oauth2/token",
                              "client_id": "app-key", "client_secret": "app-secret", "refresh_token": "r1"}));
        let (headers, form) = form(&p);
        assert_eq!(form.get("grant_type").map(String::as_str), Some("refresh_token"));
        assert_eq!(form.get("refresh_token").map(String::as_str), Some("r1"));
        assert!(!form.contains_key("client_secret"), "the secret goes in the header: {form:?}");
        assert_eq!(headers, vec![("authorization", "Basic YXBwLWtleTphcHAtc2VjcmV0".to_string())]);
    }

    /// Box's documented JWT assertion (developer.box.com/guides/authentication/jwt/without-sdk):
    /// iss = client ID, sub = enterprise ID, box_sub_type, aud = the token URL,
    /// kid = the public key ID, and the client's id and secret in the form.
    #[test]
    fn a_box_app_file_makes_boxs_assertion() {
        let pem = include_str!("testdata/rsa.encrypted.pem");
        let file = json!({"boxAppSettings": {"clientID": "cid", "clientSecret": "csecret",
            "appAuth": {"publicKeyID": "kid1", "privateKey": pem, "passphrase": "sonde-test"}}, "enterpriseID": "42"});
        let p = policy(json!({"kind": "jwt_bearer", "token_url": "https://api.box.com/oauth2/token",
                              "box_app_config": file.to_string()}));
        let (headers, form) = form(&p);
        assert!(headers.is_empty());
        assert_eq!(
            form.get("grant_type").map(String::as_str),
            Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
        );
        assert_eq!(
            (form.get("client_id"), form.get("client_secret")),
            (Some(&"cid".to_string()), Some(&"csecret".to_string()))
        );
        let c = claims(form.get("assertion").expect("assertion"));
        assert_eq!(
            (c["iss"].as_str(), c["sub"].as_str(), c["box_sub_type"].as_str()),
            (Some("cid"), Some("42"), Some("enterprise"))
        );
        assert_eq!(c["aud"], "https://api.box.com/oauth2/token");
        let lifetime = c["exp"].as_i64().unwrap_or_default() - c["iat"].as_i64().unwrap_or_default();
        assert!(lifetime <= 60, "Box wants exp within 60 s: {lifetime}");
    }

    #[test]
    fn any_change_makes_another_key() {
        let base = json!({"kind": "oauth2", "token_url": "https://idp.example/t", "client_id": "c", "client_secret": "s"});
        let k = cache_key(&policy(base.clone()));
        for (member, value) in [
            ("client_secret", "s2"),
            ("client_id", "c2"),
            ("scope", "x"),
            ("token_url", "https://idp.example/u"),
        ] {
            let mut other = base.clone();
            other[member] = value.into();
            assert_ne!(cache_key(&policy(other)), k, "{member}");
        }
    }
}
