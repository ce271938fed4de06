//! The real `sonde serve`, killed with SIGKILL in the middle of checks and
//! started again: sources and history survive, no check stays SCHEDULED,
//! checks go on, and a steady state is logged once.

use std::time::Duration;

use serde_json::{Value, json};
use sonde::model::CheckStatus;
use sonde::store::Store;
use sonde::store::sqlite::SqliteStore;
use sonde_test_support::closed_port;

use crate::serve::{Serve, wait_for};

const KEY: &str = "test-admin-key-0123";

fn get(server: &Serve, path: &str) -> (u16, Value) {
    server.call("GET", path, KEY, None)
}

fn source_id(server: &Serve, name: &str) -> String {
    let (_, list) = get(server, "/api/v1/sources");
    list.as_array()
        .and_then(|l| l.iter().find(|s| s["name"] == name))
        .and_then(|s| s["id"].as_str())
        .unwrap_or_else(|| panic!("no source {name} in {list}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_survives_kill_9_and_checks_go_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let dir = dir.path();
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).expect("mkdir");
    std::fs::copy(sonde_test_support::fixture("hostile"), plugins.join("hostile.wasm")).expect("copy");
    let port = closed_port();
    let down = closed_port();
    let toml = format!(
        r#"
[[keys]]
key = "{KEY}"
role = "admin"

[[sources]]
name = "steady"
organization = "org_a"
type = "hostile"
config = {{ mode = "ok" }}
interval = "200ms"

[[sources]]
name = "down"
organization = "org_a"
type = "tcp"
config = {{ host = "127.0.0.1", port = {down} }}
interval = "200ms"
retries = 0

[[sources]]
name = "slow"
organization = "org_b"
type = "hostile"
config = {{ mode = "spin" }}
interval = "1h"
timeout = "1500ms"
retries = 0
"#
    );

    // First life: an API-made source, an on-demand check still running.
    let server = Serve::start_in(dir, port, &toml, |_| {});
    let made =
        json!({"name": "api-made", "type": "hostile", "config": {"mode": "ok"}, "organization": "org_b"});
    let (status, made) = server.call("POST", "/api/v1/sources", KEY, Some(&made));
    assert_eq!(status, 200, "{made}");
    let slow = source_id(&server, "slow");
    let (status, pending) =
        server.call("POST", &format!("/api/v1/sources/{slow}/connection-check"), KEY, None);
    assert_eq!((status, pending["status"].as_str()), (202, Some("SCHEDULED")), "{pending}");
    std::thread::sleep(Duration::from_millis(1000));

    // A steady failure is logged once, not every interval.
    let logs = server.logs();
    let unhealthy =
        logs.lines().filter(|l| l.contains("source is unhealthy") && l.contains("source=down")).count();
    assert_eq!(unhealthy, 1, "{logs}");
    let _ = server.kill9();

    // On disk right after the kill: every source, the history so far, and
    // the interrupted on-demand check.
    let store = SqliteStore::open(&dir.join("data")).await.expect("open store");
    let sources = store.list_sources().await.expect("sources");
    let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
    for n in ["steady", "down", "slow", "api-made"] {
        assert!(names.contains(&n), "{n} lost: {names:?}");
    }
    let steady = sources.iter().find(|s| s.name == "steady").expect("steady").id;
    let before = store.history(steady, 1000, None).await.expect("history").len();
    assert!(before >= 2, "only {before} checks recorded before the kill");
    let unfinished = store.unfinished_checks().await.expect("unfinished");
    let interrupted = pending["id"].as_str().expect("check id");
    assert!(unfinished.iter().any(|c| c.id.to_string() == interrupted), "{unfinished:?}");
    drop(store);

    // Second life: the interrupted check is run again to an outcome, the
    // schedule goes on, and everything is still there.
    let server = Serve::start_in(dir, port, &toml, |_| {});
    wait_for("the interrupted check to finish", Duration::from_secs(10), || {
        let (_, c) = get(&server, &format!("/api/v1/sources/{slow}/connection-check"));
        c["id"] == interrupted && c["status"] == "FAILURE"
    });
    let (_, c) = get(&server, &format!("/api/v1/sources/{slow}/connection-check"));
    assert_eq!(c["reason"], "timed out after 1s 500ms", "{c}");
    assert_eq!(get(&server, &format!("/api/v1/sources/{}", made["id"].as_str().expect("id"))).0, 200);
    let store = SqliteStore::open(&dir.join("data")).await.expect("open store");
    wait_for("checks to go on", Duration::from_secs(5), || {
        futures_lite(store.history(steady, 1000, None)).is_ok_and(|h| h.len() > before)
    });
    let left: Vec<_> = store
        .unfinished_checks()
        .await
        .expect("unfinished")
        .into_iter()
        .filter(|c| c.status == CheckStatus::Scheduled)
        .collect();
    assert!(left.iter().all(|c| c.id.to_string() != interrupted), "still SCHEDULED: {left:?}");
    let (_, health) = get(&server, "/healthz/sources");
    assert_eq!(health["steady"]["status"], "OK", "{health}");
    assert_eq!(health["down"]["status"], "ERROR", "{health}");
    assert_eq!(health["down"]["error"]["message"], "connection refused", "{health}");
}

/// Runs a store future to completion from a synchronous poll loop.
fn futures_lite<T>(f: impl Future<Output = T>) -> T {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f))
}
