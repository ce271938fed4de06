//! The amqp probe against the shared RabbitMQ (guest/guest) and peers that
//! are not AMQP brokers.

use std::time::Duration;

use serde_json::{Value, json};
use sonde::runtime::{CheckReport, Status};
use sonde_test_support::require;

use crate::common::{assert_error, check_probe};

const RABBITMQ: &str = "127.0.0.1:5672";

async fn check(config: Value) -> CheckReport {
    check_probe("amqp", config, Duration::from_secs(5)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_against_the_shared_rabbitmq() {
    if !require("RabbitMQ", RABBITMQ) {
        return;
    }
    // Explicit credentials, and the defaults (guest, guest, "/").
    for config in [
        json!({"host": "127.0.0.1", "user": "guest", "password": "guest", "vhost": "/"}),
        json!({"host": "127.0.0.1"}),
    ] {
        let r = check(config.clone()).await;
        assert_eq!(r.status, Status::Ok, "{config}: {r:?}");
        let details = r.details.expect("details");
        assert_eq!(details["server_product"], "RabbitMQ", "{details}");
        assert!(details["server_version"].as_str().is_some_and(|v| v.contains('.')), "{details}");
        assert_eq!(details["vhost"], "/");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_for_a_wrong_password() {
    if !require("RabbitMQ", RABBITMQ) {
        return;
    }
    let r = check(json!({"host": "127.0.0.1", "user": "guest", "password": "wrong"})).await;
    assert_error(&r, "authentication failed");
    assert!(r.extra.as_deref().is_some_and(|e| e.contains("ACCESS_REFUSED")), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_for_a_vhost_that_does_not_exist() {
    if !require("RabbitMQ", RABBITMQ) {
        return;
    }
    let r = check(json!({"host": "127.0.0.1", "password": "guest", "vhost": "sonde-no-such-vhost"})).await;
    assert_error(&r, "vhost not found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_against_a_closed_port() {
    crate::common::assert_refused_on_a_closed_port("amqp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unexpected_protocol_against_postgres() {
    if !require("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    // PostgreSQL reads the AMQP protocol header as a bad startup packet and
    // hangs up; a broker always answers it.
    let r = check(json!({"host": "127.0.0.1", "port": 5432})).await;
    assert_error(&r, "unexpected protocol");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_against_a_listener_that_never_answers() {
    crate::common::assert_times_out_on_a_silent_listener("amqp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_for_a_config_that_cannot_work() {
    for config in [
        json!({}),
        json!({"host": ""}),
        json!({"host": "h", "port": 0}),
        json!({"host": "h", "vhost": ""}),
        json!({"host": "h", "user": ""}),
        json!({"host": "h", "virtual_host": "/"}),
    ] {
        let r = check(config.clone()).await;
        assert_eq!(r.status, Status::Failed, "{config}: {r:?}");
    }
}
