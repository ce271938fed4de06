//! The agent's calls to the service: HTTPS verified against `--ca-file`
//! and the web PKI roots, or plain HTTP to loopback alone (claims carry
//! secrets). Errors never carry the key.

use std::time::Duration;

use crate::alerts::http::{Client, Request, SendError};

use super::proto::{Accepted, Claims, Poll, Results};

/// Why a call to the service failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error(transparent)]
    Send(#[from] SendError),
    #[error("the service answered {status}: {detail}")]
    Status { status: u16, detail: String },
    #[error("the service's answer is not what the protocol says: {0}")]
    Protocol(String),
}

/// Why the agent cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("--server: {0}")]
    Server(String),
    #[error("--ca-file {path}: {reason}")]
    CaFile { path: String, reason: String },
}

/// The service, as the agent reaches it.
pub struct Service {
    client: Client,
    base: String,
    /// `Bearer <key>`: never logged (no `Debug` of it below).
    authorization: String,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").field("base", &self.base).finish_non_exhaustive()
    }
}

/// Longest plugin the agent downloads.
const MAX_PLUGIN: usize = 64 << 20;
/// Longest poll answer (every claim with its config).
const MAX_CLAIMS: usize = 32 << 20;

impl Service {
    /// `server` is `https://host[:port]`, or `http://` to a loopback host.
    pub fn new(server: &str, key: String, ca_file: Option<&std::path::Path>) -> Result<Self, SetupError> {
        let url: http::Uri = server.parse().map_err(|e| SetupError::Server(format!("{e}")))?;
        let host = url.host().ok_or_else(|| SetupError::Server("the URL has no host".into()))?;
        match url.scheme_str() {
            Some("https") => {}
            Some("http") if is_loopback(host) => {}
            Some("http") => {
                return Err(SetupError::Server(
                    "plain http only to loopback: claims carry secrets; use https://".into(),
                ));
            }
            _ => return Err(SetupError::Server("must be an https:// URL".into())),
        }
        let mut anchors = Vec::new();
        if let Some(path) = ca_file {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path)
                .map_err(|e| SetupError::CaFile { path: shown.clone(), reason: e.to_string() })?;
            let certs = crate::runtime::sandbox::tls::policy::certs(&text, "ca")
                .map_err(|e| SetupError::CaFile { path: shown.clone(), reason: e.to_string() })?;
            if certs.is_empty() {
                return Err(SetupError::CaFile { path: shown, reason: "no PEM certificate in it".into() });
            }
            anchors = crate::runtime::sandbox::tls::verifier::anchors(certs)
                .map_err(|e| SetupError::CaFile { path: shown, reason: e.to_string() })?;
        }
        let client = Client::new(&anchors).map_err(|e| SetupError::Server(format!("TLS: {e}")))?;
        let base = server.trim_end_matches('/').to_string();
        Ok(Self { client, base, authorization: format!("Bearer {key}") })
    }

    async fn call(
        &self,
        method: http::Method,
        path: &str,
        body: Option<Vec<u8>>,
        max_body: usize,
        timeout: Duration,
    ) -> Result<bytes::Bytes, CallError> {
        let url: http::Uri =
            format!("{}{path}", self.base).parse().map_err(|e| CallError::Protocol(format!("{e}")))?;
        let mut headers = vec![("authorization", self.authorization.clone())];
        if body.is_some() {
            headers.push(("content-type", "application/json".into()));
        }
        let request = Request { method, url: &url, headers: &headers, body, max_body };
        let (status, answer) = self.client.send(request, timeout).await?;
        if !(200..300).contains(&status) {
            let detail = serde_json::from_slice::<serde_json::Value>(&answer)
                .ok()
                .and_then(|v| v.get("detail").map(|d| d.to_string()))
                .unwrap_or_default();
            return Err(CallError::Status { status, detail });
        }
        Ok(answer)
    }

    /// `POST /v1/agent/poll`; waits up to the service's `poll_wait`.
    pub async fn poll(&self, poll: &Poll) -> Result<Claims, CallError> {
        let body = serde_json::to_vec(poll).map_err(|e| CallError::Protocol(e.to_string()))?;
        let answer = self
            .call(http::Method::POST, "/v1/agent/poll", Some(body), MAX_CLAIMS, Duration::from_secs(60))
            .await?;
        serde_json::from_slice(&answer).map_err(|e| CallError::Protocol(e.to_string()))
    }

    /// `POST /v1/agent/results`.
    pub async fn report(&self, batch: &Results) -> Result<Accepted, CallError> {
        let body = serde_json::to_vec(batch).map_err(|e| CallError::Protocol(e.to_string()))?;
        let answer = self
            .call(http::Method::POST, "/v1/agent/results", Some(body), 4 << 20, Duration::from_secs(30))
            .await?;
        serde_json::from_slice(&answer).map_err(|e| CallError::Protocol(e.to_string()))
    }

    /// `GET /v1/agent/plugins/{sha256}`, checked against the digest.
    pub async fn plugin(&self, sha256: &str) -> Result<Vec<u8>, CallError> {
        let path = format!("/v1/agent/plugins/{sha256}");
        let bytes = self.call(http::Method::GET, &path, None, MAX_PLUGIN, Duration::from_secs(120)).await?;
        let got = crate::runtime::cache::digest(&bytes);
        if got != sha256 {
            return Err(CallError::Protocol(format!("plugin {sha256} arrived with digest {got}")));
        }
        Ok(bytes.to_vec())
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare == "localhost" || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
