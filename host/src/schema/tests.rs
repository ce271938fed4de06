//! Tests of config schemas: validation, secret discovery through every
//! composition keyword, and what the found paths do to a config.

use super::*;
use serde_json::json;

/// The issue's bomb: `levels` of `anyOf` with `fan` references each to the
/// next level, the last a string of at least 3 characters.
pub(crate) fn bomb(levels: usize, fan: usize) -> Value {
    let mut defs = serde_json::Map::new();
    for level in 0..levels {
        let next = format!("#/$defs/l{}", level + 1);
        let any: Vec<Value> = (0..fan).map(|_| json!({"$ref": next})).collect();
        defs.insert(format!("l{level}"), json!({"anyOf": any}));
    }
    defs.insert(format!("l{levels}"), json!({"type": "string", "minLength": 3}));
    json!({"type": "object", "properties": {"x": {"$ref": "#/$defs/l0"}}, "$defs": defs})
}

fn parse(v: Value) -> ConfigSchema {
    ConfigSchema::parse(&v.to_string()).unwrap_or_else(|e| panic!("{e}"))
}

fn paths(s: &ConfigSchema) -> Vec<String> {
    let mut p: Vec<String> = s.secret_paths().iter().map(ToString::to_string).collect();
    p.sort();
    p
}

#[test]
fn guests_get_whole_floats_as_integers() {
    let config = json!({"port": 5432.0, "ratio": 0.5, "list": [1.0, 2], "big": 1e300, "s": "3.0"});
    let text = guest_json(&config);
    let back: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(back, json!({"port": 5432, "ratio": 0.5, "list": [1, 2], "big": 1e300, "s": "3.0"}));
    assert!(text.contains("\"port\":5432,"), "{text}");
}

fn schema() -> ConfigSchema {
    parse(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["host"],
        "additionalProperties": false,
        "properties": {
            "host": { "type": "string" },
            "port": { "type": "integer", "minimum": 1, "maximum": 65535 },
            "password": { "type": ["string", "null"], "writeOnly": true },
            "auth": { "type": "object", "properties": {
                "token": { "anyOf": [{ "$ref": "#/$defs/Secret" }, { "type": "null" }] }
            }}
        },
        "$defs": { "Secret": { "type": "string", "writeOnly": true } }
    }))
}

#[test]
fn finds_secrets_through_refs_and_nesting() {
    assert_eq!(paths(&schema()), ["/auth/token", "/password"]);
}

#[test]
fn a_write_only_beside_a_ref_is_a_secret() {
    let s = parse(json!({
        "type": "object",
        "properties": {"password": {"$ref": "#/$defs/pw", "writeOnly": true}, "user": {"$ref": "#/$defs/pw"}},
        "$defs": {"pw": {"type": "string"}}
    }));
    assert_eq!(paths(&s), ["/password", "/tls/client_key"]);
    let config = json!({"user": "u", "password": "p"});
    assert_eq!(s.strip_secrets(&config), json!({"user": "u"}));
}

#[test]
fn ref_chains_and_defs_are_followed_and_cycles_end() {
    let s = parse(json!({
        "$ref": "#/$defs/a",
        "$defs": {
            "a": {"$ref": "#/$defs/b"},
            "b": {"allOf": [{"$ref": "#/$defs/c"}]},
            "c": {"properties": {"key": {"$ref": "#/$defs/d"}, "again": {"$ref": "#/$defs/a"}}},
            "d": {"$ref": "#/$defs/e"},
            "e": {"writeOnly": true, "type": "string"}
        }
    }));
    assert!(paths(&s).contains(&"/key".to_string()), "{:?}", paths(&s));
}

#[test]
fn secrets_inside_a_recursive_schema_are_found_at_every_level() {
    let s = parse(json!({
        "$ref": "#/$defs/node",
        "$defs": {"node": {"type": "object", "properties": {
            "name": {"type": "string"},
            "password": {"type": "string", "writeOnly": true},
            "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
            "self": {"$ref": "#"}
        }}}
    }));
    let config = json!({"name": "a", "password": "p0", "children": [
        {"name": "b", "password": "p1", "children": [{"name": "c", "password": "p2"}]}
    ], "self": {"password": "p3"}});
    let mut found = s.secrets_in(&config);
    found.sort();
    assert_eq!(found, ["p0", "p1", "p2", "p3"]);
    assert_eq!(
        s.strip_secrets(&config),
        json!({"name": "a", "children": [{"name": "b", "children": [{"name": "c"}]}], "self": {}})
    );
    let (public, secrets) = s.split_secrets(&config);
    assert_eq!(merge_secrets(&public, &secrets), config);
}

#[test]
fn composition_keywords_are_walked() {
    let s = parse(json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {"kind": {"type": "string"}, "cond": {"type": "object"}},
        "allOf": [{"properties": {"a": {"writeOnly": true}}}],
        "anyOf": [{"properties": {"b": {"writeOnly": true}}}, true],
        "oneOf": [{"properties": {"c": {"writeOnly": true}}}, {"properties": {"c2": {"writeOnly": true}}}],
        "if": {"properties": {"kind": {"const": "x"}}},
        "then": {"properties": {"d": {"writeOnly": true}}},
        "else": {"properties": {"e": {"writeOnly": true}}},
        "dependentSchemas": {"kind": {"properties": {"f": {"writeOnly": true}}}}
    }));
    assert_eq!(paths(&s), ["/a", "/b", "/c", "/c2", "/d", "/e", "/f"]);
}

#[test]
fn members_not_named_are_matched_by_segments() {
    let s = parse(json!({
        "type": "object",
        "properties": {
            "headers": {"type": "object", "properties": {"accept": {"type": "string"}},
                        "additionalProperties": {"type": "string", "writeOnly": true}},
            "vault": {"type": "object", "patternProperties": {"^key_": {"writeOnly": true}}},
            "servers": {"type": "array", "items": {"properties": {"password": {"writeOnly": true}}}},
            "tokens": {"type": "array", "items": {"writeOnly": true}},
            "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"writeOnly": true}]}
        }
    }));
    let config = json!({
        "headers": {"accept": "json", "x-api-key": "h1"},
        "vault": {"key_a": "v1", "name": "visible"},
        "servers": [{"host": "a", "password": "s1"}, {"host": "b"}, {"host": "c", "password": "s3"}],
        "tokens": ["t1", "t2"],
        "pair": ["user", "p2"]
    });
    let mut found = s.secrets_in(&config);
    found.sort();
    assert_eq!(found, ["h1", "p2", "s1", "s3", "t1", "t2", "v1"]);
    let unevaluated = parse(json!({
        "allOf": [{"properties": {"host": {"type": "string"}}}],
        "properties": {"port": {"type": "integer"}},
        "unevaluatedProperties": {"type": "string", "writeOnly": true}
    }));
    let c = json!({"host": "h", "port": 1, "api_key": "u1"});
    assert_eq!(unevaluated.secrets_in(&c), ["u1"]);
    assert_eq!(unevaluated.strip_secrets(&c), json!({"host": "h", "port": 1}));
    let (public, secrets) = s.split_secrets(&config);
    assert_eq!(
        public,
        json!({
            "headers": {"accept": "json"},
            "vault": {"name": "visible"},
            "servers": [{"host": "a"}, {"host": "b"}, {"host": "c"}]
        })
    );
    assert_eq!(merge_secrets(&public, &secrets), config);
    assert_eq!(s.strip_secrets(&config), public);
    // An array the public half no longer has as long drops the extra secrets.
    let shorter = json!({"servers": [{"host": "a"}]});
    assert_eq!(merge_secrets(&shorter, &secrets)["servers"], json!([{"host": "a", "password": "s1"}]));
    // New secrets laid over stored ones extend an array.
    let old = json!({"servers": [{"password": "s1"}]});
    let new = json!({"servers": [null, {"password": "n2"}]});
    assert_eq!(overlay_secrets(&old, &new), json!({"servers": [{"password": "s1"}, {"password": "n2"}]}));
}

#[test]
fn the_tls_client_key_is_always_a_secret() {
    let plain = parse(json!({"type": "object", "properties": {"host": {"type": "string"}}}));
    let config = json!({"host": "h", "tls": {"mode": "require", "client_key": "PEM"}});
    assert_eq!(plain.secrets_in(&config), ["PEM"]);
    assert_eq!(plain.strip_secrets(&config), json!({"host": "h", "tls": {"mode": "require"}}));
    assert!(plain.has_secrets());
    // A closed schema without `tls` cannot carry one: no secrets to read.
    let closed = parse(json!({"type": "object", "additionalProperties": false,
                              "properties": {"host": {"type": "string"}}}));
    assert!(!closed.has_secrets() && closed.secret_paths().is_empty());
}

#[test]
fn strips_and_lists_secret_values() {
    let s = schema();
    let config = json!({"host": "h", "password": "hunter2", "auth": {"token": "t0k"}});
    assert_eq!(s.strip_secrets(&config), json!({"host": "h", "auth": {}}));
    let mut secrets = s.secrets_in(&config);
    secrets.sort();
    assert_eq!(secrets, vec!["hunter2", "t0k"]);
    assert!(s.holds_secrets(&config) && !s.holds_secrets(&json!({"host": "h", "password": null})));
}

#[test]
fn violations_point_at_the_field_and_never_echo_values() {
    let s = schema();
    let err = s.validate(&json!({"host": "h", "port": 70000, "password": 12345678})).expect_err("invalid");
    let port = err.iter().find(|v| v.path == ["port"]).expect("port violation");
    assert!(!port.message.contains("70000"), "{}", port.message);
    assert!(err.iter().all(|v| !v.message.contains("12345678")));
    assert!(s.validate(&json!({"port": 1})).expect_err("missing host")[0].message.contains("host"));
}

#[test]
fn rejects_invalid_schemas() {
    assert!(ConfigSchema::parse("not json").is_err());
    assert!(ConfigSchema::parse(r#"{"type": 12}"#).is_err());
    assert!(ConfigSchema::parse(r#"{"type": "object"}"#).is_ok());
}

#[test]
fn the_bomb_fails_to_parse_with_its_reason() {
    let text = bomb(8, 40).to_string();
    let t0 = std::time::Instant::now();
    let err = ConfigSchema::parse(&text).expect_err("bomb");
    assert!(err.contains("too complex") && err.contains("$refs expanded"), "{err}");
    assert!(t0.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn patterns_run_on_the_linear_engine() {
    // A backreference needs backtracking: the linear engine refuses it.
    assert!(ConfigSchema::parse(r#"{"pattern": "^(a+)\\1$"}"#).is_err());
    // Catastrophic for a backtracking engine, linear here.
    let s = parse(json!({"properties": {"s": {"type": "string", "pattern": "^(a+)+$"}}}));
    let evil = format!("{}b", "a".repeat(50_000));
    assert!(s.validate(&json!({"s": evil})).is_err());
}

#[test]
fn secrets_split_and_merge_back() {
    let s = schema();
    let config = json!({"host": "h", "password": "pw", "auth": {"token": "t"}});
    let (public, secrets) = s.split_secrets(&config);
    assert_eq!(public, json!({"host": "h", "auth": {}}));
    assert_eq!(secrets, json!({"password": "pw", "auth": {"token": "t"}}));
    assert_eq!(merge_secrets(&public, &secrets), config);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_past_its_deadline_is_too_complex() {
    // Within the bounds (2,000 nodes expanded) but each of many elements
    // fails every branch: far more work than a millisecond.
    let mut raw = bomb(2, 40);
    raw["properties"] = json!({"x": {"type": "array", "items": {"$ref": "#/$defs/l0"}}});
    let limits =
        SchemaLimits { validation_deadline: std::time::Duration::from_millis(1), ..Default::default() };
    let s = std::sync::Arc::new(ConfigSchema::parse_with(&raw.to_string(), limits).expect("within bounds"));
    // 300 elements × 1,600 failing branches: seconds in a debug build,
    // and the abandoned thread finishes soon after.
    let value = json!({"x": vec!["ab"; 300]});
    let err = validate_bounded(&s, &value).await.expect_err("too slow");
    assert!(too_complex(&err), "{err:?}");
    assert_eq!(err[0].to_string(), TOO_COMPLEX);
    // A small value is answered normally, violations and all.
    let generous = SchemaLimits::default();
    let s = std::sync::Arc::new(ConfigSchema::parse_with(&raw.to_string(), generous).expect("schema"));
    assert!(validate_bounded(&s, &json!({"x": ["abc"]})).await.is_ok());
    let err = validate_bounded(&s, &json!({"x": ["ab"]})).await.expect_err("short");
    assert!(!too_complex(&err));
}

#[test]
fn a_dense_graph_of_cycles_is_walked_once() {
    // 8 definitions, each an `anyOf` of references to all of them and a
    // secret: every simple path would be 8! walks; memoized, one each.
    // (At 30 the bounds refuse it: validation is 30^depth of the value.)
    let mut defs = serde_json::Map::new();
    for i in 0..8 {
        let mut any: Vec<Value> = (0..8).map(|j| json!({"$ref": format!("#/$defs/d{j}")})).collect();
        any.push(json!({"properties": {format!("k{i}"): {"writeOnly": true}}}));
        defs.insert(format!("d{i}"), json!({"type": "object", "properties": {"next": {"anyOf": any}}}));
    }
    let raw = json!({"$ref": "#/$defs/d0", "$defs": defs});
    let t0 = std::time::Instant::now();
    let s = parse(raw);
    assert!(t0.elapsed() < std::time::Duration::from_secs(10), "{:?}", t0.elapsed());
    let config = json!({"next": {"k0": "first", "k3": "not-here", "next": {"k3": "second", "next": {"next": {"k7": "deeper"}}}}});
    let mut found = s.secrets_in(&config);
    found.sort();
    assert_eq!(found, ["deeper", "first", "second"]);
}
