//! The TLS table for `https` URLs: the host's `wasi:http` sender verifies
//! the peer under the source's `tls` policy, against a loopback HTTPS
//! server (rustls) with the test CA's certificates.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use sonde::runtime::Status;
use sonde_test_support::certs::{Leaf, Pair, TestCa};

use super::matrix::{self, TlsTarget};
use crate::common::{assert_error, check_probe};

/// A loopback HTTPS server answering `200 ok` to every request; stops on drop.
struct Https {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Drop for Https {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Https {
    fn start(pair: &Pair, ca: &TestCa, demand: bool) -> Self {
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
        let (port, stop) = sonde_test_support::accept_loop(move |tcp| {
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

struct Http;

impl TlsTarget for Http {
    const PROBE: &'static str = "http";
    type Server = Https;
    fn start_tls(pair: &Pair, ca: &TestCa, demand: bool) -> Option<Https> {
        Some(Https::start(pair, ca, demand))
    }
    fn start_plain() -> Option<Https> {
        None
    }
    fn port(server: &Https) -> u16 {
        server.port
    }
    fn config(port: u16, tls: Value) -> Value {
        json!({"url": format!("https://127.0.0.1:{port}/"), "tls": tls})
    }
}

matrix::tls_tests!(Http, http_tls_matrix, http_tls_client_certificate);

/// Without a `tls` object an `https` URL is verified fully: the test CA is
/// unknown to the web PKI, so "certificate not trusted"; with it in
/// `tls.ca` (and no mode) it is OK, with `details.tls`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_tls_https_is_verify_full_by_default() {
    let dir = sonde_test_support::spawned::Spawned::temp_dir("http-default-certs");
    let ca = TestCa::new(&dir);
    let pair = ca.server(Leaf::Good, "server");
    let server = Https::start(&pair, &ca, false);
    let url = format!("https://127.0.0.1:{}/", server.port);
    let r = check_probe("http", json!({"url": url}), Duration::from_secs(10)).await;
    assert_error(&r, "certificate not trusted");
    let r = check_probe("http", json!({"url": url, "tls": {"ca": ca.pem()}}), Duration::from_secs(10)).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(r.details.as_ref().expect("details")["tls"]["peer"][0]["not_after"], pair.not_after);

    let other = ca.server(Leaf::OtherName, "other");
    let server = Https::start(&other, &ca, false);
    let url = format!("https://127.0.0.1:{}/", server.port);
    let r = check_probe("http", json!({"url": url, "tls": {"ca": ca.pem()}}), Duration::from_secs(10)).await;
    assert_error(&r, "certificate name mismatch");
}
