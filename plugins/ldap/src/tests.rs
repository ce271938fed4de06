//! Native unit tests (`cargo test --target x86_64-unknown-linux-gnu`): the
//! schema and the configs refused before any connect, and whole checks
//! against a scripted server on loopback that replays answers captured
//! from slapd (the real server is the e2e conformance row's).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;

use sonde_sdk::serde_json::{Value, json};
use sonde_sdk::testing::{self, unhealthy};
use sonde_sdk::{CheckError, Endpoint};

use crate::{Ldap, msg};

const BIND_OK: &str = "300c02010a61070a010004000400";
const BIND_BAD: &str = "300c02010a61070a013104000400";
const ENTRY: &str = "301902010b6414041064633d736f6e64652c64633d746573743000";
const DONE: &str = "300c02010b65070a010004000400";
const MISSING: &str = "301c02010b65170a0120041064633d736f6e64652c64633d746573740400";

fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex")).collect()
}

/// The same answer for another messageID (captured ones answer 10 or 11).
fn with_id(text: &str, id: u8) -> Vec<u8> {
    let mut bytes = hex(text);
    bytes[4] = id;
    bytes
}

/// A server that answers each request it reads with the next of `script`
/// (none for an unbind), and returns the requests' protocolOp tags.
fn scripted(script: Vec<Vec<u8>>) -> (u16, thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let (mut buf, mut ops, mut answers) = (Vec::new(), Vec::new(), script.into_iter());
        let mut chunk = [0u8; 4096];
        loop {
            while let Ok(Some(len)) = msg::frame_len(&buf) {
                if buf.len() < len {
                    break;
                }
                let frame: Vec<u8> = buf.drain(..len).collect();
                // The op's tag follows the 3-byte messageID of ours.
                let tag = frame.get(5).copied().unwrap_or_default();
                ops.push(tag);
                if tag != 0x42 {
                    let Some(answer) = answers.next() else { return ops };
                    s.write_all(&answer).expect("write");
                }
            }
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => return ops,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    });
    (port, handle)
}

fn config(port: u16, extra: Value) -> Value {
    let mut c = json!({"host": "127.0.0.1", "port": port, "base_dn": "dc=sonde,dc=test"});
    for (k, v) in extra.as_object().expect("object") {
        c[k] = v.clone();
    }
    c
}

#[test]
fn the_schema_is_strict_and_the_password_a_secret() {
    let schema = testing::config_schema::<Ldap>();
    assert_eq!(schema["additionalProperties"], false, "{schema}");
    assert_eq!(schema["properties"]["password"]["writeOnly"], true, "{schema}");
    let mut required: Vec<&str> =
        schema["required"].as_array().expect("required").iter().filter_map(Value::as_str).collect();
    required.sort_unstable();
    assert_eq!(required, ["base_dn", "host"]);
    assert!(schema["properties"]["implicit_tls"].is_object(), "{schema}");
}

#[test]
fn configs_that_cannot_work_are_refused_before_any_connect() {
    for bad in [
        json!({"host": "h"}),
        json!({"host": "h", "base_dn": "dc=x", "bind_dn": "cn=a"}),
        json!({"host": "h", "base_dn": "dc=x", "password": "p"}),
        json!({"host": "h", "base_dn": "dc=x", "bind_dn": "cn=a", "password": ""}),
        json!({"host": "h", "base_dn": "dc=x", "implicit_tls": true, "tls": {"mode": "disable"}}),
        json!({"host": "h", "base_dn": "dc=x", "port": 0}),
        json!({"host": "h", "base_dn": "dc=x", "basedn": "dc=x"}),
    ] {
        assert!(matches!(testing::check::<Ldap>(bad.clone()), Err(CheckError::InvalidConfig(_))), "{bad}");
    }
}

#[test]
fn the_port_follows_implicit_tls() {
    let endpoints = |c| testing::endpoints::<Ldap>(c).expect("endpoints");
    assert_eq!(endpoints(json!({"host": "h", "base_dn": ""})), [Endpoint::new("h", 389)]);
    assert_eq!(
        endpoints(json!({"host": "h", "base_dn": "", "implicit_tls": true})),
        [Endpoint::new("h", 636)]
    );
    assert_eq!(
        endpoints(json!({"host": "h", "base_dn": "", "implicit_tls": true, "port": 1636})),
        [Endpoint::new("h", 1636)]
    );
}

#[test]
fn an_anonymous_check_reads_the_entry_and_counts_its_children() {
    let children = [with_id(ENTRY, 12), with_id(ENTRY, 12), with_id(DONE, 12)].concat();
    let (port, server) = scripted(vec![hex(BIND_OK), [hex(ENTRY), hex(DONE)].concat(), children]);
    let r = testing::check::<Ldap>(config(port, json!({}))).expect("healthy");
    assert_eq!(r.details, json!({"bind": "anonymous", "connection": "plaintext"}));
    assert_eq!(r.items, Some(2));
    // Bind, base search, one-level search, unbind.
    assert_eq!(server.join().expect("server"), [0x60, 0x63, 0x63, 0x42]);
}

#[test]
fn a_size_limit_keeps_the_count_and_says_it_is_partial() {
    let limited = [with_id(ENTRY, 12), hex("300c02010c65070a010404000400")].concat();
    let (port, _server) = scripted(vec![hex(BIND_OK), [hex(ENTRY), hex(DONE)].concat(), limited]);
    let config = config(port, json!({"bind_dn": "cn=admin,dc=sonde,dc=test", "password": "pw"}));
    let r = testing::check::<Ldap>(config).expect("healthy");
    assert_eq!(
        (r.items, &r.details["children_truncated"], &r.details["bind"]),
        (Some(1), &json!(true), &json!("simple"))
    );
}

#[test]
fn refusals_carry_the_result_code() {
    let (port, _server) = scripted(vec![hex(BIND_BAD)]);
    let config_pw = config(port, json!({"bind_dn": "cn=admin,dc=sonde,dc=test", "password": "nope"}));
    let (message, extra) = unhealthy(testing::check::<Ldap>(config_pw).expect_err("refused"));
    assert_eq!(
        (message.as_str(), &extra["result_code"], &extra["result"]),
        ("authentication failed", &json!(49), &json!("invalidCredentials"))
    );

    let (port, _server) = scripted(vec![hex(BIND_OK), hex(MISSING)]);
    let (message, extra) = unhealthy(testing::check::<Ldap>(config(port, json!({}))).expect_err("missing"));
    assert_eq!(
        (message.as_str(), &extra["matched_dn"]),
        ("entry does not exist", &json!("dc=sonde,dc=test"))
    );
}

#[test]
fn an_entry_the_search_does_not_return_is_not_visible() {
    let (port, _server) = scripted(vec![hex(BIND_OK), hex(DONE)]);
    let (message, _) = unhealthy(testing::check::<Ldap>(config(port, json!({}))).expect_err("hidden"));
    assert_eq!(message, "permission denied");
}

#[test]
fn a_line_based_server_is_told_apart_at_once() {
    // What Redis does with the first request: the bytes before its line feed
    // are an unknown command.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while s.read(&mut byte).expect("read") == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        s.write_all(b"-ERR unknown command '0'\r\n").expect("write");
        // Redis keeps the connection (and the rest of the request) until the
        // client goes; closing with unread bytes would reset it.
        let _ = s.read_to_end(&mut Vec::new());
        line
    });
    let (message, extra) = unhealthy(testing::check::<Ldap>(config(port, json!({}))).expect_err("not LDAP"));
    assert_eq!(message, "unexpected protocol");
    assert!(extra["detail"].as_str().is_some_and(|d| d.contains("-ERR")), "{extra}");
    assert_eq!(server.join().expect("server").len(), 4, "the line feed is the fifth byte");
}

#[test]
fn a_server_that_hangs_up_unanswered_is_not_ldap() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    // It reads the bind, then hangs up (PostgreSQL does this with a
    // startup packet it cannot read).
    let server = thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let _ = s.read(&mut [0u8; 64]);
    });
    let (message, _) = unhealthy(testing::check::<Ldap>(config(port, json!({}))).expect_err("closed"));
    server.join().expect("server");
    assert_eq!(message, "unexpected protocol");
}

#[test]
fn starttls_refused_is_plaintext_under_prefer_and_an_error_under_require() {
    let refused =
        hex("302a02010a78250a01020400041e756e737570706f7274656420657874656e646564206f7065726174696f6e");
    let answers = |r: &Vec<u8>| {
        vec![
            r.clone(),
            with_id(BIND_OK, 11),
            [with_id(ENTRY, 12), with_id(DONE, 12)].concat(),
            with_id(DONE, 13),
        ]
    };
    let (port, server) = scripted(answers(&refused));
    let r = testing::check::<Ldap>(config(port, json!({"tls": {"mode": "prefer"}}))).expect("plaintext");
    assert_eq!((r.details["connection"].as_str(), r.items), (Some("plaintext"), Some(0)));
    assert_eq!(server.join().expect("server"), [0x77, 0x60, 0x63, 0x63, 0x42]);

    let (port, _server) = scripted(answers(&refused));
    let e = testing::check::<Ldap>(config(port, json!({"tls": {"mode": "require"}}))).expect_err("no TLS");
    let (message, extra) = unhealthy(e);
    assert_eq!(
        (message.as_str(), &extra["result"]),
        ("server does not support TLS", &json!("protocolError"))
    );
}
