//! The host's own request to a token endpoint, on the source's behalf.
//!
//! It is held to the rules of the guest's requests and more (DESIGN §4,
//! "Token fetches"): the name is resolved once and every address checked
//! against the source's egress policy before any packet leaves (one denied
//! address refuses the URL: a name that also points into a denied range is
//! not one to send a client secret to); the connection goes to those
//! addresses only; `https` is verified against the web PKI and the
//! operator's CAs; plain `http` only to loopback; no redirect is followed;
//! the whole exchange ends by the check's deadline; the answer is read up to
//! [`MAX_RESPONSE`] bytes.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use rustls::pki_types::{ServerName, TrustAnchor};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::policy::Origin;
use crate::runtime::sandbox::egress::Egress;
use crate::runtime::sandbox::resolver::Resolver;

/// Bytes of a token response read at most.
pub const MAX_RESPONSE: usize = 64 << 10;

/// Why no answer came back.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    #[error("the token endpoint {0} is denied by the egress policy")]
    Denied(String),
    #[error("the token endpoint's host could not be resolved: {0}")]
    Unresolvable(String),
    #[error("the token endpoint could not be reached: {0}")]
    Unreachable(String),
    #[error("the token endpoint did not answer in time")]
    TimedOut,
    #[error("the token endpoint's answer was not HTTP: {0}")]
    Protocol(String),
}

/// A token endpoint's answer: status, `Location` if any, and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: Bytes,
}

/// What a fetch may use.
pub struct Reach<'a> {
    pub egress: &'a Egress,
    pub resolver: &'a dyn Resolver,
    pub roots: &'a [TrustAnchor<'static>],
    pub deadline: Instant,
}

/// POSTs `form` (already encoded) to `url`, with `headers` beside it.
pub async fn post_form(
    reach: &Reach<'_>,
    url: &str,
    headers: &[(&str, String)],
    form: String,
) -> Result<Answer, FetchError> {
    let origin = Origin::of_url(url).map_err(FetchError::Unreachable)?;
    let parsed = url::Url::parse(url).map_err(|e| FetchError::Unreachable(e.to_string()))?;
    let work = async {
        let addrs = resolve(reach, &origin).await?;
        let tcp = connect(&addrs).await?;
        let mut request = http::Request::post(path_of(&parsed))
            .header(http::header::HOST, origin.authority())
            .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(http::header::ACCEPT, "application/json");
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request =
            request.body(Full::new(Bytes::from(form))).map_err(|e| FetchError::Protocol(e.to_string()))?;
        if origin.https {
            let config = client_config(reach.roots)?;
            let name = ServerName::try_from(origin.host.clone())
                .map_err(|e| FetchError::Unreachable(e.to_string()))?;
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| FetchError::Unreachable(format!("TLS: {e}")))?;
            exchange(tls, request).await
        } else {
            exchange(tcp, request).await
        }
    };
    tokio::time::timeout_at(reach.deadline, work).await.map_err(|_| FetchError::TimedOut)?
}

async fn resolve(reach: &Reach<'_>, origin: &Origin) -> Result<Vec<SocketAddr>, FetchError> {
    let host = origin.host.trim_start_matches('[').trim_end_matches(']');
    let ips = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => reach
            .resolver
            .lookup(host, origin.port)
            .await
            .map_err(|e| FetchError::Unresolvable(format!("{host}: {e}")))?,
    };
    if ips.is_empty() {
        return Err(FetchError::Unresolvable(format!("{host}: no address")));
    }
    if let Some(ip) = ips.iter().find(|ip| !reach.egress.permits(**ip)) {
        return Err(FetchError::Denied(format!("{host} ({ip})")));
    }
    if !origin.https && !ips.iter().all(IpAddr::is_loopback) {
        return Err(FetchError::Denied(format!("plain http to {host}, beyond this machine")));
    }
    Ok(ips.into_iter().take(16).map(|ip| SocketAddr::new(ip, origin.port)).collect())
}

async fn connect(addrs: &[SocketAddr]) -> Result<TcpStream, FetchError> {
    let mut last = String::new();
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(FetchError::Unreachable(last))
}

async fn exchange<S>(stream: S, request: http::Request<Full<Bytes>>) -> Result<Answer, FetchError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let protocol = |e: &dyn std::fmt::Display| FetchError::Protocol(e.to_string());
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(wasmtime_wasi_http::io::TokioIo::new(stream))
            .await
            .map_err(|e| protocol(&e))?;
    let driver = tokio::spawn(conn);
    let response = sender.send_request(request).await.map_err(|e| protocol(&e));
    let answer = async {
        let response = response?;
        let status = response.status().as_u16();
        let location =
            response.headers().get(http::header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = Limited::new(response.into_body(), MAX_RESPONSE)
            .collect()
            .await
            .map_err(|e| FetchError::Protocol(format!("reading the answer: {e}")))?
            .to_bytes();
        Ok(Answer { status, location, body })
    }
    .await;
    driver.abort();
    answer
}

fn path_of(url: &url::Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

/// The web PKI roots and the operator's CAs, ring as the provider.
fn client_config(operator: &[TrustAnchor<'static>]) -> Result<Arc<rustls::ClientConfig>, FetchError> {
    crate::runtime::sandbox::http::send::client_config_trusting(operator)
        .map(Arc::new)
        .map_err(|e| FetchError::Protocol(e.to_string()))
}
