//! The clickhouse probe's own tests, beyond the conformance table
//! (`conformance/clickhouse.rs`): `expect` against a table the test fills in
//! a private server, a query the server refuses, and the readonly GET.

use std::time::Duration;

use serde_json::{Value, json};
use sonde::runtime::{CheckReport, Status};
use sonde_test_support::clickhouse::ClickHouse;

use crate::common::{assert_error, check_probe};

async fn check(server: &ClickHouse, extra: Value) -> CheckReport {
    let mut config = json!({"host": "127.0.0.1", "port": server.port, "password": server.password});
    for (k, v) in extra.as_object().into_iter().flatten() {
        config[k] = v.clone();
    }
    check_probe("clickhouse", config, Duration::from_secs(10)).await
}

/// `expected` and `observed` of a failed assertion.
fn assertion(r: &CheckReport) -> (Value, Value) {
    assert_error(r, "assertion failed");
    let extra: Value = serde_json::from_str(r.extra.as_deref().unwrap_or("{}")).expect("extra is JSON");
    assert_eq!(extra["stage"], "assertion", "{r:?}");
    (extra["expected"].clone(), extra["observed"].clone())
}

/// Three events two hours old in `stale`, one from now in `fresh`; the
/// server prints `DateTime` in its own zone (+05:30), not UTC.
fn filled() -> Option<ClickHouse> {
    let server = ClickHouse::start()?;
    for table in ["stale", "fresh"] {
        server.execute(&format!("CREATE TABLE {table} (ts DateTime, v UInt64) ENGINE = Memory"));
    }
    server.execute("INSERT INTO stale VALUES (now() - 7200, 1), (now() - 7300, 2), (now() - 7400, 3)");
    server.execute("INSERT INTO fresh VALUES (now() - 5, 10)");
    Some(server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_and_equals_hold_or_fail_with_what_was_seen() {
    let Some(server) = filled() else { return };
    let all = "SELECT v FROM stale ORDER BY v";
    let r = check(&server, json!({"query": all, "expect": {"rows": 3}})).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(r.details.as_ref().expect("details")["query_rows"], 3);
    let r = check(&server, json!({"query": all, "expect": {"rows": {"min": 5}}})).await;
    assert_eq!(assertion(&r), (json!({"min": 5, "max": null}), json!(3)));

    // sum() is a UInt64, which ClickHouse's JSON quotes: compared as a number.
    let sum = "SELECT sum(v) FROM stale";
    let r = check(&server, json!({"query": sum, "expect": {"equals": 6}})).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let r = check(&server, json!({"query": sum, "expect": {"equals": 7}})).await;
    assert_eq!(assertion(&r), (json!(7), json!(6)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_age_reads_the_servers_time_zone() {
    let Some(server) = filled() else { return };
    // Read as UTC, the stale row (printed at +05:30) would be in the future.
    let r = check(&server, json!({"query": "SELECT max(ts) FROM stale", "expect": {"max_age": "1h"}})).await;
    let (expected, observed) = assertion(&r);
    assert_eq!(expected, json!("1h"));
    assert!(observed.as_str().is_some_and(|o| o.starts_with("2h")), "about two hours old: {r:?}");
    let r = check(&server, json!({"query": "SELECT max(ts) FROM fresh", "expect": {"max_age": "1h"}})).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    // A zone in the column's type is the server's to apply too.
    let utc = "SELECT toDateTime(max(ts), 'UTC') FROM fresh";
    let r = check(&server, json!({"query": utc, "expect": {"max_age": "1m"}})).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    // No row at all: nothing to date.
    let none = "SELECT ts FROM fresh WHERE v = 0";
    let r = check(&server, json!({"query": none, "expect": {"max_age": "1h"}})).await;
    assert_eq!(assertion(&r).1, Value::Null);
}

/// Not a table case: "query failed" is the SQL probes' own message for the
/// operator's `query` (as mysql's and postgres's), with ClickHouse's code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_query_is_query_failed_with_the_code() {
    let Some(server) = filled() else { return };
    let r = check(&server, json!({"query": "SELECT * FROM no_such_table"})).await;
    assert_error(&r, "query failed");
    let extra = r.extra.as_deref().unwrap_or_default();
    assert!(extra.contains("\"code\":60") && extra.contains("no_such_table"), "{r:?}");
    // A GET is readonly on the server: a health check cannot write.
    let r = check(&server, json!({"query": "INSERT INTO fresh VALUES (now(), 1)"})).await;
    assert_error(&r, "query failed");
    assert!(r.extra.as_deref().is_some_and(|e| e.contains("\"code\":164")), "READONLY: {r:?}");
    assert_eq!(server.execute("SELECT count() FROM fresh").trim(), "1");
}
