//! The redis probe against the shared Redis, private password-only servers,
//! and peers that are not Redis.

use std::time::Duration;

use serde_json::{Value, json};
use sonde::runtime::{CheckReport, Status};
use sonde_test_support::redis::{AclUser, RedisServer};
use sonde_test_support::require;

use crate::common::{assert_error, check_probe};

const REDIS: &str = "127.0.0.1:6379";

async fn check(config: Value) -> CheckReport {
    check_probe("redis", config, Duration::from_secs(5)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_against_the_shared_redis_without_auth() {
    if !require("Redis", REDIS) {
        return;
    }
    let r = check(json!({"host": "127.0.0.1"})).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let details = r.details.expect("details");
    assert!(details["server_version"].as_str().is_some_and(|v| v.contains('.')), "{details}");
    assert_eq!(details["database"], 0);
    assert!(r.items.is_some(), "DBSIZE as items");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_with_an_acl_user_and_a_database() {
    if !require("Redis", REDIS) {
        return;
    }
    let user = AclUser::create("pw");
    let r = check(json!({"host": "127.0.0.1", "user": user.name, "password": "pw", "database": 3})).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(r.details.expect("details")["database"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_for_an_acl_user_with_a_wrong_password() {
    if !require("Redis", REDIS) {
        return;
    }
    let user = AclUser::create("pw");
    let r = check(json!({"host": "127.0.0.1", "user": user.name, "password": "nope"})).await;
    assert_error(&r, "authentication failed");
    assert!(r.extra.as_deref().is_some_and(|e| e.contains("WRONGPASS")), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_only_auth_against_a_private_server() {
    let Some(server) = RedisServer::with_password("pw") else {
        return;
    };
    let ok = check(json!({"host": "127.0.0.1", "port": server.port, "password": "pw"})).await;
    assert_eq!(ok.status, Status::Ok, "{ok:?}");
    assert_eq!(ok.items, Some(0));

    let wrong = check(json!({"host": "127.0.0.1", "port": server.port, "password": "nope"})).await;
    assert_error(&wrong, "authentication failed");

    // No password at all: the server answers PING with NOAUTH.
    let none = check(json!({"host": "127.0.0.1", "port": server.port})).await;
    assert_error(&none, "authentication failed");
    assert!(none.extra.as_deref().is_some_and(|e| e.contains("NOAUTH")), "{none:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_for_a_database_out_of_range() {
    if !require("Redis", REDIS) {
        return;
    }
    let r = check(json!({"host": "127.0.0.1", "database": 100000})).await;
    assert_error(&r, "database does not exist");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_against_a_closed_port() {
    crate::common::assert_refused_on_a_closed_port("redis").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unexpected_protocol_against_postgres() {
    if !require("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    // PostgreSQL reads our command as a bad startup packet and hangs up.
    let r = check(json!({"host": "127.0.0.1", "port": 5432})).await;
    assert_error(&r, "unexpected protocol");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_against_a_listener_that_never_answers() {
    crate::common::assert_times_out_on_a_silent_listener("redis").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_for_a_config_that_cannot_work() {
    for config in [
        json!({}),
        json!({"host": ""}),
        json!({"host": "h", "port": 0}),
        json!({"host": "h", "database": -1}),
        json!({"host": "h", "db": 1}),
        json!({"host": "h", "user": "u"}),
    ] {
        let r = check(config.clone()).await;
        assert_eq!(r.status, Status::Failed, "{config}: {r:?}");
    }
}
