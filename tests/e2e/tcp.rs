//! The tcp probe against real peers on loopback.

use std::time::Duration;

use serde_json::json;
use sonde::runtime::Status;
use sonde_test_support::{FullBacklog, closed_port, probe, require};

use crate::common::{load, runtime};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_against_the_local_postgres_port() {
    if !require("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let rt = runtime();
    let p = load(&rt, probe("tcp")).await;
    let r = rt.check(&p, &json!({"host": "127.0.0.1", "port": 5432}), Duration::from_secs(5)).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(r.details.expect("details")["peer"], "127.0.0.1:5432");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_against_a_closed_port() {
    let rt = runtime();
    let p = load(&rt, probe("tcp")).await;
    let r = rt.check(&p, &json!({"host": "127.0.0.1", "port": closed_port()}), Duration::from_secs(5)).await;
    assert_eq!((r.status, r.message.as_deref()), (Status::Error, Some("connection refused")), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_against_a_listener_that_never_accepts() {
    let rt = runtime();
    let p = load(&rt, probe("tcp")).await;
    let peer = FullBacklog::start();
    let r = rt.check(&p, &json!({"host": "127.0.0.1", "port": peer.port}), Duration::from_millis(700)).await;
    assert_eq!(r.status, Status::Timeout, "{r:?}");
    assert_eq!(r.message.as_deref(), Some("timed out after 700ms"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_for_a_config_that_cannot_work() {
    let rt = runtime();
    let p = load(&rt, probe("tcp")).await;
    for config in
        [json!({"host": "127.0.0.1"}), json!({"host": "", "port": 80}), json!({"host": "h", "port": 0})]
    {
        let r = rt.check(&p, &config, Duration::from_secs(5)).await;
        assert_eq!(r.status, Status::Failed, "{config}: {r:?}");
    }
}
