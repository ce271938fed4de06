//! Credentials on one outgoing `wasi:http` request, in the host's sender.
//!
//! Only a request to the target (or `auth.hosts`) with an allowed method
//! gets them; any other request of a check with `auth` is refused, so what
//! the guest reads with a credential cannot leave for another address. The
//! guest's own `Authorization`, `Proxy-Authorization` and `x-amz-*` headers
//! (and the header a `header` kind sets) are removed first: the host's
//! credential is the only one sent.

use http::header::{HeaderName, HeaderValue};
use http_body_util::BodyExt;
use wasmtime_wasi_http::{Error, WasiBody};

use super::Prepared;
use super::policy::Origin;
use super::sigv4;

/// Bytes of a request body the host reads to sign it (SigV4 for services
/// other than S3); a larger body is refused.
pub const MAX_SIGNED_BODY: usize = 64 << 10;

/// Header names a `header` kind may not set: they frame the request or
/// route it, and the host owns them.
const FORBIDDEN: [&str; 11] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "expect",
    "proxy-connection",
    "proxy-authorization",
];

/// Whether `name` may be the header of a `header` kind.
pub fn check_header_name(name: &str) -> Result<(), String> {
    let lower = name.to_ascii_lowercase();
    if FORBIDDEN.contains(&lower.as_str()) {
        return Err(format!("header {name:?} is set by the host and cannot carry a credential"));
    }
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("{name:?} is not a valid header name"))?;
    Ok(())
}

/// Why a request was not sent.
fn denied() -> Error {
    Error::HttpRequestDenied
}

/// The origin a request is bound for.
pub fn origin_of(uri: &http::Uri) -> Option<Origin> {
    let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    Some(Origin { https, host, port })
}

impl Prepared {
    /// `request` with the credential on it, or refused.
    pub async fn apply(&self, request: http::Request<WasiBody>) -> Result<http::Request<WasiBody>, Error> {
        let policy = &self.policy;
        let Some(origin) = origin_of(request.uri()) else { return Err(denied()) };
        if !policy.covers(&origin) || !policy.allows_method(request.method().as_str()) {
            return Err(denied());
        }
        let (mut parts, body) = request.into_parts();
        let headers = &mut parts.headers;
        headers.remove(http::header::AUTHORIZATION);
        headers.remove(http::header::PROXY_AUTHORIZATION);
        let amz: Vec<HeaderName> =
            headers.keys().filter(|n| n.as_str().starts_with("x-amz-")).cloned().collect();
        for name in amz {
            headers.remove(name);
        }
        let invalid = |_| Error::ConfigurationError;
        match &self.credential {
            super::Credential::Header(name, value) => {
                headers.remove(name);
                headers.insert(name.clone(), value.clone());
                Ok(http::Request::from_parts(parts, body))
            }
            super::Credential::Query(pair) => {
                let path = parts.uri.path().to_string();
                let query = match parts.uri.query() {
                    Some(q) if !q.is_empty() => format!("{q}&{pair}"),
                    _ => pair.clone(),
                };
                let mut builder = http::Uri::builder().path_and_query(format!("{path}?{query}"));
                if let Some(s) = parts.uri.scheme() {
                    builder = builder.scheme(s.clone());
                }
                if let Some(a) = parts.uri.authority() {
                    builder = builder.authority(a.clone());
                }
                parts.uri = builder.build().map_err(|_| Error::HttpRequestUriInvalid)?;
                Ok(http::Request::from_parts(parts, body))
            }
            super::Credential::Signed | super::Credential::Azure { .. } => {
                let mut list = header_list(headers, &origin);
                let path = parts.uri.path().to_string();
                let query = parts.uri.query().map(str::to_string);
                let (method, now) = (parts.method.as_str(), chrono::Utc::now());
                let body = match &self.credential {
                    super::Credential::Azure { account, key } => {
                        super::azure::sign(account, key, method, &path, query.as_deref(), &mut list, now)
                            .map_err(|_| Error::ConfigurationError)?;
                        body
                    }
                    _ => {
                        let service = policy.text("service").unwrap_or("s3");
                        // S3 takes an unsigned payload; other services sign
                        // the body's hash, so it is read first.
                        let (payload, body) = if service == "s3" {
                            (sigv4::UNSIGNED_PAYLOAD.to_string(), body)
                        } else {
                            let bytes = read_body(body).await?;
                            let hash = sigv4::payload_hash(&bytes);
                            (hash, http_body_util::Full::new(bytes).map_err(|e| match e {}).boxed_unsync())
                        };
                        let creds = sigv4::Credentials {
                            access_key_id: policy.text("access_key_id").unwrap_or_default(),
                            secret_access_key: policy.text("secret_access_key").unwrap_or_default(),
                            session_token: policy.text("session_token"),
                            region: policy.text("region").unwrap_or("us-east-1"),
                            service,
                        };
                        sigv4::sign(&creds, method, &path, query.as_deref(), &mut list, &payload, now);
                        body
                    }
                };
                for (name, value) in list {
                    if name == "host" {
                        continue;
                    }
                    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| denied())?;
                    headers.insert(name, HeaderValue::from_str(&value).map_err(invalid)?);
                }
                Ok(http::Request::from_parts(parts, body))
            }
        }
    }
}

/// The request's headers as lower-case text pairs, with `host` first.
fn header_list(headers: &http::HeaderMap, origin: &Origin) -> Vec<(String, String)> {
    let host = headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| origin.authority());
    let mut list = vec![("host".to_string(), host)];
    for (name, value) in headers {
        if name != http::header::HOST
            && let Ok(v) = value.to_str()
        {
            list.push((name.as_str().to_string(), v.to_string()));
        }
    }
    list
}

async fn read_body(body: WasiBody) -> Result<bytes::Bytes, Error> {
    let limited = http_body_util::Limited::new(body, MAX_SIGNED_BODY);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(_) => Err(Error::HttpRequestBodySize(Some(MAX_SIGNED_BODY as u64))),
    }
}
