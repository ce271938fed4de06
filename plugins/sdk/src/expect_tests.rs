//! Unit tests of [`super::Expect`]: parsing, the refusals a probe makes
//! with `only`, and each check's failure shape.

use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Value, json};

use super::*;

fn expect(v: Value) -> Expect {
    serde_json::from_value(v).expect("an Expect")
}

fn members(p: &Problem) -> Value {
    assert_eq!(p.message, "assertion failed");
    Value::Object(p.members().expect("a JSON extra"))
}

#[test]
fn parses_each_member_and_refuses_unknown_ones() {
    let e = expect(json!({"rows": 3, "equals": null, "max_age": "7d", "json": {"/status": "green"}}));
    assert_eq!((e.rows, e.equals.clone()), (Some(Rows::Exactly(3)), Some(Value::Null)));
    assert_eq!(expect(json!({})), Expect::default());
    let range = expect(json!({"rows": {"min": 1}})).rows;
    assert_eq!(range, Some(Rows::Between(RowRange { min: Some(1), max: None })));
    assert!(serde_json::from_value::<Expect>(json!({"row": 1})).is_err());
    assert!(serde_json::from_value::<Expect>(json!({"rows": {"least": 1}})).is_err());
    assert!(serde_json::from_value::<Expect>(json!({"equals": [1]})).is_err());
}

#[test]
fn only_refuses_what_a_probe_cannot_evaluate() {
    let e = expect(json!({"rows": 1, "json": {"/a": 1}}));
    let msg = e.only("http", &["json"]).expect_err("rows refused");
    assert!(msg.contains("expect.rows") && msg.contains("http") && msg.contains("expect.json"), "{msg}");
    assert!(e.only("x", &["rows", "json"]).is_ok());
    assert!(expect(json!({"max_age": "soon"})).only("s3", &["max_age"]).is_err());
    assert!(expect(json!({"rows": {"min": 5, "max": 1}})).validate().is_err());
    assert!(expect(json!({"json": {"status": 1}})).validate().is_err());
    assert!(expect(json!({"json": {"": {"a": 1}}})).validate().is_ok());
}

#[test]
fn rows_exactly_and_between() {
    assert!(Expect::default().check_rows(0).is_ok());
    let e = expect(json!({"rows": 2}));
    assert!(e.check_rows(2).is_ok());
    let p = e.check_rows(3).expect_err("3 is not 2");
    assert_eq!(members(&p), json!({"stage": "assertion", "detail": "3 rows", "expected": 2, "observed": 3}));
    let e = expect(json!({"rows": {"min": 1, "max": 10}}));
    assert!(e.check_rows(1).is_ok() && e.check_rows(10).is_ok());
    let p = e.check_rows(0).expect_err("below min");
    assert_eq!(members(&p)["expected"], json!({"min": 1, "max": 10}));
    assert!(e.check_rows(11).is_err());
}

#[test]
fn equals_compares_numbers_by_value() {
    let e = expect(json!({"equals": 1}));
    assert!(e.check_equals(&json!(1.0)).is_ok());
    let p = e.check_equals(&json!("1")).expect_err("a string is not a number");
    assert_eq!((members(&p)["expected"].clone(), members(&p)["observed"].clone()), (json!(1), json!("1")));
    assert!(expect(json!({"equals": null})).check_equals(&Value::Null).is_ok());
    assert!(expect(json!({"equals": null})).check_equals(&json!(0)).is_err());
    let long = "x".repeat(10_000);
    let p = expect(json!({"equals": "y"})).check_equals(&json!(long)).expect_err("differs");
    assert!(p.extra.as_deref().is_some_and(|x| x.len() < 1000), "the observed value is cut short");
}

#[test]
fn max_age_of_numbers_and_timestamps() {
    let now = UNIX_EPOCH + Duration::from_secs(1_255_369_830 + 3600); // 2009-10-12T18:50:30Z
    let e = expect(json!({"max_age": "2h"}));
    for fresh in
        [json!("2009-10-12T17:50:30.000Z"), json!("Mon, 12 Oct 2009 17:50:30 GMT"), json!(1_255_369_830)]
    {
        assert!(e.check_max_age(&fresh, now).is_ok(), "{fresh}");
    }
    let p = expect(json!({"max_age": "30m"}))
        .check_max_age(&json!("2009-10-12 17:50:30"), now)
        .expect_err("stale");
    let m = members(&p);
    assert_eq!((m["expected"].clone(), m["observed"].clone()), (json!("30m"), json!("1h")));
    assert!(m["detail"].as_str().is_some_and(|d| d.contains("2009-10-12 17:50:30")), "{m}");
    let p = e.check_max_age(&Value::Null, now).expect_err("nothing listed");
    assert_eq!(members(&p)["observed"], Value::Null);
    assert!(e.check_max_age(&json!("last tuesday"), now).is_err());
    assert!(Expect::default().check_max_age(&Value::Null, now).is_ok());
    // A clock behind the source is no age at all.
    assert!(e.check_max_age(&json!(1_255_369_830 + 7200), now).is_ok());
}

#[test]
fn json_equalities_by_pointer() {
    let e = expect(json!({"json": {"/status": "green", "/nodes/0/up": true, "/count": 2}}));
    let doc = json!({"status": "green", "nodes": [{"up": true}], "count": 2.0});
    assert!(e.check_json(&doc).is_ok());
    let p = e.check_json(&json!({"status": "red", "nodes": [{"up": true}], "count": 2})).expect_err("red");
    assert_eq!(
        members(&p),
        json!({"stage": "assertion", "detail": "/status differs", "expected": "green", "observed": "red"})
    );
    let p = expect(json!({"json": {"/gone": null}})).check_json(&json!({})).expect_err("missing");
    assert_eq!(members(&p)["detail"], "/gone is missing");
}

#[test]
fn the_schema_names_every_member_and_refuses_others() {
    let s = schemars::schema_for!(Expect);
    let v = s.as_value();
    assert_eq!(v["additionalProperties"], false);
    for m in MEMBERS {
        assert!(v["properties"][m].is_object(), "{m}: {v:#}");
    }
    assert_eq!(v["properties"]["equals"]["type"], json!(["string", "number", "boolean", "null"]));
    assert!(v["properties"]["equals"].get("default").is_none());
}

#[test]
fn a_query_result_holds_rows_then_equals_then_max_age() {
    let e = expect(json!({"rows": {"min": 1}, "equals": null}));
    assert!(e.check_query(1, &Value::Null).is_ok(), "a NULL read equals null");
    let p = e.check_query(0, &Value::Null).expect_err("no row");
    assert_eq!(members(&p)["detail"], json!("0 rows"));
    let p = expect(json!({"equals": null})).check_query(0, &Value::Null).expect_err("nothing read");
    assert_eq!(members(&p)["detail"], json!("no row came back"));
    let e = expect(json!({"max_age": "1h"}));
    let fresh = crate::clock::format_rfc3339(crate::clock::now_unix() - 60);
    assert!(e.check_query(1, &json!(fresh)).is_ok());
    let p = e.check_query(1, &json!("2020-01-01 00:00:00")).expect_err("stale");
    assert_eq!(members(&p)["expected"], json!("1h"));
}
