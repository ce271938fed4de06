//! The postgres probe against the shared PostgreSQL (trust auth), a private
//! one for the password paths, and wrong or silent peers on loopback.

use std::time::Duration;

use serde_json::{Value, json};
use sonde::runtime::{CheckReport, Status};
use sonde_test_support::postgres::{MD5_USER, PASSWORD_USER, PrivatePostgres, SCRAM_USER};
use sonde_test_support::{closed_port, probe, require};

use crate::common::{assert_error, check_probe, load, runtime};

async fn check(config: Value) -> CheckReport {
    check_within(config, Duration::from_secs(5)).await
}

async fn check_within(config: Value, timeout: Duration) -> CheckReport {
    check_probe("postgres", config, timeout).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_against_the_shared_server() {
    if !require("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let r = check(json!({"host": "127.0.0.1", "database": "test"})).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let details = r.details.clone().expect("details");
    assert!(
        details["server_version"]
            .as_str()
            .is_some_and(|v| v.chars().next().is_some_and(|c| c.is_ascii_digit()))
    );
    assert_eq!(details["query_rows"], 1);
    assert!(r.items.is_some(), "a table count: {r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_query_is_an_error_with_the_server_text() {
    if !require("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let r =
        check(json!({"host": "127.0.0.1", "database": "test", "query": "SELECT * FROM no_such_table"})).await;
    assert_error(&r, "query failed");
    assert!(r.extra.as_deref().is_some_and(|e| e.contains("42P01") && e.contains("no_such_table")), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_for_a_database_that_does_not_exist() {
    if !require("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let r = check(json!({"host": "127.0.0.1", "database": "sonde_no_such_db"})).await;
    assert_error(&r, "database does not exist");
    assert!(r.extra.as_deref().is_some_and(|e| e.contains("3D000")), "{r:?}");
}

/// Every password method of a private server, right and wrong, in one test:
/// the server takes a second or two to start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_md5_and_scram_logins_against_a_private_server() {
    let Some(pg) = PrivatePostgres::start() else {
        return;
    };
    let rt = runtime();
    let p = load(&rt, probe("postgres")).await;
    for (method, (user, password)) in [("password", PASSWORD_USER), ("md5", MD5_USER), ("scram", SCRAM_USER)]
    {
        let base = json!({"host": "127.0.0.1", "port": pg.port, "user": user, "database": "postgres"});
        let with = |password: Option<&str>| {
            let mut c = base.clone();
            if let Some(pw) = password {
                c["password"] = json!(pw);
            }
            c
        };
        let r = rt.check(&p, &with(Some(password)), Duration::from_secs(5)).await;
        assert_eq!(r.status, Status::Ok, "{method}: {r:?}\n{}", pg.log());
        assert!(r.details.as_ref().is_some_and(|d| d["server_version"].is_string()), "{method}: {r:?}");

        let r = rt.check(&p, &with(Some("wrong-password")), Duration::from_secs(5)).await;
        assert_error(&r, "authentication failed");
        assert!(r.extra.as_deref().is_some_and(|e| e.contains("28P01")), "{method}: {r:?}");

        let r = rt.check(&p, &with(None), Duration::from_secs(5)).await;
        assert_error(&r, "authentication failed");
    }
    // The md5 user's password is stored as MD5, so its `md5` line made the
    // server ask for MD5 (with a SCRAM verifier it would have used SCRAM).
    let out =
        pg.psql(&format!("SELECT rolpassword LIKE 'md5%' FROM pg_authid WHERE rolname = '{}'", MD5_USER.0));
    assert!(String::from_utf8_lossy(&out.stdout).contains('t'), "md5 password stored as md5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_against_a_closed_port() {
    crate::common::assert_refused_on_a_closed_port("postgres").await;
}

/// NATS speaks first (`INFO {...}`): not a PostgreSQL message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unexpected_protocol_against_nats() {
    if !require("NATS", "127.0.0.1:4222") {
        return;
    }
    let r = check(json!({"host": "127.0.0.1", "port": 4222})).await;
    assert_error(&r, "unexpected protocol");
}

/// MariaDB greets with its handshake: not an authentication request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unexpected_protocol_against_mariadb() {
    if !require("MariaDB", "127.0.0.1:3306") {
        return;
    }
    let r = check(json!({"host": "127.0.0.1", "port": 3306})).await;
    assert_error(&r, "unexpected protocol");
}

/// Redis waits for a line end that a PostgreSQL startup message never has,
/// so it stays as silent as a hung server: a timeout, not a wrong answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_never_answers_so_the_check_times_out() {
    if !require("Redis", "127.0.0.1:6379") {
        return;
    }
    let r = check_within(json!({"host": "127.0.0.1", "port": 6379}), Duration::from_millis(700)).await;
    assert_eq!(r.status, Status::Timeout, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_against_a_listener_that_never_answers() {
    crate::common::assert_times_out_on_a_silent_listener("postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_for_a_config_that_cannot_work() {
    let rt = runtime();
    let p = load(&rt, probe("postgres")).await;
    for config in [
        json!({}),
        json!({"host": ""}),
        json!({"host": "h", "port": 0}),
        json!({"host": "h", "user": ""}),
        json!({"host": "h", "query": ""}),
        json!({"host": "h", "password": 5}),
        json!({"host": "h", "sslmode": "require"}),
        json!({"host": "127.0.0.1", "port": closed_port(), "database": "a\u{0}b"}),
    ] {
        let r = rt.check(&p, &config, Duration::from_secs(5)).await;
        assert_eq!(r.status, Status::Failed, "{config}: {r:?}");
    }
}
