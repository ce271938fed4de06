//! The probe called as the host calls it: what a config may say, what it
//! declares, and that no refusal quotes the uri or its password.

use std::io::{Read, Write};
use std::net::TcpListener;

use bson::{Bson, DateTime, doc};
use serde_json::{Value, json};
use sonde_sdk::testing::{check, config_schema, endpoints, unhealthy};
use sonde_sdk::{CheckError, Endpoint};

use super::MongoDb;
use crate::session::{lookup, timestamp};

const PASSWORD: &str = "pa%3Ass";

fn config(uri: &str, extra: Value) -> Value {
    let mut c = json!({"uri": uri, "database": "app", "collection": "events"});
    for (k, v) in extra.as_object().into_iter().flatten() {
        c[k] = v.clone();
    }
    c
}

fn refused(c: Value) -> String {
    match check::<MongoDb>(c) {
        Err(CheckError::InvalidConfig(m)) => m,
        other => panic!("not an invalid config: {other:?}"),
    }
}

#[test]
fn the_uri_is_a_secret_and_unknown_keys_are_refused() {
    let schema = config_schema::<MongoDb>();
    assert_eq!(schema["properties"]["uri"]["writeOnly"], true);
    assert_eq!(schema["additionalProperties"], false);
    let required: Vec<&str> =
        schema["required"].as_array().expect("required").iter().filter_map(Value::as_str).collect();
    assert_eq!(required, ["uri", "database", "collection"]);
    assert!(check::<MongoDb>(config("mongodb://h", json!({"host": "h"}))).is_err());
}

#[test]
fn every_host_of_the_uri_is_declared_and_none_else() {
    let c = config(&format!("mongodb://u:{PASSWORD}@db1,db2:27018,[::1]:1/?replicaSet=rs0"), json!({}));
    assert_eq!(
        endpoints::<MongoDb>(c).expect("endpoints"),
        [Endpoint::new("db1", 27017), Endpoint::new("db2", 27018), Endpoint::new("::1", 1)]
    );
}

#[test]
fn mongodb_srv_is_failed_with_what_to_give_instead() {
    let c = config(&format!("mongodb+srv://u:{PASSWORD}@cluster0.example.net/app"), json!({}));
    let message = refused(c.clone());
    assert_eq!(
        message,
        "mongodb+srv needs SRV and TXT lookups, which a probe cannot make: give the hosts as mongodb://…"
    );
    assert_eq!(endpoints::<MongoDb>(c).expect_err("no endpoints"), message);
}

#[test]
fn configs_that_cannot_work_are_refused_without_quoting_the_uri() {
    let uri = format!("mongodb://u:{PASSWORD}@127.0.0.1:1/");
    for (c, want) in [
        (config(&uri, json!({"expect": {"equals": 1}})), "expect.equals has no meaning for mongodb"),
        (config(&uri, json!({"expect": {"json": {"/a": 1}}})), "expect.json has no meaning"),
        (config(&uri, json!({"expect": {"max_age": "1h"}})), "needs time_field"),
        (config(&format!("{uri}?tls=true"), json!({"tls": {"mode": "disable"}})), "tls=true"),
        (config(&format!("{uri}?ssl=false"), json!({"tls": {"mode": "require"}})), "tls=false"),
        (config(&format!("{uri}?authMechanism=MONGODB-X509"), json!({})), "not supported"),
        (config(&format!("{uri}?tlsInsecure=true"), json!({"tls": {"mode": "verify-full"}})), "tlsInsecure"),
        (config("mongodb://u@127.0.0.1:1/", json!({})), "no password"),
        (config(&uri, json!({"filter": [1]})), "expected a map"),
    ] {
        let message = refused(c);
        assert!(message.contains(want), "{message:?} should say {want:?}");
        assert!(!message.contains("pa%3Ass") && !message.contains("pa:ss"), "{message}");
    }
}

/// A peer that answers our `hello` as Redis answers a line it cannot read.
#[test]
fn another_protocol_is_named_from_its_first_bytes() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut buf = [0u8; 512];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"-ERR unknown command\r\n");
        std::thread::sleep(std::time::Duration::from_secs(2));
    });
    let e = check::<MongoDb>(config(&format!("mongodb://u:{PASSWORD}@127.0.0.1:{port}/"), json!({})))
        .expect_err("not MongoDB");
    let (message, extra) = unhealthy(e);
    assert_eq!(message, "unexpected protocol");
    assert_eq!(extra["stage"], "protocol");
    assert!(!extra.to_string().contains("pa"), "{extra}");
    server.join().expect("server");
}

#[test]
fn the_next_host_is_tried_when_one_refuses() {
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = closed.local_addr().expect("addr").port();
    drop(closed);
    let e = check::<MongoDb>(config(&format!("mongodb://127.0.0.1:{dead},127.0.0.1:{dead}/"), json!({})))
        .expect_err("refused");
    assert_eq!(unhealthy(e).0, "connection refused");
}

#[test]
fn times_read_as_max_age_reads_them() {
    let d = doc! {"meta": {"at": DateTime::from_millis(1_700_000_000_000)}, "n": 5_i64, "s": "2024-01-01T00:00:00Z"};
    assert_eq!(lookup(&d, "meta.at").map(timestamp), Some(json!("2023-11-14T22:13:20Z")));
    assert_eq!(lookup(&d, "n").map(timestamp), Some(json!(5)));
    assert_eq!(lookup(&d, "s").map(timestamp), Some(json!("2024-01-01T00:00:00Z")));
    assert_eq!(lookup(&d, "meta.none"), None);
    assert_eq!(timestamp(&Bson::Boolean(true)), json!(true));
}
