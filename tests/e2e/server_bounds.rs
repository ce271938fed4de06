//! What an idle or slow client can hold of the real `sonde serve`
//! (`[server]`, DESIGN §5): half request lines are cut off after
//! `header_timeout` while others are served, connections past
//! `max_connections` wait and are served once others close, idle
//! keep-alive connections close after `idle_timeout`. And the one start-up
//! warning naming stored sources that today's rules refuse.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::serve::{Serve, wait_for};

/// Generous: tells closing from hanging under any load.
const BOUND: Duration = Duration::from_secs(30);

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(BOUND)).expect("timeout");
    s
}

/// Whether the server closed `s` (EOF or reset) rather than leaving it
/// open until the read timed out; anything it sent first is skipped.
fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

/// One `GET /livez` on its own connection, `Connection: close`: the answer.
fn livez(port: u16) -> String {
    let mut s = connect(port);
    s.write_all(b"GET /livez HTTP/1.1\r\nHost: sonde\r\nConnection: close\r\n\r\n").expect("write");
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
}

#[test]
fn half_request_lines_are_cut_off_after_the_header_timeout() {
    let serve = Serve::start("[server]\nheader_timeout = \"1s\"\n");
    let mut slow: Vec<TcpStream> = (0..300)
        .map(|_| {
            let mut s = connect(serve.port);
            s.write_all(b"GET /livez HT").expect("half a request line");
            s
        })
        .collect();
    // Others are served meanwhile.
    let answer = livez(serve.port);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let started = Instant::now();
    for (i, s) in slow.iter_mut().enumerate() {
        assert!(closed_by_server(s), "connection {i} still open after {BOUND:?}");
    }
    assert!(started.elapsed() < BOUND);
    assert!(livez(serve.port).starts_with("HTTP/1.1 200"));
}

#[test]
fn connections_past_the_cap_wait_and_are_served_once_others_close() {
    let serve = Serve::start("[server]\nmax_connections = 4\nheader_timeout = \"1m\"\n");
    let idle: Vec<TcpStream> = (0..4).map(|_| connect(serve.port)).collect();
    // A fifth waits in the backlog: no answer while the four stay.
    let mut fifth = connect(serve.port);
    fifth.write_all(b"GET /livez HTTP/1.1\r\nHost: sonde\r\nConnection: close\r\n\r\n").expect("write");
    fifth.set_read_timeout(Some(Duration::from_millis(500))).expect("timeout");
    let mut buf = [0u8; 64];
    assert!(fifth.read(&mut buf).is_err(), "answered past max_connections");
    drop(idle);
    fifth.set_read_timeout(Some(BOUND)).expect("timeout");
    let mut answer = String::new();
    let _ = fifth.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    // The server is not stalled: a new connection is served too.
    assert!(livez(serve.port).starts_with("HTTP/1.1 200"));
}

#[test]
fn idle_keep_alive_connections_close_after_the_idle_timeout() {
    let serve = Serve::start("[server]\nidle_timeout = \"1s\"\n");
    let mut s = connect(serve.port);
    s.write_all(b"GET /livez HTTP/1.1\r\nHost: sonde\r\n\r\n").expect("write");
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains(r#"{"status":"ok"}"#) {
        let n = s.read(&mut buf).expect("the answer");
        assert!(n > 0, "closed before answering");
        seen.extend_from_slice(&buf[..n]);
    }
    let answered = Instant::now();
    assert!(closed_by_server(&mut s), "an idle keep-alive connection stayed open for {BOUND:?}");
    // Not before its time (header_timeout, 10 s, does not apply between requests).
    assert!(answered.elapsed() >= Duration::from_millis(900), "{:?}", answered.elapsed());
}

#[test]
fn stored_sources_that_break_new_rules_are_named_in_one_warning_at_start() {
    use sonde::model::{Policy, SourceSpec, SourceState};
    use sonde::store::Store;
    let dir = tempfile::tempdir().expect("tmp");
    let rows = [
        ("org_beta/victim", Policy::default()),
        ("hammer", Policy { interval: Duration::from_millis(1), ..Policy::default() }),
        ("fine", Policy::default()),
    ];
    tokio::runtime::Runtime::new().expect("runtime").block_on(async {
        let store = sonde::store::sqlite::SqliteStore::open(&dir.path().join("data")).await.expect("store");
        for (name, policy) in rows {
            let spec = SourceSpec {
                name: name.into(),
                organization: "org_acme".into(),
                workspace: None,
                source_type: "tcp".into(),
                config: serde_json::json!({"host": "127.0.0.1", "port": 1}),
                // Paused: a 1 ms interval is not this test's business.
                state: SourceState::Paused,
                policy,
                depends_on: Vec::new(),
                placement: Default::default(),
            };
            store.create_source(&spec, &serde_json::json!({})).await.expect("insert");
        }
    });
    let serve = Serve::start_in(dir.path(), sonde_test_support::closed_port(), "", |_| {});
    let warning = |logs: &str| {
        logs.lines().filter(|l| l.contains("break rules")).map(str::to_string).collect::<Vec<_>>()
    };
    wait_for("the warning", BOUND, || !warning(&serve.logs()).is_empty());
    let lines = warning(&serve.logs());
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert!(line.contains("org_acme/org_beta/victim") && line.contains("org_acme/hammer"), "{line}");
    assert!(line.contains("interval must be from") && !line.contains("org_acme/fine"), "{line}");
    // They are kept, and served.
    let (status, _) = serve.call("GET", "/livez", "", None);
    assert_eq!(status, 200);
}
