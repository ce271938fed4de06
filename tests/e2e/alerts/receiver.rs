//! A loopback alert receiver: records every POST (path, headers, body, and
//! the status it answered) and answers what the test says: 200 by default,
//! 500 when told, or nothing at all (connection refused) until started.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use sonde_test_support::http_server::{Incoming, read_request};

/// One request the receiver saw.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// What the receiver answered.
    pub status: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct Shared {
    seen: Mutex<Vec<Received>>,
    status: AtomicU16,
}

pub struct Receiver {
    pub port: u16,
    shared: Arc<Shared>,
    stop: Option<Arc<AtomicBool>>,
}

impl Receiver {
    /// A receiver on a port nothing listens on yet: sends are refused
    /// until [`Receiver::listen`].
    pub fn refusing() -> Self {
        let shared = Arc::new(Shared { status: AtomicU16::new(200), ..Shared::default() });
        Self { port: sonde_test_support::closed_port(), shared, stop: None }
    }

    /// A receiver listening now, answering 200.
    pub fn start() -> Self {
        let mut r = Self::refusing();
        r.listen();
        r
    }

    pub fn listen(&mut self) {
        let shared = Arc::clone(&self.shared);
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let (_, stop) = sonde_test_support::accept_loop_on(addr, move |stream| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || serve(stream, &shared));
        })
        .expect("bind the receiver's port");
        self.stop = Some(stop);
    }

    /// What every later request is answered.
    pub fn answer(&self, status: u16) {
        self.shared.status.store(status, Ordering::Relaxed);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn all(&self) -> Vec<Received> {
        self.shared.seen.lock().expect("seen").clone()
    }

    /// The requests answered 2xx, in arrival order.
    pub fn delivered(&self) -> Vec<Received> {
        self.all().into_iter().filter(|r| (200..300).contains(&r.status)).collect()
    }

    /// The `event` fields of what was delivered to `path`.
    pub fn events(&self, path: &str) -> Vec<String> {
        self.delivered()
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.json()["event"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Waits until any request arrived, whatever it was answered.
    pub fn wait_any(&self, within: Duration) {
        let end = Instant::now() + within;
        while self.all().is_empty() {
            assert!(Instant::now() < end, "nothing arrived");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until `cond` holds of the delivered requests.
    pub fn wait(&self, what: &str, within: Duration, cond: impl Fn(&[Received]) -> bool) {
        let end = Instant::now() + within;
        while Instant::now() < end {
            if cond(&self.delivered()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(cond(&self.delivered()), "timed out waiting for {what}; got {:#?}", self.all());
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = &self.stop {
            stop.store(true, Ordering::Relaxed);
        }
    }
}

fn serve(mut stream: TcpStream, shared: &Shared) {
    let Some(Incoming { path, headers, body, .. }) = read_request(&mut stream) else { return };
    let status = shared.status.load(Ordering::Relaxed);
    shared.seen.lock().expect("seen").push(Received { path, headers, body, status });
    let reply = format!("HTTP/1.1 {status} Status\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    let _ = stream.write_all(reply.as_bytes());
}
