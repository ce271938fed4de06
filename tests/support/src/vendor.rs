//! A local stand-in for a SaaS vendor's HTTP API, on loopback, over plain
//! HTTP and over HTTPS (a certificate from a throwaway CA of [`crate::certs`]
//! that a test hands to the host as `[tls] ca_files` or a source's `tls.ca`).
//!
//! It is not the vendor: it answers only what the test's route table says,
//! which a test fills with the request/response pairs the vendor's API
//! reference documents. Tests that use it must say so. Every request is
//! recorded with all its headers, so an attack test can assert what arrived
//! (and what never did).
//!
//! ```ignore
//! let api = Vendor::start();
//! api.on(Match::get("/api/v2/users/me.json").header("authorization", "Basic dXNlcg=="),
//!        json(200, r#"{"user":{"id":1}}"#));
//! // ... check a source whose target is api.https_url("") ...
//! assert_eq!(api.requests()[0].header("authorization"), Some("Basic dXNlcg=="));
//! ```
//!
//! Unknown requests answer 404 with a body naming the method and path.
//! Every answer closes its connection.

use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::certs::{Leaf, Pair, TestCa};
use crate::http_server::{Incoming, Reply, read_request_from};
use crate::spawned::Spawned;

/// Which requests a route answers. Every given part must hold.
#[derive(Debug, Clone)]
pub struct Match {
    pub method: String,
    /// The path without its query, exactly.
    pub path: String,
    /// A substring the raw query (after `?`) must contain.
    pub query: Option<String>,
    /// A header (name in any case) that must be present with this exact value.
    pub header: Option<(String, String)>,
    /// A substring the request body must contain (form fields of a token request).
    pub body: Option<String>,
}

impl Match {
    pub fn new(method: &str, path: &str) -> Self {
        Self { method: method.to_string(), path: path.to_string(), query: None, header: None, body: None }
    }

    pub fn get(path: &str) -> Self {
        Self::new("GET", path)
    }

    pub fn post(path: &str) -> Self {
        Self::new("POST", path)
    }

    pub fn query(mut self, contains: &str) -> Self {
        self.query = Some(contains.to_string());
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.header = Some((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    pub fn body(mut self, contains: &str) -> Self {
        self.body = Some(contains.to_string());
        self
    }

    fn matches(&self, req: &Recorded) -> bool {
        let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
        req.method.eq_ignore_ascii_case(&self.method)
            && path == self.path
            && self.query.as_deref().is_none_or(|q| query.contains(q))
            && self.header.as_ref().is_none_or(|(n, v)| req.header(n) == Some(v.as_str()))
            && self.body.as_deref().is_none_or(|b| String::from_utf8_lossy(&req.body).contains(b))
    }
}

/// A reply with `Content-Type: application/json` and `body`.
pub fn json(status: u16, body: &str) -> Reply {
    Reply::new(status).header("Content-Type", "application/json").body(body)
}

/// A request the server saw.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// Every header, names lower-cased, in the order sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether it came over the HTTPS listener.
    pub tls: bool,
}

impl Recorded {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    routes: Mutex<Vec<(Match, Reply)>>,
    requests: Mutex<Vec<Recorded>>,
}

/// The server: one HTTP and one HTTPS listener on 127.0.0.1 sharing one
/// route table. Stops accepting and removes its certificates when dropped.
pub struct Vendor {
    pub http_port: u16,
    pub https_port: u16,
    /// The HTTPS listener's address (127.0.0.1 unless [`Vendor::start_on`]).
    pub https_ip: IpAddr,
    /// The CA that signed the HTTPS certificate (for 127.0.0.1 and localhost).
    pub ca: TestCa,
    /// The HTTPS listener's certificate and key.
    pub cert: Pair,
    state: Arc<State>,
    stops: [Arc<AtomicBool>; 2],
}

impl Vendor {
    /// Both listeners on free loopback ports, with a fresh CA.
    pub fn start() -> Self {
        let ca = TestCa::new(&Spawned::temp_dir("vendor-certs"));
        let cert = ca.server(Leaf::Good, "vendor");
        Self::start_with(ca, cert)
    }

    /// Both listeners, the HTTPS one presenting `cert` (signed by `ca`):
    /// for a test that needs an expired or misnamed certificate.
    pub fn start_with(ca: TestCa, cert: Pair) -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Self::start_on(any, ca, cert).expect("a free loopback port")
    }

    /// [`Vendor::start_with`], the HTTPS listener on `https` (a loopback
    /// address): a vendor's default port 443 on an address of 127.0.0.0/8
    /// of the test's own, for a target whose port a config cannot name
    /// (`https://{subdomain}.zendesk.com`). Fails when `https` is taken or
    /// the process may not bind it.
    pub fn start_on(https: SocketAddr, ca: TestCa, cert: Pair) -> std::io::Result<Self> {
        let state = Arc::new(State::default());
        let tls = Arc::new(server_config(&cert));
        let shared = Arc::clone(&state);
        let (https_port, https_stop) = crate::accept_loop_on(https, move |stream| {
            let (shared, tls) = (Arc::clone(&shared), Arc::clone(&tls));
            std::thread::spawn(move || serve_tls(stream, tls, &shared));
        })?;
        let shared = Arc::clone(&state);
        let (http_port, http_stop) = crate::accept_loop(move |stream| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || serve_plain(stream, &shared));
        });
        Ok(Self {
            http_port,
            https_port,
            https_ip: https.ip(),
            ca,
            cert,
            state,
            stops: [http_stop, https_stop],
        })
    }

    /// Adds a route at the end of the table. The first route that matches
    /// answers, so put specific ones (with a header) before general ones.
    pub fn on(&self, m: Match, reply: Reply) -> &Self {
        self.state.routes.lock().expect("routes").push((m, reply));
        self
    }

    /// Forgets every route (the recorded requests stay).
    pub fn clear_routes(&self) {
        self.state.routes.lock().expect("routes").clear();
    }

    /// `http://127.0.0.1:{http_port}{path}`.
    pub fn http_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.http_port)
    }

    /// `https://{https_ip}:{https_port}{path}`.
    pub fn https_url(&self, path: &str) -> String {
        format!("https://{}:{}{path}", self.https_ip, self.https_port)
    }

    /// The CA's PEM, for a source's `tls.ca`.
    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// The CA's PEM file, for `[tls] ca_files`.
    pub fn ca_file(&self) -> PathBuf {
        self.ca.ca_file()
    }

    /// Every request seen so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().expect("requests").clone()
    }

    /// The requests seen for `method` and `path` (without query).
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<Recorded> {
        let m = Match::new(method, path);
        self.requests().into_iter().filter(|r| m.matches(r)).collect()
    }
}

impl Drop for Vendor {
    fn drop(&mut self) {
        for stop in &self.stops {
            stop.store(true, Ordering::Relaxed);
        }
        let _ = std::fs::remove_dir_all(&self.ca.dir);
    }
}

fn server_config(cert: &Pair) -> rustls::ServerConfig {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = vec![CertificateDer::from_pem_slice(cert.cert_pem.as_bytes()).expect("certificate PEM")];
    let key = PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).expect("key PEM");
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server certificate")
}

fn serve_plain(mut stream: TcpStream, state: &State) {
    prepare(&stream);
    answer(&mut stream, state, false);
}

fn serve_tls(stream: TcpStream, config: Arc<rustls::ServerConfig>, state: &State) {
    prepare(&stream);
    let Ok(conn) = rustls::ServerConnection::new(config) else { return };
    let mut tls = rustls::StreamOwned::new(conn, stream);
    answer(&mut tls, state, true);
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

fn prepare(stream: &TcpStream) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
}

fn answer(stream: &mut (impl std::io::Read + Write), state: &State, tls: bool) {
    let Some(Incoming { method, path, headers, body }) = read_request_from(stream) else { return };
    let req = Recorded { method, path, headers, body, tls };
    let reply = {
        let routes = state.routes.lock().expect("routes");
        routes.iter().find(|(m, _)| m.matches(&req)).map(|(_, r)| r.clone())
    };
    let reply = reply.unwrap_or_else(|| {
        Reply::new(404)
            .header("Content-Type", "text/plain")
            .body(format!("sonde test vendor server: no route for {} {}\n", req.method, req.path))
    });
    let head_only = req.method == "HEAD";
    state.requests.lock().expect("requests").push(req);

    let mut out = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    for (n, v) in &reply.headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", reply.body.len()));
    let mut bytes = out.into_bytes();
    if !head_only {
        bytes.extend_from_slice(&reply.body);
    }
    let _ = stream.write_all(&bytes);
    let _ = stream.flush();
}

/// The reason phrase clients show in errors; any text is valid HTTP.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
