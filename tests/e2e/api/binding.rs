//! A stored secret is bound to its target (DESIGN §4): an organization key
//! that moves a source without giving its secrets again is refused, and the
//! new address receives nothing; sources from the configuration file are
//! the file's (409). Attacks against the real probes: a local HTTP server
//! records every `Authorization` header, and a PostgreSQL impostor asks for
//! a cleartext password and records what it is sent.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::StatusCode;
use base64::Engine;
use serde_json::{Value, json};
use sonde_test_support::http_server::{Reply, Server};

use super::unstructured::{body, connection_check, create, one};
use super::{ACME, Api, OTHER, assert_refused, keys};

async fn put(api: &Api, id: &str, key: Option<&str>, body: Value) -> (StatusCode, Value) {
    api.call("PUT", &one(id), key, Some(Body::from(body.to_string()))).await
}

/// A 422 naming exactly `missing` secrets, each as `missing` under the config.
fn assert_unbound(status: StatusCode, reply: &Value, missing: &[&str], why: &str) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
    let detail = reply["detail"].as_array().unwrap_or_else(|| panic!("no detail list: {reply}"));
    let locs: Vec<Value> = detail.iter().map(|d| d["loc"].clone()).collect();
    let expected: Vec<Value> = missing.iter().map(|m| json!(["body", "config", m])).collect();
    assert_eq!(locs, expected, "{reply}");
    for d in detail {
        assert_eq!(keys(d), ["loc", "msg", "type"], "{reply}");
        assert_eq!(d["type"], "missing", "{reply}");
        assert!(d["msg"].as_str().is_some_and(|m| m.contains(why)), "{reply}");
    }
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

fn authorizations(server: &Server) -> Vec<String> {
    server.requests().iter().filter_map(|r| r.header("authorization").map(str::to_string)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_http_source_never_sends_its_stored_password() {
    let api = Api::start().await;
    let home = Server::start();
    home.route("/", Reply::new(200)).route("/other", Reply::new(200));
    let attacker = Server::start();
    attacker.route("/", Reply::new(200));
    let config = json!({"url": home.url("/"), "user": "reader", "password": "http-secret-9f"});
    let created = create(&api, ACME, &body("moved-http", "http", config)).await;
    let id = created["id"].as_str().expect("id");
    assert_eq!(connection_check(&api, ACME, id).await["status"], "SUCCESS");
    assert_eq!(authorizations(&home), [basic("reader", "http-secret-9f")]);

    // Unstructured's SDK sends `{config}` alone, without the secret it never saw.
    let moved = json!({"config": {"url": attacker.url("/"), "user": "reader"}});
    let (status, reply) = put(&api, id, Some(ACME), moved).await;
    assert_unbound(status, &reply, &["password"], "the URL at url moves");
    assert_eq!(connection_check(&api, ACME, id).await["status"], "SUCCESS");
    assert_eq!(attacker.accepted(), 0, "the attacker's server was reached");

    // Another path on the same target keeps the stored password.
    let (status, reply) =
        put(&api, id, Some(ACME), json!({"config": {"url": home.url("/other"), "user": "reader"}})).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(connection_check(&api, ACME, id).await["status"], "SUCCESS");
    let seen = home.requests();
    let last = seen.last().expect("a request");
    assert_eq!(
        (last.path.as_str(), last.header("authorization")),
        ("/other", Some(basic("reader", "http-secret-9f").as_str()))
    );

    // Given again, the secret goes where the key sends it: it is the key's own.
    let given = json!({"config": {"url": attacker.url("/"), "user": "reader", "password": "new-secret"}});
    let (status, reply) = put(&api, id, Some(ACME), given).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(connection_check(&api, ACME, id).await["status"], "SUCCESS");
    assert_eq!(authorizations(&attacker), [basic("reader", "new-secret")]);

    // Another organization cannot tell the source exists; no key is a 401.
    let (status, reply) = put(&api, id, Some(OTHER), json!({"config": {"url": attacker.url("/")}})).await;
    assert_refused(status, &reply, StatusCode::NOT_FOUND);
    let (status, reply) = put(&api, id, None, json!({"config": {"url": attacker.url("/")}})).await;
    assert_refused(status, &reply, StatusCode::UNAUTHORIZED);
}

/// A server that speaks just enough of PostgreSQL to ask for a cleartext
/// password, and records every password it is sent.
struct Impostor {
    port: u16,
    passwords: Arc<Mutex<Vec<String>>>,
    accepted: Arc<Mutex<usize>>,
    _stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Impostor {
    fn start() -> Self {
        let passwords = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::new(Mutex::new(0));
        let (seen, count) = (Arc::clone(&passwords), Arc::clone(&accepted));
        let (port, stop) = sonde_test_support::accept_loop(move |stream| {
            *count.lock().expect("count") += 1;
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                if let Some(password) = ask_for_password(stream) {
                    seen.lock().expect("passwords").push(password);
                }
            });
        });
        Self { port, passwords, accepted, _stop: stop }
    }

    fn passwords(&self) -> Vec<String> {
        self.passwords.lock().expect("passwords").clone()
    }

    fn accepted(&self) -> usize {
        *self.accepted.lock().expect("count")
    }
}

fn ask_for_password(mut stream: TcpStream) -> Option<String> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let startup = loop {
        let mut len = [0u8; 4];
        stream.read_exact(&mut len).ok()?;
        let mut rest = vec![0u8; (u32::from_be_bytes(len) as usize).checked_sub(4)?];
        stream.read_exact(&mut rest).ok()?;
        // SSLRequest: refuse TLS, as a plaintext server does.
        if rest.len() == 4 && rest == 80_877_103u32.to_be_bytes() {
            stream.write_all(b"N").ok()?;
            continue;
        }
        break rest;
    };
    let _ = startup;
    // AuthenticationCleartextPassword.
    stream.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3]).ok()?;
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).ok()?;
    if head[0] != b'p' {
        return None;
    }
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let mut password = vec![0u8; len.checked_sub(4)?];
    stream.read_exact(&mut password).ok()?;
    Some(String::from_utf8_lossy(password.strip_suffix(&[0]).unwrap_or(&password)).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_postgres_source_sends_no_password_to_an_impostor() {
    if !sonde_test_support::require("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let api = Api::start().await;
    let impostor = Impostor::start();
    let at = |port: u16| json!({"host": "127.0.0.1", "port": port, "user": "postgres", "database": "test"});
    let mut config = at(5432);
    config["password"] = json!("pg-secret-51");
    let created = create(&api, ACME, &body("moved-pg", "postgres", config)).await;
    let id = created["id"].as_str().expect("id");
    assert_eq!(connection_check(&api, ACME, id).await["status"], "SUCCESS");

    // The port, the host's spelling, and the type each move it.
    let (status, reply) = put(&api, id, Some(ACME), json!({"config": at(impostor.port)})).await;
    assert_unbound(status, &reply, &["password"], "the endpoints change");
    let mut renamed = at(5432);
    renamed["host"] = json!("localhost");
    let (status, reply) = put(&api, id, Some(ACME), json!({"config": renamed})).await;
    assert_unbound(status, &reply, &["password"], "the endpoints change");
    let (status, reply) = put(
        &api,
        id,
        Some(ACME),
        json!({"type": "mysql", "config": {"host": "127.0.0.1", "port": impostor.port, "user": "root"}}),
    )
    .await;
    assert_unbound(status, &reply, &["password"], "the type changes");
    // So does a weaker TLS policy on the same endpoint.
    let mut weaker = at(5432);
    weaker["tls"] = json!({"mode": "disable"});
    let (status, reply) = put(&api, id, Some(ACME), json!({"config": weaker})).await;
    assert_unbound(status, &reply, &["password"], "tls.mode is weakened");

    assert_eq!(connection_check(&api, ACME, id).await["status"], "SUCCESS");
    assert_eq!(impostor.accepted(), 0, "the impostor was reached");

    // A change that moves nothing keeps the password; given again, the new
    // one goes where the key says (the impostor proves it would have seen one).
    let (status, reply) = put(&api, id, Some(ACME), json!({"config": at(5432), "interval": "2h"})).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let mut given = at(impostor.port);
    given["password"] = json!("typed-again");
    let (status, reply) = put(&api, id, Some(ACME), json!({"config": given})).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(connection_check(&api, ACME, id).await["status"], "FAILURE");
    assert_eq!(impostor.passwords(), ["typed-again"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_from_the_configuration_file_belong_to_the_file() {
    let api = Api::start().await;
    let healthy = api.source("healthy").await.id.to_string();
    let replacement = json!({"config": {"mode": "spin"}});
    let (status, reply) = put(&api, &healthy, Some(ACME), replacement.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{reply}");
    assert!(reply["detail"].as_str().is_some_and(|d| d.contains("test.toml")), "{reply}");
    let (status, reply) = api.call("DELETE", &one(&healthy), Some(ACME), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{reply}");
    // Unchanged, and still there.
    assert_eq!(api.source("healthy").await.config, json!({"mode": "ok"}));

    // Another organization's key, and no key, learn nothing of it.
    let (status, reply) = put(&api, &healthy, Some(OTHER), replacement).await;
    assert_refused(status, &reply, StatusCode::NOT_FOUND);
    let (status, reply) = api.call("DELETE", &one(&healthy), Some(OTHER), None).await;
    assert_refused(status, &reply, StatusCode::NOT_FOUND);
    let (status, reply) = api.call("DELETE", &one(&healthy), None, None).await;
    assert_refused(status, &reply, StatusCode::UNAUTHORIZED);

    // Sources made over the API stay the API's.
    let made = create(&api, ACME, &body("made-here", "hostile", json!({"mode": "ok"}))).await;
    let (status, reply) = api.call("DELETE", &one(made["id"].as_str().expect("id")), Some(ACME), None).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
}
