//! The probe against scripted answers (what ClickHouse 18.16 sends, as
//! captured from Debian's server): requests, headers, and `expect`.

use serde_json::json;
use sonde_sdk::testing::{self, http_answer, serve_http, unhealthy};

use super::*;

fn config(url: &str, extra: serde_json::Value) -> serde_json::Value {
    let port: u16 = url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a port");
    let mut config = json!({"host": "127.0.0.1", "port": port});
    for (k, v) in extra.as_object().into_iter().flatten() {
        config[k] = v.clone();
    }
    config
}

fn ping() -> String {
    http_answer(200, &[], "Ok.\n")
}

fn rows(body: &str) -> String {
    http_answer(200, &[("content-type", "application/json; charset=UTF-8")], body)
}

#[test]
fn pings_then_queries_with_the_user_in_headers() {
    let one = r#"{"meta": [{"name": "1", "type": "UInt8"}], "data": [[1]], "rows": 1}"#;
    let tables = r#"{"meta": [{"name": "count()", "type": "UInt64"}], "data": [["4"]], "rows": 1}"#;
    let (url, seen) = serve_http(vec![ping(), rows(one), rows(tables)]);
    let config = config(&url, json!({"user": "sonde", "password": "pw s3cret", "database": "db 1"}));
    let report = testing::check::<ClickHouse>(config).expect("healthy");
    assert_eq!((report.items, &report.details["query_rows"]), (Some(4), &json!(1)));
    let ping = seen.recv().expect("the ping");
    assert!(ping.starts_with("GET /ping HTTP/1.1"), "{ping}");
    assert!(!ping.to_ascii_lowercase().contains("x-clickhouse"), "no credentials before the ping: {ping}");
    let query = seen.recv().expect("the query");
    assert!(
        query.starts_with("GET /?database=db%201&default_format=JSONCompact&query=SELECT%201 HTTP/1.1"),
        "{query}"
    );
    let lower = query.to_ascii_lowercase();
    assert!(
        lower.contains("x-clickhouse-user: sonde") && lower.contains("x-clickhouse-key: pw s3cret"),
        "{query}"
    );
    assert!(!query.lines().next().unwrap_or_default().contains("s3cret"), "never in the URL: {query}");
}

#[test]
fn another_http_server_is_not_clickhouse() {
    let (url, _) = serve_http(vec![http_answer(200, &[], "<html>hello</html>")]);
    let (message, extra) =
        unhealthy(testing::check::<ClickHouse>(config(&url, json!({}))).expect_err("not ClickHouse"));
    assert_eq!((message.as_str(), &extra["stage"]), ("unexpected protocol", &json!("protocol")));
}

#[test]
fn holds_the_answer_to_expect() {
    let body = r#"{"meta": [{"name": "n", "type": "UInt64"}], "data": [["7"], ["8"]], "rows": 2}"#;
    let (url, _) = serve_http(vec![ping(), rows(body)]);
    let err = testing::check::<ClickHouse>(config(&url, json!({"expect": {"rows": 3}}))).expect_err("2 rows");
    let (message, extra) = unhealthy(err);
    assert_eq!(
        (message.as_str(), &extra["expected"], &extra["observed"]),
        ("assertion failed", &json!(3), &json!(2))
    );

    let (url, _) = serve_http(vec![ping(), rows(body)]);
    let err = testing::check::<ClickHouse>(config(&url, json!({"expect": {"equals": 8}}))).expect_err("7");
    assert_eq!(unhealthy(err).1["observed"], json!(7));

    let tables = r#"{"meta": [{"name": "count()", "type": "UInt64"}], "data": [["1"]]}"#;
    let (url, _) = serve_http(vec![ping(), rows(body), rows(tables)]);
    let ok = testing::check::<ClickHouse>(config(&url, json!({"expect": {"rows": {"min": 2}, "equals": 7}})));
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn converts_a_datetime_on_the_server_for_max_age() {
    let newest = r#"{"meta": [{"name": "max(ts)", "type": "DateTime"}], "data": [["2020-01-01 01:00:00"]]}"#;
    let unix = r#"{"meta": [{"name": "u", "type": "UInt32"}], "data": [[1577836800]]}"#;
    let (url, seen) = serve_http(vec![ping(), rows(newest), rows(unix)]);
    let err = testing::check::<ClickHouse>(config(
        &url,
        json!({"query": "SELECT max(ts) FROM t", "expect": {"max_age": "1h"}}),
    ))
    .expect_err("stale");
    let (message, extra) = unhealthy(err);
    assert_eq!((message.as_str(), &extra["expected"]), ("assertion failed", &json!("1h")));
    let _ = (seen.recv(), seen.recv());
    let convert = seen.recv().expect("the conversion");
    assert!(
        convert.contains("toUnixTimestamp%28toDateTime%28%272020-01-01%2001%3A00%3A00%27%29%29"),
        "{convert}"
    );
}

#[test]
fn refuses_what_cannot_work() {
    for config in [
        json!({"host": "h", "expect": {"json": {"/a": 1}}}),
        json!({"host": "h", "user": "a\r\nb"}),
        json!({"host": "h/path"}),
        json!({"host": "h", "query": "  "}),
    ] {
        let err = testing::check::<ClickHouse>(config.clone()).expect_err("refused");
        assert!(matches!(err, CheckError::InvalidConfig(_)), "{config}: {err:?}");
    }
}

#[test]
fn the_port_follows_tls() {
    let at = |c| testing::endpoints::<ClickHouse>(c).expect("endpoints");
    assert_eq!(at(json!({"host": "ch"})), vec![Endpoint::new("ch", 8123)]);
    assert_eq!(at(json!({"host": "ch", "tls": {"mode": "require"}})), vec![Endpoint::new("ch", 8443)]);
    assert_eq!(
        at(json!({"host": "ch", "port": 9, "tls": {"mode": "verify-full"}})),
        vec![Endpoint::new("ch", 9)]
    );
}

#[test]
fn the_schema_hides_the_password_and_refuses_unknown_keys() {
    let schema = testing::config_schema::<ClickHouse>();
    assert_eq!(schema["properties"]["password"]["writeOnly"], true);
    assert_eq!(schema["properties"]["user"]["default"], "default");
    assert_eq!(schema["properties"]["query"]["default"], "SELECT 1");
    assert_eq!(schema["additionalProperties"], false);
}
