//! A TLS terminator in front of a plaintext server on loopback, for a source
//! whose own TLS listener cannot be given a fresh certificate per test case
//! quickly (RabbitMQ: a private node boots in about ten seconds, and the
//! shared TLS table needs one per case). It accepts TLS with a test
//! certificate, optionally demanding a client certificate that chains to
//! the test CA, and pipes the plaintext to and from `upstream`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

/// A running terminator; dropping it stops accepting and cuts every
/// connection.
pub struct TlsProxy {
    pub port: u16,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TlsProxy {
    /// Listens on a free loopback port with `pair` as the certificate; with
    /// `demand_client_cert`, only clients whose certificate chains to `ca`.
    pub fn start(
        pair: &crate::certs::Pair,
        ca: &Path,
        demand_client_cert: bool,
        upstream: SocketAddr,
    ) -> Self {
        assert!(upstream.ip().is_loopback(), "tests only talk to loopback");
        let acceptor = TlsAcceptor::from(Arc::new(server_config(pair, ca, demand_client_cert)));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let (stop, stopped) = oneshot::channel();
        // A runtime of its own: the tests that start it run inside theirs.
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("listener");
                tokio::select! {
                    _ = stopped => {}
                    _ = serve(listener, acceptor, upstream) => {}
                }
            });
        });
        Self { port, stop: Some(stop), thread: Some(thread) }
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(listener: TcpListener, acceptor: TlsAcceptor, upstream: SocketAddr) {
    while let Ok((client, _)) = listener.accept().await {
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            // A failed handshake is the test's point as often as not.
            let Ok(mut tls) = acceptor.accept(client).await else { return };
            let Ok(mut server) = TcpStream::connect(upstream).await else { return };
            let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
        });
    }
}

fn server_config(pair: &crate::certs::Pair, ca: &Path, demand: bool) -> rustls::ServerConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("protocol versions");
    let builder = if demand {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(ca).expect("CA file") {
            roots.add(cert.expect("CA certificate")).expect("a usable CA");
        }
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build().expect("verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let chain = CertificateDer::pem_slice_iter(pair.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("server certificate");
    let key = PrivateKeyDer::from_pem_slice(pair.key_pem.as_bytes()).expect("server key");
    builder.with_single_cert(chain, key).expect("server certificate and key")
}
