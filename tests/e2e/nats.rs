//! The nats probe against the shared NATS server, private ones that require
//! a token or a user, and peers that are not NATS.

use std::time::Duration;

use serde_json::{Value, json};
use sonde::runtime::{CheckReport, Status};
use sonde_test_support::nats::NatsServer;
use sonde_test_support::require;

use crate::common::{assert_error, check_probe};

async fn check(config: Value) -> CheckReport {
    check_probe("nats", config, Duration::from_secs(5)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_against_the_shared_nats_without_auth() {
    if !require("NATS", "127.0.0.1:4222") {
        return;
    }
    let r = check(json!({"host": "127.0.0.1"})).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let details = r.details.expect("details");
    assert!(details["server_version"].as_str().is_some_and(|v| v.contains('.')), "{details}");
    assert!(details["server_id"].as_str().is_some_and(|v| !v.is_empty()), "{details}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_auth_against_a_private_server() {
    let Some(server) = NatsServer::with_token("s3cret-token") else {
        return;
    };
    let ok = check(json!({"host": "127.0.0.1", "port": server.port, "token": "s3cret-token"})).await;
    assert_eq!(ok.status, Status::Ok, "{ok:?}");

    let wrong = check(json!({"host": "127.0.0.1", "port": server.port, "token": "nope"})).await;
    assert_error(&wrong, "authentication failed");
    assert!(wrong.extra.as_deref().is_some_and(|e| e.contains("Authorization Violation")), "{wrong:?}");

    let none = check(json!({"host": "127.0.0.1", "port": server.port})).await;
    assert_error(&none, "authentication failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_auth_against_a_private_server() {
    let Some(server) = NatsServer::with_user("probe", "pw") else {
        return;
    };
    let ok =
        check(json!({"host": "127.0.0.1", "port": server.port, "user": "probe", "password": "pw"})).await;
    assert_eq!(ok.status, Status::Ok, "{ok:?}");

    let wrong =
        check(json!({"host": "127.0.0.1", "port": server.port, "user": "probe", "password": "nope"})).await;
    assert_error(&wrong, "authentication failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_against_a_closed_port() {
    crate::common::assert_refused_on_a_closed_port("nats").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unexpected_protocol_against_mariadb() {
    // A NATS server speaks first, so the probe waits for its INFO before
    // sending anything. Servers that wait for the client (Redis, PostgreSQL,
    // RabbitMQ, an MQTT broker) therefore look like a silent peer: TIMEOUT.
    // MariaDB greets first too, with a binary handshake that cannot begin
    // `INFO `, which is the wrong kind of server this probe can tell apart.
    if !require("MariaDB", "127.0.0.1:3306") {
        return;
    }
    let r = check(json!({"host": "127.0.0.1", "port": 3306})).await;
    assert_error(&r, "unexpected protocol");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_against_a_listener_that_never_answers() {
    crate::common::assert_times_out_on_a_silent_listener("nats").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_for_a_config_that_cannot_work() {
    for config in [
        json!({}),
        json!({"host": ""}),
        json!({"host": "h", "port": 0}),
        json!({"host": "h", "pass": "x"}),
        json!({"host": "h", "user": "u"}),
        json!({"host": "h", "password": "p"}),
        json!({"host": "h", "user": "u", "password": "p", "token": "t"}),
    ] {
        let r = check(config.clone()).await;
        assert_eq!(r.status, Status::Failed, "{config}: {r:?}");
    }
}
