//! A loopback HTTPS server (rustls) with a test CA's certificate, answering
//! `200 ok` to every request: the peer for the http probe's TLS cases.
//! With `demand`, it refuses a client without a certificate the CA signed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::certs::{Pair, TestCa};

/// The server; stops accepting when dropped.
pub struct Https {
    pub port: u16,
    stop: Arc<AtomicBool>,
}

impl Drop for Https {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Https {
    pub fn start(pair: &Pair, ca: &TestCa, demand: bool) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .expect("versions");
        let builder = if demand {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(CertificateDer::from_pem_slice(ca.pem().as_bytes()).expect("ca")).expect("root");
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let certs = vec![CertificateDer::from_pem_slice(pair.cert_pem.as_bytes()).expect("cert")];
        let key = PrivateKeyDer::from_pem_slice(pair.key_pem.as_bytes()).expect("key");
        let config = Arc::new(builder.with_single_cert(certs, key).expect("server config"));
        let (port, stop) = crate::accept_loop(move |tcp| {
            let config = Arc::clone(&config);
            std::thread::spawn(move || answer(tcp, config));
        });
        Self { port, stop }
    }
}

/// One request, one `200 ok`, then close; a failed handshake just closes.
fn answer(tcp: TcpStream, config: Arc<rustls::ServerConfig>) {
    let _ = tcp.set_nonblocking(false);
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(conn) = rustls::ServerConnection::new(config) else { return };
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tls.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let _ = tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
    tls.conn.send_close_notify();
    let _ = tls.flush();
}
