//! A database outage under load, on a private PostgreSQL (initdb/pg_ctl,
//! so the shared server is untouched): two replicas and a writer creating
//! sources through both; the server stopped for 10 s. Meanwhile the
//! replicas stay up, `/readyz` and every read answer 503 in the route's
//! error shape, and no write is answered 2xx. Once it is back they recover
//! by themselves: ready again, every source whose creation was answered
//! 2xx readable from both, checks running again, and "store down" and
//! "store back" each logged once per replica.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sonde_test_support::postgres::{PrivatePostgres, SCRAM_USER};

use super::group::{KEY, replica_toml};
use crate::serve::Serve;
use sonde_test_support::open_port;

fn status(serve: &Serve, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent();
    let url = format!("{}{path}", serve.base);
    let answer = match (method, body) {
        ("POST", Some(b)) => agent.post(&url).header("x-api-key", KEY).send_json(b),
        _ => agent.get(&url).header("x-api-key", KEY).call(),
    };
    match answer {
        Ok(mut r) => (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null)),
        Err(e) => panic!("{method} {path}: {e}"),
    }
}

#[test]
fn replicas_ride_out_a_database_outage() {
    let Some(mut pg) = PrivatePostgres::start() else { return };
    let (user, password) = SCRAM_USER;
    let out = pg.psql(&format!("CREATE DATABASE sonde OWNER {user}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let url = format!("postgres://{user}:{password}@127.0.0.1:{}/sonde", pg.port);
    let toml = replica_toml(&url, "3s", 30, open_port(), "1s");
    let replicas: Arc<Vec<Serve>> = Arc::new(
        (1..=2)
            .map(|i| {
                Serve::start_with(&toml, |c| {
                    c.args(["--replica-id", &format!("o{i}")]);
                })
            })
            .collect(),
    );

    // The writer: a source every 100 ms, through each replica in turn.
    let accepted: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (replicas, accepted, stop) = (Arc::clone(&replicas), Arc::clone(&accepted), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut n = 0;
            let mut refused = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body = json!({"name": format!("w{n}"), "organization": "org_w", "type": "tcp",
                    "config": {"host": "127.0.0.1", "port": 1}, "interval": "1h"});
                let (code, answer) = status(&replicas[n % 2], "POST", "/api/v1/sources/", Some(&body));
                match code {
                    200..=299 => {
                        accepted.lock().expect("lock").push(answer["id"].as_str().expect("id").into())
                    }
                    503 => refused += 1,
                    other => panic!("create answered {other}: {answer}"),
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            refused
        })
    };
    std::thread::sleep(Duration::from_secs(3));
    pg.stop();
    let down_at = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    // Meanwhile: up, not ready, reads 503 with a FastAPI `detail`.
    for r in replicas.iter() {
        assert_eq!(status(r, "GET", "/livez", None).0, 200);
        assert_eq!(status(r, "GET", "/readyz", None).0, 503);
        for path in
            ["/api/v1/sources", "/healthz/sources", "/v1/organizations/org_0/knowledge/connectors/health"]
        {
            let (code, body) = status(r, "GET", path, None);
            assert_eq!(code, 503, "{path}: {body}");
            // Aitronos's health route has a shape of its own for this.
            let shaped = if path.contains("connectors/health") {
                body["status"] == "unavailable"
            } else {
                body["detail"].is_string()
            };
            assert!(shaped, "{path}: {body}");
        }
    }
    let left = Duration::from_secs(10).saturating_sub(down_at.elapsed());
    std::thread::sleep(left);
    pg.restart();

    // Recovery, by themselves.
    let end = Instant::now() + Duration::from_secs(20);
    for r in replicas.iter() {
        while status(r, "GET", "/readyz", None).0 != 200 {
            assert!(Instant::now() < end, "{} never became ready again:\n{}", r.base, r.logs());
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);
    let refused = writer.join().expect("writer");
    assert!(refused > 0, "the outage refused some writes");
    let accepted = accepted.lock().expect("lock").clone();
    assert!(accepted.len() > 20, "writes before and after the outage: {}", accepted.len());
    for r in replicas.iter() {
        let (code, list) = status(r, "GET", "/api/v1/sources", None);
        assert_eq!(code, 200);
        let ids: Vec<&str> = list.as_array().into_iter().flatten().filter_map(|s| s["id"].as_str()).collect();
        for id in &accepted {
            assert!(
                ids.contains(&id.as_str())
                    || status(r, "GET", &format!("/api/v1/sources/{id}"), None).0 == 200,
                "{id}, accepted, is gone"
            );
        }
    }
    // Checks run again: s000 (every 1 s) gains checks after the outage.
    let (_, list) = status(&replicas[0], "GET", "/api/v1/sources", None);
    let s000 = list.as_array().into_iter().flatten().find(|s| s["name"] == "s000").expect("s000")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let count = || {
        let (_, checks) = status(&replicas[1], "GET", &format!("/v1/sources/{s000}/checks?limit=1000"), None);
        checks["checks"].as_array().map_or(0, Vec::len)
    };
    let before = count();
    std::thread::sleep(Duration::from_secs(3));
    assert!(count() > before, "no checks since the database came back");
    for r in replicas.iter() {
        let (code, hz) = status(r, "GET", "/healthz/sources", None);
        assert_eq!(code, 200, "{hz}");
        let logs = r.logs();
        assert_eq!(logs.matches("store down").count(), 1, "{}", logs);
        assert_eq!(logs.matches("store back").count(), 1, "{}", logs);
    }
}
