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
use rustls::{ClientConfig, ClientConnection};
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

/// Handshakes a check's record keeps in full; later ones are counted. The
/// report reads the first failure and the last success, which are kept
/// whatever the count ([`Record`]).
pub const MAX_RECORDED: usize = 16;

/// Bytes kept of one failure's detail.
const MAX_DETAIL: usize = 1024;

/// What a check's handshakes were, in bounded space: a guest that loops on
/// failing handshakes makes the host count, not remember.
#[derive(Debug, Default)]
struct Record {
    /// The first [`MAX_RECORDED`] handshakes, in order.
    first: Vec<Handshake>,
    /// The latest completed handshake, when it is not among `first`.
    last_done: Option<Facts>,
    /// Handshakes beyond `first`.
    dropped: u64,
}

/// The TLS state of one check: its policy and what happened.
#[derive(Debug)]
pub struct Session {
    policy: TlsPolicy,
    operator_roots: Arc<Vec<TrustAnchor<'static>>>,
    record: Mutex<Record>,
}

impl Session {
    pub fn new(policy: TlsPolicy, operator_roots: Arc<Vec<TrustAnchor<'static>>>) -> Self {
        Self { policy, operator_roots, record: Mutex::new(Record::default()) }
    }

    /// For calls that must not do TLS at all (`info`, `endpoints`).
    pub fn disabled() -> Self {
        Self::new(TlsPolicy { mode: Some(Mode::Disable), ..TlsPolicy::default() }, Arc::default())
    }

    pub fn policy(&self) -> &TlsPolicy {
        &self.policy
    }

    /// The first [`MAX_RECORDED`] handshakes in order, then the latest
    /// completed one if it came later.
    pub fn handshakes(&self) -> Vec<Handshake> {
        let Ok(record) = self.record.lock() else { return Vec::new() };
        let mut list = record.first.clone();
        list.extend(record.last_done.clone().map(Handshake::Done));
        list
    }

    /// Handshakes made beyond the first [`MAX_RECORDED`], counted only.
    pub fn dropped(&self) -> u64 {
        self.record.lock().map_or(0, |r| r.dropped)
    }

    /// The rustls configuration for a handshake the host starts on the
    /// guest's behalf (the `wasi:http` sender), under the policy with
    /// `default` as the mode when `tls.mode` leaves it out. A policy that
    /// disables TLS is recorded as a failure, like a guest's attempt.
    pub fn host_config(&self, default: Mode) -> Result<Arc<ClientConfig>, wasmtime_wasi_tls::Error> {
        let mode = self.policy.mode.unwrap_or(default);
        if mode == Mode::Disable {
            return Err(self.fail(messages::DISABLED, "`tls.mode` is disable".into()));
        }
        verifier::client_config_for(&self.policy, mode, &self.operator_roots)
            .map(Arc::new)
            .map_err(|e| self.fail(messages::HANDSHAKE_FAILED, e.to_string()))
    }

    /// Records a handshake the host made itself, from its outcome, so it
    /// reaches `details.tls` and the stable messages like a guest's.
    pub fn record_host_handshake(&self, result: Result<&ClientConnection, &std::io::Error>) {
        match result {
            Ok(conn) => self.record(Handshake::Done(Facts::of(conn))),
            Err(e) => {
                self.fail(verifier::classify(e), e.to_string());
            }
        }
    }

    fn record(&self, h: Handshake) {
        let Ok(mut record) = self.record.lock() else { return };
        if record.first.len() < MAX_RECORDED {
            record.first.push(h);
            return;
        }
        record.dropped += 1;
        if let Handshake::Done(facts) = h {
            record.last_done = Some(facts);
        }
    }

    fn fail(&self, message: &'static str, mut detail: String) -> wasmtime_wasi_tls::Error {
        let err = wasmtime_wasi_tls::Error::msg(format!("{message}: {detail}"));
        if detail.len() > MAX_DETAIL {
            let mut end = MAX_DETAIL;
            while !detail.is_char_boundary(end) {
                end -= 1;
            }
            detail.truncate(end);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loop_of_failed_handshakes_is_counted_not_kept() {
        let session = Session::disabled();
        for _ in 0..100_000 {
            assert!(session.host_config(Mode::VerifyFull).is_err());
        }
        let kept = session.handshakes();
        assert_eq!(kept.len(), MAX_RECORDED);
        assert!(matches!(&kept[0], Handshake::Failed { message, .. } if *message == messages::DISABLED));
        assert_eq!(session.dropped(), 100_000 - MAX_RECORDED as u64);
    }
}
