//! The host's own outbound HTTP for alert receivers: one HTTP/1.1 POST per
//! connection over hyper (already built for the sandbox's `wasi:http`
//! sender), TLS by tokio-rustls with the sender's client configuration
//! (`runtime::sandbox::http::send::client_config_trusting`: the web PKI
//! roots plus the operator's `[tls] ca_files`), and one deadline over
//! connect, handshake, request and response head.
//!
//! Why not reqwest: everything it would bring is already in the tree, and
//! notifications are rare enough that a connection pool buys nothing. Why
//! not the sandbox's sender: that one dials only addresses a check's policy
//! allowed; alert URLs are the operator's to choose (DESIGN §8), resolved
//! by the system like any other outbound connection of the host.
//!
//! Errors never carry the URL: Slack's URL path is its credential.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use wasmtime_wasi_http::io::TokioIo;

/// Why a POST got no HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("HTTP: {0}")]
    Http(String),
    #[error("not an http(s) URL with a host")]
    BadUrl,
}

trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// The outbound client; cheap to clone.
#[derive(Clone)]
pub struct Client {
    tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// Trusting the web PKI and `operator` (the `[tls] ca_files` CAs).
    pub fn new(operator: &[rustls::pki_types::TrustAnchor<'static>]) -> Result<Self, rustls::Error> {
        let tls = crate::runtime::sandbox::http::send::client_config_trusting(operator)?;
        Ok(Self { tls: Arc::new(tls) })
    }

    /// POSTs `body` to `url`; the status, whatever it is, or why there is none.
    pub async fn post(
        &self,
        url: &http::Uri,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<u16, SendError> {
        let request = Request { method: http::Method::POST, url, headers, body: Some(body), max_body: 0 };
        Ok(self.send(request, timeout).await?.0)
    }

    /// One request; the status and up to `max_body` bytes of the answer
    /// (a longer answer is an error). Also the agent's client (DESIGN §10).
    pub async fn send(&self, request: Request<'_>, timeout: Duration) -> Result<(u16, Bytes), SendError> {
        tokio::time::timeout(timeout, self.send_inner(request))
            .await
            .map_err(|_| SendError::Timeout(timeout))?
    }

    async fn send_inner(&self, req: Request<'_>) -> Result<(u16, Bytes), SendError> {
        let Request { method, url, headers, body, max_body } = req;
        let https = match url.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(SendError::BadUrl),
        };
        let host = url.host().ok_or(SendError::BadUrl)?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let port = url.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tcp = tokio::net::TcpStream::connect((bare, port)).await.map_err(SendError::Connect)?;
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn Stream> = if https {
            let name = ServerName::try_from(bare.to_string()).map_err(|e| SendError::Tls(e.to_string()))?;
            let tls = tokio_rustls::TlsConnector::from(Arc::clone(&self.tls))
                .connect(name, tcp)
                .await
                .map_err(|e| SendError::Tls(e.to_string()))?;
            Box::new(tls)
        } else {
            Box::new(tcp)
        };
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
                .await
                .map_err(|e| SendError::Http(e.to_string()))?;
        // The connection task ends with the request: it is dropped below.
        let driver = tokio::spawn(connection);
        let authority = url.authority().map(|a| a.as_str()).unwrap_or(host);
        let path = url.path_and_query().map_or("/", |p| p.as_str());
        let mut request = http::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, authority)
            .header(http::header::USER_AGENT, concat!("sonde/", env!("CARGO_PKG_VERSION")));
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| SendError::Http(e.to_string()))?;
        let result = sender.send_request(request).await;
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                driver.abort();
                return Err(SendError::Http(e.to_string()));
            }
        };
        let status = response.status().as_u16();
        if max_body == 0 {
            driver.abort();
            return Ok((status, Bytes::new()));
        }
        use http_body_util::BodyExt;
        let limited = http_body_util::Limited::new(response.into_body(), max_body);
        let body = limited.collect().await.map_err(|e| SendError::Http(format!("reading the answer: {e}")));
        driver.abort();
        Ok((status, body?.to_bytes()))
    }
}

/// What [`Client::send`] sends.
pub struct Request<'a> {
    pub method: http::Method,
    pub url: &'a http::Uri,
    pub headers: &'a [(&'static str, String)],
    pub body: Option<Vec<u8>>,
    /// The longest answer body read; 0 reads none.
    pub max_body: usize,
}
