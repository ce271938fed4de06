//! Outgoing `wasi:http` under the check's network policy.
//!
//! wasmtime-wasi-http does not consult the socket check, so the policy is
//! applied here: only declared `host:port` pairs, sent by [`send`] to the
//! addresses the host resolved for that name (never a second lookup), with
//! every timeout clamped to what is left of the check's deadline (the
//! defaults are 600 s each).
//!
//! What a guest can make the host buffer for HTTP is also kept small: header
//! blocks it builds are capped at [`FIELD_SIZE_LIMIT`], and an outgoing body
//! holds at most two chunks of [`OUTGOING_CHUNK`] until the peer reads them.
//! With the per-call handle cap (`RuntimeConfig::max_handles`) that bounds
//! the host memory one guest can pin through `wasi:http`.

pub mod send;

use std::sync::Arc;

use tokio::time::Instant;
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use super::net::NetPolicy;
use super::tls::Session;
use super::tls::policy::Mode;

/// Bytes of header names and values in one `fields` the guest builds. A
/// health probe sends a few headers (a token, an accept); servers commonly
/// refuse more than 8–16 KiB anyway. wasmtime-wasi-http's default: 128 KiB.
pub const FIELD_SIZE_LIMIT: usize = 16 << 10;

/// Largest write to an outgoing body; wasmtime-wasi-http buffers up to two
/// per body (its default is 1 MiB each).
pub const OUTGOING_CHUNK: usize = 16 << 10;

pub struct HttpPolicy {
    pub net: Arc<NetPolicy>,
    pub deadline: Instant,
    /// The check's TLS session: `https` peers are verified under the
    /// source's `tls` policy (`verify-full` when it names no mode) and each
    /// handshake is recorded there, for `details.tls` and `min_validity`.
    pub tls: Arc<Session>,
    /// The check's credential, once the host has it ready: a check with
    /// `auth` sends to its target only, with the credential on
    /// ([`super::auth::apply`]).
    pub auth: super::auth::Slot,
}

type ResponseFuture = Box<
    dyn Future<
            Output = Result<
                (http::Response<WasiBody>, Box<dyn Future<Output = Result<(), Error>> + Send>),
                Error,
            >,
        > + Send,
>;

/// The declared `host:port` pairs a request may go to.
struct Targets(Arc<NetPolicy>);

impl Targets {
    /// Where a request for `uri` may go; `None` when it is not declared.
    fn target(&self, uri: &http::Uri) -> Option<send::Target> {
        let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
        let tls = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let addrs = self.0.http_targets(host, port)?;
        Some(send::Target { addrs, host: host.to_string(), tls })
    }
}

impl HttpPolicy {
    fn targets(&self) -> Targets {
        Targets(Arc::clone(&self.net))
    }

    fn clamp(&self, options: Option<RequestOptions>) -> RequestOptions {
        let left = self.deadline.saturating_duration_since(Instant::now());
        let options = options.unwrap_or_default();
        let clamp = |d: Option<std::time::Duration>| Some(d.map_or(left, |d| d.min(left)));
        RequestOptions {
            connect_timeout: clamp(options.connect_timeout),
            first_byte_timeout: clamp(options.first_byte_timeout),
            between_bytes_timeout: clamp(options.between_bytes_timeout),
        }
    }
}

impl WasiHttpHooks for HttpPolicy {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> ResponseFuture {
        _ = fut;
        let options = self.clamp(options);
        let auth = self.auth.get().cloned();
        let net = Arc::clone(&self.net);
        let session = Arc::clone(&self.tls);
        let targets = self.targets();
        Box::new(async move {
            let request = match auth {
                Some(prepared) => prepared.apply(request).await?,
                None => request,
            };
            let target = targets.target(request.uri()).ok_or(Error::HttpRequestDenied)?;
            // Built per request from the source's policy, so its `tls.ca`,
            // client certificate and mode apply; plain `http` needs none.
            let tls = if target.tls {
                let config = session
                    .host_config(Mode::VerifyFull)
                    .map_err(|e| Error::Tls(std::io::Error::other(e)))?;
                Some((config, session))
            } else {
                None
            };
            send::send(request, target, net, tls, options).await
        })
    }

    fn p2_outgoing_body_chunk_size(&mut self) -> usize {
        OUTGOING_CHUNK
    }

    // wasmtime-wasi-http's own hooks log every failed request at WARN: a
    // guest looping on failing requests would flood the host's log. The
    // guest gets the same codes; the host notes them at debug only.
    fn p2_error_from_hyper(&mut self, err: &hyper::Error) -> ErrorCode {
        tracing::debug!(error = ?err, "wasi:http: hyper error");
        ErrorCode::HttpProtocolError
    }

    fn p2_error_from_connect(&mut self, err: &std::io::Error) -> ErrorCode {
        tracing::debug!(error = ?err, "wasi:http: connect error");
        ErrorCode::ConnectionRefused
    }

    fn p2_error_from_tls(&mut self, err: &std::io::Error) -> ErrorCode {
        tracing::debug!(error = ?err, "wasi:http: tls error");
        ErrorCode::TlsProtocolError
    }
}
