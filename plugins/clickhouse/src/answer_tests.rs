//! The answers of a real ClickHouse 18.16 (Debian's), as captured from its
//! HTTP interface, and of 20.x and later as documented.

use serde_json::{Value, json};
use sonde_sdk::testing::unhealthy;

use super::*;

fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
    Response {
        status,
        headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
        body: body.as_bytes().to_vec(),
    }
}

fn failed(status: u16, body: &str) -> (String, Value) {
    unhealthy(failure(&answer(status, &[], body)))
}

#[test]
fn reads_the_codes_of_18_16() {
    let (message, extra) = failed(
        401,
        "Code: 193, e.displayText() = DB::Exception: Wrong password for user default, e.what() = DB::Exception\n",
    );
    assert_eq!(
        (message.as_str(), &extra["code"], &extra["stage"]),
        ("authentication failed", &json!(193), &json!("auth"))
    );
    assert_eq!(
        failed(401, "Code: 192, e.displayText() = DB::Exception: Unknown user nobody").0,
        "authentication failed"
    );
    assert_eq!(
        failed(401, "Code: 194, e.displayText() = DB::Exception: Password required for user default").0,
        "authentication failed"
    );
    let (message, extra) = failed(
        404,
        "Code: 81, e.displayText() = DB::Exception: Database nope doesn't exist, e.what() = DB::Exception",
    );
    assert_eq!((message.as_str(), &extra["stage"]), ("database does not exist", &json!("resource")));
    let (message, extra) = failed(
        404,
        "Code: 60, e.displayText() = DB::Exception: Table default.nope doesn't exist., e.what() = DB::Exception",
    );
    assert_eq!((message.as_str(), &extra["code"]), ("query failed", &json!(60)));
    assert!(extra["detail"].as_str().is_some_and(|d| d.contains("default.nope")), "{extra}");
}

#[test]
fn reads_the_code_header_of_later_servers() {
    let body = "Code: 516. DB::Exception: default: Authentication failed: password is incorrect, or there is no user \
                with such name. (AUTHENTICATION_FAILED) (version 23.8.1.1)\n";
    let resp = answer(401, &[("x-clickhouse-exception-code", "516")], body);
    assert_eq!(exception(&resp).code, Some(516));
    assert_eq!(unhealthy(failure(&resp)).0, "authentication failed");
    let denied = answer(403, &[("x-clickhouse-exception-code", "497")], "Code: 497. DB::Exception: no grant");
    assert_eq!(unhealthy(failure(&denied)).0, "permission denied");
    // No code at all: not ClickHouse speaking.
    assert_eq!(failed(502, "<html>Bad Gateway</html>").0, "unexpected protocol");
}

#[test]
fn reads_a_jsoncompact_answer() {
    let body = r#"{"meta": [{"name": "count()", "type": "UInt64"}, {"name": "ts", "type": "DateTime"}],
        "data": [["3", "2026-12-06 18:24:54"]], "rows": 1, "statistics": {"elapsed": 0.0001}}"#;
    let set = result_set(&answer(200, &[], body)).expect("a result set");
    assert_eq!(set.rows.len(), 1);
    // 64-bit integers come quoted; they are numbers again.
    assert_eq!(set.first(), json!(3));
    let empty = result_set(&answer(200, &[], r#"{"meta": [{"name": "x", "type": "UInt8"}], "data": []}"#))
        .expect("no rows");
    assert_eq!(empty.first(), Value::Null);
    let (message, _) = unhealthy(result_set(&answer(200, &[], "1\n")).expect_err("TabSeparated"));
    assert_eq!(message, "unexpected protocol");
    // An exception after the 200 went out.
    let late =
        "{\"meta\": [], \"data\": [\nCode: 241, e.displayText() = DB::Exception: Memory limit exceeded";
    let (message, extra) = unhealthy(result_set(&answer(200, &[], late)).expect_err("failed late"));
    assert_eq!((message.as_str(), &extra["code"]), ("query failed", &json!(241)));
}

#[test]
fn converts_only_what_it_knows() {
    assert_eq!(as_json("Nullable(Int64)", &json!("-5")), json!(-5));
    assert_eq!(
        as_json("UInt256", &json!("123456789012345678901234567890")),
        json!("123456789012345678901234567890")
    );
    assert_eq!(as_json("String", &json!("5")), json!("5"));
    assert_eq!(as_json("Float64", &json!(1.5)), json!(1.5));
}

#[test]
fn lets_the_server_convert_a_datetime() {
    let at = json!("2026-12-06 18:24:54");
    assert_eq!(
        to_unix_query("DateTime", &at).as_deref(),
        Some("SELECT toUnixTimestamp(toDateTime('2026-12-06 18:24:54'))")
    );
    assert_eq!(
        to_unix_query("Nullable(DateTime('Europe/Berlin'))", &at).as_deref(),
        Some("SELECT toUnixTimestamp(toDateTime('2026-12-06 18:24:54', 'Europe/Berlin'))")
    );
    assert_eq!(
        to_unix_query("DateTime64(3, 'UTC')", &json!("2026-12-06 18:24:54.123")).as_deref(),
        Some("SELECT toUnixTimestamp(toDateTime('2026-12-06 18:24:54', 'UTC'))")
    );
    // Nothing but the printed shape goes into SQL.
    assert_eq!(to_unix_query("DateTime", &json!("2026-12-06 18:24:5'")), None);
    assert_eq!(to_unix_query("Date", &json!("2026-12-06")), None);
    assert_eq!(to_unix_query("String", &at), None);
}
