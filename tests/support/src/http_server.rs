//! A scripted HTTP/1.1 server on loopback: each path answers with the status,
//! headers and body a test chose, and every request is recorded so a test can
//! assert what arrived (an `Authorization` header) and what never did (a
//! redirect to somewhere else).
//!
//! ```ignore
//! let server = Server::start();
//! server.route("/", Reply::new(302).header("Location", "/health"));
//! server.route("/health", Reply::new(200).body("all good"));
//! // ... run a check against http://127.0.0.1:{server.port}/ ...
//! assert_eq!(server.requests().len(), 2);
//! ```
//!
//! Unknown paths answer `404`. Every answer closes its connection.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a path answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn new(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: Vec::new() }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
}

/// A request the server saw.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// Header names lower-cased, in the order sent.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    routes: Mutex<HashMap<String, Reply>>,
    requests: Mutex<Vec<Request>>,
    accepted: AtomicUsize,
}

/// The server; stops accepting when dropped.
pub struct Server {
    pub port: u16,
    state: Arc<State>,
    stop: Arc<AtomicBool>,
}

impl Server {
    pub fn start() -> Self {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind")
    }

    /// A server on `addr`, a loopback address (another 127.x address, or a
    /// port already used on another one); fails when `addr` is taken.
    pub fn start_on(addr: SocketAddr) -> std::io::Result<Self> {
        let state = Arc::new(State::default());
        let shared = Arc::clone(&state);
        let (port, stop) = crate::accept_loop_on(addr, move |stream| {
            shared.accepted.fetch_add(1, Ordering::Relaxed);
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || serve(stream, &shared));
        })?;
        Ok(Self { port, state, stop })
    }

    /// Answers requests for `path` (path and query, e.g. `/health`) with `reply`.
    pub fn route(&self, path: &str, reply: Reply) -> &Self {
        self.state.routes.lock().expect("routes").insert(path.to_string(), reply);
        self
    }

    /// `http://127.0.0.1:{port}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The requests seen so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.state.requests.lock().expect("requests").clone()
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.state.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One HTTP/1.1 request as it came in: method, path, headers (names
/// lowercased) and the body its `Content-Length` announced.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Reads one request from `stream` (blocking, 5 s per read); None when the
/// peer hangs up first.
pub fn read_request(stream: &mut TcpStream) -> Option<Incoming> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    read_request_from(stream)
}

/// [`read_request`] from any byte stream (a TLS session, say); the caller
/// sets its timeouts.
pub fn read_request_from(stream: &mut impl Read) -> Option<Incoming> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&seen[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut start = lines.next().unwrap_or_default().split(' ');
    let method = start.next().unwrap_or_default().to_string();
    let path = start.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length =
        headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse::<usize>().ok());
    let mut body = seen[head_end + 4..].to_vec();
    while length.is_some_and(|l| body.len() < l) {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&buf[..n]),
        }
    }
    Some(Incoming { method, path, headers, body })
}

fn serve(mut stream: TcpStream, state: &State) {
    // The body is drained too, so the client sees a clean answer.
    let Some(Incoming { method, path, headers, .. }) = read_request(&mut stream) else { return };
    state.requests.lock().expect("requests").push(Request {
        method: method.clone(),
        path: path.clone(),
        headers,
    });

    let reply = state.routes.lock().expect("routes").get(&path).cloned().unwrap_or_else(|| Reply::new(404));
    let mut out = format!("HTTP/1.1 {} Status\r\n", reply.status);
    for (n, v) in &reply.headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", reply.body.len()));
    let mut bytes = out.into_bytes();
    if method != "HEAD" {
        bytes.extend_from_slice(&reply.body);
    }
    let _ = stream.write_all(&bytes);
    let _ = stream.flush();
}
