//! The mqtt probe against the shared broker, a private one with a password
//! file, and peers that are not MQTT brokers.

use std::time::Duration;

use serde_json::{Value, json};
use sonde::runtime::{CheckReport, Status};
use sonde_test_support::mosquitto::Mosquitto;
use sonde_test_support::require;

use crate::common::{assert_error, check_probe};

async fn check(config: Value) -> CheckReport {
    check_probe("mqtt", config, Duration::from_secs(5)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_against_the_shared_broker_with_both_protocol_versions() {
    if !require("Mosquitto", "127.0.0.1:1883") {
        return;
    }
    for version in [4, 5] {
        let r = check(json!({"host": "127.0.0.1", "protocol_version": version})).await;
        assert_eq!(r.status, Status::Ok, "v{version}: {r:?}");
        assert_eq!(r.details.expect("details")["protocol_version"], version);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_auth_against_a_private_broker() {
    let Some(broker) = Mosquitto::with_user("probe", "pw") else {
        return;
    };
    for version in [4, 5] {
        let config = |user: Option<&str>, password: Option<&str>| {
            let mut c = json!({"host": "127.0.0.1", "port": broker.port, "protocol_version": version});
            if let Some(u) = user {
                c["user"] = u.into();
            }
            if let Some(p) = password {
                c["password"] = p.into();
            }
            c
        };
        let ok = check(config(Some("probe"), Some("pw"))).await;
        assert_eq!(ok.status, Status::Ok, "v{version}: {ok:?}");

        let wrong = check(config(Some("probe"), Some("nope"))).await;
        assert_error(&wrong, "authentication failed");

        // Anonymous clients are refused too (not authorized).
        let anonymous = check(config(None, None)).await;
        assert_error(&anonymous, "authentication failed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_against_a_closed_port() {
    crate::common::assert_refused_on_a_closed_port("mqtt").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unexpected_protocol_against_nats() {
    // Redis never answers a CONNECT: its inline-command parser looks for a
    // line end with strchr, which stops at the packet's first NUL byte, so it
    // waits forever (TIMEOUT). A NATS server greets every client with
    // `INFO {...}`, which cannot be a CONNACK.
    if !require("NATS", "127.0.0.1:4222") {
        return;
    }
    let r = check(json!({"host": "127.0.0.1", "port": 4222})).await;
    assert_error(&r, "unexpected protocol");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_against_a_listener_that_never_answers() {
    crate::common::assert_times_out_on_a_silent_listener("mqtt").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_for_a_config_that_cannot_work() {
    for config in [
        json!({}),
        json!({"host": ""}),
        json!({"host": "h", "port": 0}),
        json!({"host": "h", "protocol_version": 3}),
        json!({"host": "h", "client_id": ""}),
        json!({"host": "h", "password": "p"}),
        json!({"host": "h", "username": "u"}),
    ] {
        let r = check(config.clone()).await;
        assert_eq!(r.status, Status::Failed, "{config}: {r:?}");
    }
}
