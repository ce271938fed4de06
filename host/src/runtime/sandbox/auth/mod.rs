//! Credentials by the host (DESIGN §4, "Auth policy"): a source's `auth`
//! is read from its config by the host, kept out of the guest, and put on
//! the guest's `wasi:http` requests to the target only.
//!
//! A check with `auth` runs like this:
//! 1. [`policy`]: the policy is read from the config under the plugin's
//!    markers ([`crate::schema::auth`]); the guest gets the config without
//!    any secret member ([`policy::guest_config`]).
//! 2. The grant refuses any declared endpoint that is not the target or one
//!    of `hosts` ([`Prepared::check_endpoints`]).
//! 3. [`Prepared::prepare`]: the credential is made ready before the guest
//!    runs: a token from the [`token`] cache (fetched by [`fetch`] when
//!    needed), a JWT [`jwt`] signs, or the static header.
//! 4. [`apply`]: each request to the target gets it; SigV4 ([`sigv4`]) and
//!    SharedKey ([`azure`]) sign each request.
//! 5. `details.auth` says what was used, never a token or a key.
//!
//! # Layout
//! - [`policy`]: kinds, members, target, methods.
//! - [`apply`]: the request side.
//! - [`sigv4`], [`azure`]: per-request signatures.
//! - [`jwt`]: keys and signed tokens; Google service accounts.
//! - [`token`]: token grants, the cache and its backoff.
//! - [`fetch`]: the host's own request to a token endpoint.

pub mod apply;
pub mod azure;
pub mod fetch;
pub mod jwt;
pub mod policy;
pub mod sigv4;
pub mod token;

use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use http::header::{HeaderName, HeaderValue};
use serde_json::{Map, Value, json};

use crate::bindings::Endpoint;
pub use policy::{AuthError, AuthPolicy, Kind, Origin};
use token::{Failure, TokenCache};

/// Lifetime of a `signed_jwt` token.
const SIGNED_JWT_LIFETIME: i64 = 300;

/// What goes on a request to the target.
enum Credential {
    Header(HeaderName, HeaderValue),
    /// `name=value`, encoded, appended to the query.
    Query(String),
    /// SigV4, computed per request.
    Signed,
    /// SharedKey, computed per request with this account and key.
    Azure {
        account: String,
        key: String,
    },
}

/// One check's credential, ready before the guest runs. Its `Debug` shows
/// the policy's public side only.
pub struct Prepared {
    pub policy: AuthPolicy,
    credential: Credential,
    /// `details.auth`.
    pub details: Value,
    /// Values to mask in anything the guest prints (a token it was never
    /// given could still come back in an echo).
    pub mask: Vec<String>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("policy", &self.policy)
            .field("details", &self.details)
            .finish_non_exhaustive()
    }
}

/// Set once per check, after the token step; read by the sender.
pub type Slot = Arc<OnceLock<Arc<Prepared>>>;

impl Prepared {
    /// The credential of `policy`, fetching a token if its kind needs one.
    pub async fn prepare(
        policy: AuthPolicy,
        cache: &TokenCache,
        reach: &fetch::Reach<'_>,
    ) -> Result<Self, Failure> {
        let mut details = Map::new();
        details.insert("kind".into(), policy.kind.as_str().into());
        details.insert("target".into(), policy.target.url().into());
        let bad = |e: String| Failure { message: "authentication failed", detail: e, members: Map::new() };
        let mut mask = Vec::new();
        let credential = match policy.kind {
            Kind::Bearer => {
                // `scheme` for APIs that spell it otherwise (`ApiKey` for Elasticsearch).
                let scheme = format!("{} ", policy.text("scheme").unwrap_or("Bearer"));
                if scheme.trim().is_empty()
                    || !scheme.trim().chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
                {
                    return Err(bad("auth: `scheme` must be one word".into()));
                }
                bearer("authorization", &scheme, policy.text("token").unwrap_or_default())?
            }
            Kind::Basic => {
                let pair = format!(
                    "{}:{}",
                    policy.text("user").unwrap_or_default(),
                    policy.text("password").unwrap_or_default()
                );
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                mask.push(encoded.clone());
                bearer("authorization", "Basic ", &encoded)?
            }
            Kind::Header => {
                bearer(policy.text("name").unwrap_or_default(), "", policy.text("value").unwrap_or_default())?
            }
            Kind::Query => {
                let value = policy.text("value").unwrap_or_default();
                let pair = match policy.text("name") {
                    Some(name) => {
                        url::form_urlencoded::Serializer::new(String::new()).append_pair(name, value).finish()
                    }
                    // A SAS token is a whole query string.
                    None => value.trim_start_matches('?').to_string(),
                };
                if pair.contains(['#', ' ', '\r', '\n']) {
                    return Err(bad("auth: the query credential holds '#', a space or a line break".into()));
                }
                Credential::Query(pair)
            }
            Kind::OAuth2 | Kind::JwtBearer => {
                if let Some(url) = token::token_url(&policy) {
                    details.insert("token_url".into(), url.into());
                }
                let obtained = cache.get(&policy, reach).await?;
                details.insert("token_cached".into(), obtained.cached.into());
                details.insert("token_expires_in".into(), obtained.expires_in.as_secs().into());
                mask.push(obtained.access_token.to_string());
                bearer("authorization", "Bearer ", &obtained.access_token)?
            }
            Kind::SignedJwt => {
                let token = signed_jwt(&policy).map_err(bad)?;
                mask.push(token.clone());
                let header = policy.text("header").unwrap_or("Authorization: Bearer");
                let (name, scheme) = header.split_once(':').unwrap_or((header, ""));
                let scheme = scheme.trim();
                let prefix = if scheme.is_empty() { String::new() } else { format!("{scheme} ") };
                apply::check_header_name(name.trim()).map_err(bad)?;
                bearer(name.trim(), &prefix, &token)?
            }
            Kind::AwsSigV4 => Credential::Signed,
            Kind::AzureSharedKey => azure_credential(&policy).map_err(bad)?,
        };
        if !details.contains_key("token_cached") {
            details.insert("token_cached".into(), false.into());
        }
        Ok(Self { policy, credential, details: Value::Object(details), mask })
    }

    /// Declared endpoints outside the target and `hosts`, as `host:port`.
    pub fn outside(policy: &AuthPolicy, endpoints: &[Endpoint]) -> Vec<String> {
        endpoints
            .iter()
            .filter(|e| {
                let host = e.host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
                !policy.origins.iter().any(|o| o.host == host && o.port == e.port)
            })
            .map(|e| format!("{}:{}", e.host, e.port))
            .collect()
    }
}

/// SharedKey from `account` and `key`, or from an Azure connection string
/// (`AccountName=…;AccountKey=…`, or its `SharedAccessSignature`, which is
/// then sent as a query credential).
fn azure_credential(policy: &AuthPolicy) -> Result<Credential, String> {
    let (mut account, mut key) =
        (policy.text("account").map(str::to_string), policy.text("key").map(str::to_string));
    if let Some(conn) = policy.text("connection_string") {
        let mut sas = None;
        for part in conn.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            match name {
                "AccountName" => account = account.or(Some(value.to_string())),
                "AccountKey" => key = key.or(Some(value.to_string())),
                "SharedAccessSignature" => sas = Some(value.trim_start_matches('?').to_string()),
                _ => {}
            }
        }
        if key.is_none()
            && let Some(sas) = sas
        {
            if sas.contains(['#', ' ', '\r', '\n']) {
                return Err(
                    "auth: the connection string's SharedAccessSignature is not a query string".into()
                );
            }
            return Ok(Credential::Query(sas));
        }
    }
    let account =
        account.ok_or("auth: azure_shared_key needs `account` (or AccountName in the connection string)")?;
    let key = key.ok_or("auth: azure_shared_key needs `key` (or AccountKey in the connection string)")?;
    if base64::engine::general_purpose::STANDARD.decode(key.trim()).is_err() {
        return Err(azure::BadKey.to_string());
    }
    Ok(Credential::Azure { account, key })
}

fn bearer(name: &str, prefix: &str, value: &str) -> Result<Credential, Failure> {
    let bad = |what: &str| Failure {
        message: "authentication failed",
        detail: format!("auth: the credential is not a valid {what}"),
        members: Map::new(),
    };
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad("header name"))?;
    let mut value = HeaderValue::from_str(&format!("{prefix}{value}")).map_err(|_| bad("header value"))?;
    value.set_sensitive(true);
    Ok(Credential::Header(name, value))
}

/// A `signed_jwt` token: `issuer` and `subject` may name
/// `{public_key_fingerprint}` (Snowflake's `SHA256:…` of the public key).
fn signed_jwt(policy: &AuthPolicy) -> Result<String, String> {
    let key = jwt::SigningKey::from_pem(policy.text("private_key").unwrap_or_default())
        .map_err(|e| e.to_string())?;
    let fill = |s: &str| s.replace("{public_key_fingerprint}", &key.fingerprint());
    let mut claims = jwt::base_claims(SIGNED_JWT_LIFETIME);
    if let Some(Value::Object(extra)) = policy.value("claims") {
        claims.extend(extra.clone());
    }
    claims.insert("iss".into(), fill(policy.text("issuer").unwrap_or_default()).into());
    if let Some(sub) = policy.text("subject") {
        claims.insert("sub".into(), fill(sub).into());
    }
    if let Some(aud) = policy.text("audience") {
        claims.insert("aud".into(), aud.into());
    }
    key.jwt(policy.text("key_id"), &claims).map_err(|e| e.to_string())
}

/// `details` with `auth` added (made an object when it was empty).
pub fn add_details(details: Option<Value>, auth: &Value) -> Option<Value> {
    match details {
        None => Some(json!({"auth": auth})),
        Some(Value::Object(mut map)) => {
            map.insert("auth".into(), auth.clone());
            Some(Value::Object(map))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn policy(auth: Value) -> AuthPolicy {
        super::policy::object_policy("https://a.example/", auth)
    }

    #[test]
    fn an_azure_connection_string_gives_its_key_or_its_sas() {
        let conn =
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net";
        let p = policy(json!({"kind": "azure_shared_key", "connection_string": conn}));
        assert!(
            matches!(azure_credential(&p), Ok(Credential::Azure { account, key }) if account == "acct" && key == "a2V5")
        );
        let sas = "BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2021&sig=abc%3D";
        let p = policy(json!({"kind": "azure_shared_key", "connection_string": sas}));
        assert!(matches!(azure_credential(&p), Ok(Credential::Query(q)) if q == "sv=2021&sig=abc%3D"));
        let p = policy(json!({"kind": "azure_shared_key", "connection_string": "AccountName=acct"}));
        assert!(azure_credential(&p).is_err());
    }
}
