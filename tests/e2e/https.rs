//! `sonde serve` answering HTTPS itself (`[server] tls_cert_file` and
//! `tls_key_file`, DESIGN §10), the real binary on loopback with a
//! throwaway CA's certificate for 127.0.0.1 and localhost: a client that
//! trusts the CA gets `/livez` (HTTP/1.1 by ALPN), one that does not fails
//! to verify, plain HTTP gets no answer, a client that never finishes its
//! handshake is dropped after `header_timeout` and frees its slot, and a
//! half or wrong pair of files stops the start naming the key.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use sonde_test_support::certs::{Leaf, Pair, TestCa};

use crate::serve::{Serve, config_text};

/// Generous: tells closing from hanging under any load.
const BOUND: Duration = Duration::from_secs(30);

/// A TLS client trusting only `ca`'s certificate, offering HTTP/1.1.
fn client(ca: &TestCa) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca.pem().as_bytes()).expect("CA PEM")).expect("CA root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// `GET /livez` over TLS to `name` at 127.0.0.1:`port` with `client`
/// (`Connection: close`): the answer and the protocol ALPN chose, or the
/// error (a failed verification among them).
fn livez(port: u16, name: &str, client: &Arc<rustls::ClientConfig>) -> std::io::Result<(String, Vec<u8>)> {
    let name = ServerName::try_from(name.to_string()).expect("server name");
    let conn = rustls::ClientConnection::new(Arc::clone(client), name).map_err(std::io::Error::other)?;
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_read_timeout(Some(BOUND))?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(b"GET /livez HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            // A close without close_notify after the whole answer.
            Err(e) if !answer.is_empty() && e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
    }
    let alpn = tls.conn.alpn_protocol().map(<[u8]>::to_vec).unwrap_or_default();
    Ok((String::from_utf8_lossy(&answer).into_owned(), alpn))
}

fn answers_200(port: u16, client: &Arc<rustls::ClientConfig>) -> bool {
    livez(port, "localhost", client).is_ok_and(|(answer, _)| answer.starts_with("HTTP/1.1 200"))
}

fn tls_toml(pair: &Pair) -> String {
    format!("[server]\ntls_cert_file = {:?}\ntls_key_file = {:?}\n", pair.cert_file, pair.key_file)
}

/// Reads `s` until the server closes it (EOF or reset): what it sent, or
/// `None` if it was still open after [`BOUND`].
fn until_closed(s: &mut TcpStream) -> Option<Vec<u8>> {
    s.set_read_timeout(Some(BOUND)).expect("timeout");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(seen),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Some(seen),
            Err(_) => return None,
        }
    }
}

#[test]
fn https_serves_livez_with_the_configured_certificate_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tmp");
    let ca = TestCa::new(&dir.path().join("ca"));
    let pair = ca.server(Leaf::Good, "sonde");
    let trusting = client(&ca);
    let ready = Arc::clone(&trusting);
    let serve = Serve::start_https(&tls_toml(&pair), move |port| answers_200(port, &ready));
    assert!(
        serve.logs().contains(&format!("listening on https://127.0.0.1:{}", serve.port)),
        "{}",
        serve.logs()
    );

    // (1) Verified against the test CA, by name and by address.
    for name in ["localhost", "127.0.0.1"] {
        let (answer, alpn) = livez(serve.port, name, &trusting).expect("HTTPS /livez");
        assert!(answer.starts_with("HTTP/1.1 200"), "{name}: {answer}");
        assert!(answer.contains(r#"{"status":"ok"}"#), "{name}: {answer}");
        assert_eq!(alpn, b"http/1.1", "{name}");
    }

    // (2) Plain HTTP to the same port gets no answer, only a close.
    let mut plain = TcpStream::connect(("127.0.0.1", serve.port)).expect("connect");
    plain.write_all(b"GET /livez HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").expect("write");
    let seen = until_closed(&mut plain).expect("plain HTTP left open");
    assert!(!String::from_utf8_lossy(&seen).contains("HTTP/1.1"), "{seen:?}");
    assert!(ureq::get(format!("http://127.0.0.1:{}/livez", serve.port)).call().is_err());

    // (3) A client that does not trust the test CA (another CA, as any
    // other client's roots) fails to verify: the certificate is the real one.
    let stranger = TestCa::new(&dir.path().join("other-ca"));
    let e = livez(serve.port, "localhost", &client(&stranger)).expect_err("verified by a stranger's CA");
    assert!(e.to_string().contains("invalid peer certificate"), "{e}");
    // Nor does the right CA accept it for a name it does not carry.
    let e = livez(serve.port, "other.example", &trusting).expect_err("verified for another name");
    assert!(e.to_string().contains("invalid peer certificate"), "{e}");

    // The server is unharmed by all of it.
    assert!(answers_200(serve.port, &trusting));
}

#[test]
fn https_handshakes_that_never_finish_are_dropped_after_the_header_timeout() {
    let dir = tempfile::tempdir().expect("tmp");
    let ca = TestCa::new(&dir.path().join("ca"));
    let pair = ca.server(Leaf::Good, "sonde");
    let trusting = client(&ca);
    let ready = Arc::clone(&trusting);
    let toml = format!("{}header_timeout = \"1s\"\nmax_connections = 2\n", tls_toml(&pair));
    let serve = Serve::start_https(&toml, move |port| answers_200(port, &ready));

    // Both slots: one client silent, one stopping halfway into its
    // ClientHello (a record header promising 512 bytes, then nothing).
    let started = Instant::now();
    let mut silent = TcpStream::connect(("127.0.0.1", serve.port)).expect("connect");
    let mut halfway = TcpStream::connect(("127.0.0.1", serve.port)).expect("connect");
    halfway.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]).expect("half a ClientHello");
    // A real client meanwhile waits in the backlog, and is served once the
    // two are gone: they held their slots no longer than header_timeout.
    let port = serve.port;
    let waiting = std::thread::spawn(move || livez(port, "localhost", &trusting));
    for (what, s) in [("silent", &mut silent), ("halfway", &mut halfway)] {
        assert!(until_closed(s).is_some(), "{what}: still open after {BOUND:?}");
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "{what}: closed only after {took:?}");
        assert!(took >= Duration::from_millis(900), "{what}: closed before header_timeout ({took:?})");
    }
    let answer = waiting.join().expect("client thread");
    let (answer, _) = answer.expect("served once the slots were free");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// `sonde serve --config` on `toml`: its exit and stderr, or a panic if it
/// is still running after [`BOUND`] (a config that should have failed).
fn serve_fails(dir: &Path, toml: &str) -> (std::process::ExitStatus, String) {
    let port = sonde_test_support::closed_port();
    std::fs::create_dir_all(dir.join("plugins")).expect("plugins dir");
    let config = dir.join("sonde.toml");
    std::fs::write(&config, config_text(dir, port, toml)).expect("config");
    let log = dir.join("serve.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start sonde serve");
    let end = Instant::now() + BOUND;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return (status, std::fs::read_to_string(&log).unwrap_or_default());
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "sonde serve still running on {toml}:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn https_config_errors_stop_the_start_naming_the_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let ca = TestCa::new(&dir.path().join("ca"));
    let pair = ca.server(Leaf::Good, "sonde");
    let other = ca.server(Leaf::Good, "other");
    let missing = dir.path().join("missing.pem");
    let cases = [
        (
            format!("[server]\ntls_cert_file = {:?}\n", pair.cert_file),
            "`server.tls_key_file`",
            "both or neither",
        ),
        (
            format!("[server]\ntls_key_file = {:?}\n", pair.key_file),
            "`server.tls_cert_file`",
            "both or neither",
        ),
        (
            format!("[server]\ntls_cert_file = {missing:?}\ntls_key_file = {:?}\n", pair.key_file),
            "`server.tls_cert_file`",
            "cannot read",
        ),
        (
            format!("[server]\ntls_cert_file = {:?}\ntls_key_file = {missing:?}\n", pair.cert_file),
            "`server.tls_key_file`",
            "cannot read",
        ),
        (
            format!("[server]\ntls_cert_file = {:?}\ntls_key_file = {:?}\n", pair.key_file, pair.key_file),
            "`server.tls_cert_file`",
            "no PEM certificate",
        ),
        (
            format!("[server]\ntls_cert_file = {:?}\ntls_key_file = {:?}\n", pair.cert_file, other.key_file),
            "`server.tls_key_file`",
            "is not the private key",
        ),
    ];
    for (i, (toml, key, says)) in cases.iter().enumerate() {
        let (status, stderr) = serve_fails(&dir.path().join(format!("run{i}")), toml);
        assert!(!status.success(), "{toml}: {stderr}");
        assert!(stderr.contains(key) && stderr.contains(says), "{toml}: {stderr}");
        assert!(!stderr.contains("panicked"), "{toml}: {stderr}");
    }
}
