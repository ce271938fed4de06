//! The postgres probe's own tests, beyond the conformance table
//! (`conformance/postgres.rs` has its rows: OK, logins, missing database,
//! wrong servers, TLS).

use std::time::Duration;

use serde_json::json;
use sonde_test_support::require;

use crate::common::{assert_error, check_probe};

/// Not a table case: "query failed" is the SQL probes' own message for the
/// operator's `query`, which no other kind of probe has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_query_is_an_error_with_the_server_text() {
    if !require("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let config = json!({"host": "127.0.0.1", "database": "test", "query": "SELECT * FROM no_such_table"});
    let r = check_probe("postgres", config, Duration::from_secs(5)).await;
    assert_error(&r, "query failed");
    assert!(r.extra.as_deref().is_some_and(|e| e.contains("42P01") && e.contains("no_such_table")), "{r:?}");
}
