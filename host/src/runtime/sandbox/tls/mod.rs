//! TLS for 0.2 plugins: the host side of `wasi:tls`, under the source's
//! `tls` policy (DESIGN §4).
//!
//! The guest opens a TCP connection through `wasi:sockets` (so the network
//! policy and its connect cap apply as to any connection) and hands the
//! streams to `wasi:tls`; wasmtime-wasi-tls passes them to the [`Provider`]
//! here, which performs the handshake with a rustls configuration built
//! from the policy, not from anything the guest says. Every handshake, good
//! or failed, is written down in the check's [`Session`], and the runtime
//! turns that record into `details.tls`, the `min_validity` rule and the
//! stable failure messages ([`report`]). The TLS resources live in the
//! sandbox's one resource table, so they count against its bounds.
//!
//! # Layout
//! - [`policy`]: the `tls` object of a config.
//! - [`verifier`]: the rustls configuration per mode; failure messages.
//! - [`facts`]: the peer's chain, parsed.
//! - [`report`]: what a check's record does to its report.

pub mod facts;
pub mod policy;
pub mod report;
pub mod verifier;

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use rustls::pki_types::{ServerName, TrustAnchor};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wasmtime_wasi_tls::{TlsProvider, TlsTransport};

use facts::Facts;
use policy::{Mode, TlsPolicy};
use verifier::messages;

/// The outcome of one handshake the guest asked for.
#[derive(Debug, Clone)]
pub enum Handshake {
    Done(Facts),
    /// `message` is one of [`verifier::messages`]; `detail` says more.
    Failed {
        message: &'static str,
        detail: String,
    },
}

/// The TLS state of one check: its policy and what happened.
#[derive(Debug)]
pub struct Session {
    policy: TlsPolicy,
    operator_roots: Arc<Vec<TrustAnchor<'static>>>,
    handshakes: Mutex<Vec<Handshake>>,
}

impl Session {
    pub fn new(policy: TlsPolicy, operator_roots: Arc<Vec<TrustAnchor<'static>>>) -> Self {
        Self { policy, operator_roots, handshakes: Mutex::new(Vec::new()) }
    }

    /// For calls that must not do TLS at all (`info`, `endpoints`).
    pub fn disabled() -> Self {
        Self::new(TlsPolicy { mode: Some(Mode::Disable), ..TlsPolicy::default() }, Arc::default())
    }

    pub fn policy(&self) -> &TlsPolicy {
        &self.policy
    }

    /// Every handshake so far, in order.
    pub fn handshakes(&self) -> Vec<Handshake> {
        self.handshakes.lock().map(|h| h.clone()).unwrap_or_default()
    }

    fn record(&self, h: Handshake) {
        if let Ok(mut list) = self.handshakes.lock() {
            list.push(h);
        }
    }

    fn fail(&self, message: &'static str, detail: String) -> wasmtime_wasi_tls::Error {
        let err = wasmtime_wasi_tls::Error::msg(format!("{message}: {detail}"));
        self.record(Handshake::Failed { message, detail });
        err
    }

    /// One handshake over the guest's `transport`.
    async fn connect(
        &self,
        guest_name: String,
        transport: Box<dyn TlsTransport>,
    ) -> Result<Box<dyn wasmtime_wasi_tls::TlsStream>, wasmtime_wasi_tls::Error> {
        if self.policy.mode == Some(Mode::Disable) {
            return Err(self.fail(messages::DISABLED, "`tls.mode` is disable".into()));
        }
        // The policy's name, never a guest's, decides what is verified; the
        // guest's is used only when the config names no host at all.
        let name = self.policy.server_name.clone().unwrap_or(guest_name);
        let server_name = ServerName::try_from(name.clone())
            .map_err(|_| self.fail(messages::HANDSHAKE_FAILED, format!("{name:?} is not a server name")))?;
        let config = verifier::client_config(&self.policy, &self.operator_roots)
            .map_err(|e| self.fail(messages::HANDSHAKE_FAILED, e.to_string()))?;
        match tokio_rustls::TlsConnector::from(Arc::new(config)).connect(server_name, transport).await {
            Ok(stream) => {
                self.record(Handshake::Done(Facts::of(stream.get_ref().1)));
                Ok(Box::new(Stream(stream)))
            }
            Err(e) => Err(self.fail(verifier::classify(&e), e.to_string())),
        }
    }
}

/// The `TlsProvider` of one sandbox.
pub struct Provider(pub Arc<Session>);

impl TlsProvider for Provider {
    fn connect(
        &self,
        server_name: String,
        transport: Box<dyn TlsTransport>,
    ) -> Pin<
        Box<
            dyn Future<Output = Result<Box<dyn wasmtime_wasi_tls::TlsStream>, wasmtime_wasi_tls::Error>>
                + Send,
        >,
    > {
        let session = Arc::clone(&self.0);
        Box::pin(async move { session.connect(server_name, transport).await })
    }
}

/// tokio-rustls's stream, as the `TlsStream` wasmtime-wasi-tls wants.
struct Stream(tokio_rustls::client::TlsStream<Box<dyn TlsTransport>>);

impl wasmtime_wasi_tls::TlsStream for Stream {}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
