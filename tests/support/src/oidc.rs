//! A real OAuth 2.0 authorization server for the host's token steps: npm
//! `oidc-provider` run by `tests/support/node/oidc.mjs` on a free loopback
//! port, over plain HTTP (which the host allows to loopback only).
//!
//! It has four clients, one per way the host authenticates:
//! `client_secret_basic`, `client_secret_post`, `private_key_jwt`
//! (RFC 7523 §2.2) and the JWT bearer grant (RFC 7523 §2.1, registered with
//! the provider's `registerGrantType`). Every token request is counted; a
//! client can be revoked while the server runs; `/resource` answers 200 only
//! to a live access token.
//!
//! ```ignore
//! let idp = OidcProvider::start_with(OidcOptions { token_ttl: Duration::from_secs(3), ..Default::default() })?;
//! // auth = {"kind": "oauth2", "token_url": idp.token_url, "client_id": idp.basic.client_id, ...}
//! assert_eq!(idp.token_requests().len(), 1);
//! idp.revoke(&idp.basic.client_id);
//! ```

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::in_ci;
use crate::node::{self, NodeProcess};

/// The key type of the clients that sign JWTs (the host supports both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlg {
    Rs256,
    Es256,
}

impl KeyAlg {
    pub fn name(self) -> &'static str {
        match self {
            KeyAlg::Rs256 => "RS256",
            KeyAlg::Es256 => "ES256",
        }
    }
}

/// How the server is set up.
#[derive(Debug, Clone)]
pub struct OidcOptions {
    /// Lifetime of every access token (`expires_in`). Default 300 s.
    pub token_ttl: Duration,
    /// The one resource indicator (RFC 8707) it knows, which is also the
    /// default when a request names none. A request for another is
    /// `invalid_target`. Default `https://api.sonde.test`.
    pub resource: String,
    /// The scopes a client may ask for. Default `["read"]`.
    pub scopes: Vec<String>,
    /// The key type of `private_key_jwt` and `jwt_bearer`. Default RS256.
    pub key_alg: KeyAlg,
    /// Members added to every successful token answer (a vendor's extras,
    /// such as Salesforce's `instance_url`). Default none.
    pub extra_token_fields: Option<Value>,
}

impl Default for OidcOptions {
    fn default() -> Self {
        Self {
            token_ttl: Duration::from_secs(300),
            resource: "https://api.sonde.test".to_string(),
            scopes: vec!["read".to_string()],
            key_alg: KeyAlg::Rs256,
            extra_token_fields: None,
        }
    }
}

/// A client that authenticates with a secret.
#[derive(Debug, Clone)]
pub struct SecretClient {
    pub client_id: String,
    pub client_secret: String,
}

/// A client that authenticates with a signed JWT.
#[derive(Debug, Clone)]
pub struct KeyClient {
    pub client_id: String,
    /// The `iss` its JWTs must carry: the client_id for `private_key_jwt`;
    /// for the JWT bearer grant a service-account-like name of its own.
    pub issuer: String,
    /// The `kid` of its public key at the server.
    pub key_id: String,
    /// PKCS#8 PEM of its private key; the server holds only the public key.
    pub private_key_pem: String,
    pub alg: KeyAlg,
}

/// One token request the server answered, in arrival order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    /// The client it named (by form field, Basic user or assertion `iss`).
    pub client_id: Option<String>,
    /// `basic`, `post`, `jwt` (a client assertion) or `none`.
    pub auth: String,
    pub scope: Option<String>,
    pub resource: Option<String>,
    pub audience: Option<String>,
    /// The HTTP status of the answer.
    pub status: u16,
}

/// The running server. Killed on drop.
pub struct OidcProvider {
    pub port: u16,
    /// `http://127.0.0.1:{port}`: the issuer, and an accepted `aud` of client assertions.
    pub issuer: String,
    /// `{issuer}/token`: the token endpoint, and the `aud` JWTs should carry.
    pub token_url: String,
    /// `{issuer}/resource`: 200 with `{"client_id", "scope", "aud"}` for a
    /// live `Authorization: Bearer` access token, else 401 `invalid_token`.
    pub resource_url: String,
    /// The resource indicator of [`OidcOptions::resource`].
    pub resource: String,
    pub basic: SecretClient,
    pub post: SecretClient,
    pub private_key_jwt: KeyClient,
    pub jwt_bearer: KeyClient,
    /// From spawning node to the server listening.
    pub startup: Duration,
    process: NodeProcess,
}

impl OidcProvider {
    /// With [`OidcOptions::default`].
    pub fn start() -> Option<Self> {
        Self::start_with(OidcOptions::default())
    }

    /// None (skip) when node or `oidc-provider` is not installed, outside CI.
    pub fn start_with(options: OidcOptions) -> Option<Self> {
        node::require_package("oidc-provider")?;
        let alg = options.key_alg.name();
        let extra = options.extra_token_fields.clone().unwrap_or(Value::Null);
        let pid = std::process::id();
        let clients = json!([
            {"client_id": "sonde-basic", "auth": "client_secret_basic",
             "client_secret": format!("basic-secret-{pid}"), "extra_token_fields": extra},
            {"client_id": "sonde-post", "auth": "client_secret_post",
             "client_secret": format!("post-secret-{pid}"), "extra_token_fields": extra},
            {"client_id": "sonde-key", "auth": "private_key_jwt", "alg": alg,
             "key_id": "sonde-key-1", "extra_token_fields": extra},
            {"client_id": "sonde-bearer", "auth": "jwt_bearer", "alg": alg, "key_id": "sonde-bearer-1",
             "jwt_issuer": "sonde-probe@sonde-test.iam.example", "extra_token_fields": extra},
        ]);
        let config = json!({
            "ttl": options.token_ttl.as_secs().max(1),
            "resource": options.resource,
            "scopes": options.scopes,
            "clients": clients,
        });
        // Node makes several RSA keys before it listens; under a loaded
        // test run that once took more than 30 s. One CI run saw a node
        // that stayed silent for 90 s: such a one is reported (where it
        // hung) and replaced once.
        let started = Instant::now();
        let mut tries = 0;
        let (process, ready) = loop {
            tries += 1;
            let dir = node::temp_dir("oidc");
            let config_file = dir.join("config.json");
            std::fs::write(&config_file, config.to_string()).expect("writing the oidc config");
            let script = node::dir().join("oidc.mjs");
            let process = match NodeProcess::start(&script, &[config_file.display().to_string()], dir) {
                Ok(p) => p,
                Err(e) if !in_ci() => {
                    eprintln!("SKIPPED: cannot start node: {e}");
                    return None;
                }
                Err(e) => panic!("starting node {}: {e}", script.display()),
            };
            match process.wait_for(Duration::from_secs(60), |v| v["event"] == "listening") {
                Ok(ready) => break (process, ready),
                Err(why) if tries < 2 => eprintln!("oidc-provider did not start, starting another: {why}"),
                Err(why) => panic!("oidc-provider did not start, twice: {why}"),
            }
        };
        let startup = started.elapsed();
        let text = |v: &Value| v.as_str().expect("a string in the listening line").to_string();
        let key_client = |id: &str, issuer: &str, kid: &str| KeyClient {
            client_id: id.to_string(),
            issuer: issuer.to_string(),
            key_id: kid.to_string(),
            private_key_pem: text(&ready["private_keys"][id]),
            alg: options.key_alg,
        };
        let issuer = text(&ready["issuer"]);
        Some(Self {
            port: u16::try_from(ready["port"].as_u64().expect("port")).expect("a port"),
            token_url: text(&ready["token_url"]),
            resource_url: format!("{issuer}/resource"),
            issuer,
            resource: options.resource.clone(),
            basic: SecretClient {
                client_id: "sonde-basic".into(),
                client_secret: format!("basic-secret-{pid}"),
            },
            post: SecretClient {
                client_id: "sonde-post".into(),
                client_secret: format!("post-secret-{pid}"),
            },
            private_key_jwt: key_client("sonde-key", "sonde-key", "sonde-key-1"),
            jwt_bearer: key_client("sonde-bearer", "sonde-probe@sonde-test.iam.example", "sonde-bearer-1"),
            startup,
            process,
        })
    }

    /// Every token request answered so far, in order.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        let text = |v: &Value| v.as_str().map(str::to_string);
        self.process
            .lines()
            .iter()
            .filter(|v| v["event"] == "token_request")
            .map(|v| TokenRequest {
                grant_type: text(&v["grant_type"]),
                client_id: text(&v["client_id"]),
                auth: text(&v["auth"]).unwrap_or_default(),
                scope: text(&v["scope"]),
                resource: text(&v["resource"]),
                audience: text(&v["audience"]),
                status: v["status"].as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or(0),
            })
            .collect()
    }

    /// How many `/resource` requests came with a live token, and how many without.
    pub fn resource_requests(&self) -> (usize, usize) {
        let lines = self.process.lines();
        let seen = lines.iter().filter(|v| v["event"] == "resource_request");
        seen.fold((0, 0), |(ok, bad), v| if v["ok"] == true { (ok + 1, bad) } else { (ok, bad + 1) })
    }

    /// Removes `client_id` from the provider's client store: its next token
    /// request is `invalid_client` (401), and `/resource` refuses the tokens
    /// it already has (it looks their client up, as oidc-provider's own
    /// token lookup does).
    pub fn revoke(&self, client_id: &str) {
        self.admin("revoke", client_id);
    }

    /// Puts a revoked client back.
    pub fn restore(&self, client_id: &str) {
        self.admin("restore", client_id);
    }

    fn admin(&self, cmd: &str, client_id: &str) {
        let acked = self.process.command(&format!("{cmd} {client_id}"), |v| {
            v["event"] == cmd && v["client_id"].as_str() == Some(client_id)
        });
        let ack = acked.unwrap_or_else(|why| panic!("{cmd} {client_id}: {why}"));
        assert_eq!(ack["known"], true, "{client_id} is not a client of this server");
    }
}
