//! The real `sonde` binary: output shape and exit codes (DESIGN §7).

use std::process::{Command, Output};

use serde_json::Value;
use sonde_test_support::{closed_port, fixture, probe, require};

fn sonde(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(args)
        .env("SONDE_CACHE_DIR", crate::common::cache_dir())
        .output()
        .expect("run sonde")
}

fn json_out(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn check_prints_an_ok_object_and_exits_0() {
    if !require("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let tcp = probe("tcp");
    let out = sonde(&[
        "check",
        "--plugin",
        tcp.to_str().expect("utf-8"),
        "--config",
        r#"{"host":"127.0.0.1","port":5432}"#,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_out(&out);
    let keys: Vec<&str> = v.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 6, "{v}");
    for k in ["status", "error", "timestamp", "duration_ms", "details", "items"] {
        assert!(v.get(k).is_some(), "missing {k}: {v}");
    }
    assert_eq!(v["status"], "OK");
    assert_eq!(v["error"], Value::Null);
    chrono::DateTime::parse_from_rfc3339(v["timestamp"].as_str().expect("timestamp")).expect("RFC 3339");
}

#[test]
fn check_by_type_reports_error_and_exits_1() {
    let config = format!(r#"{{"host":"127.0.0.1","port":{}}}"#, closed_port());
    let out = sonde(&["check", "--type", "tcp", "--config", &config, "--timeout", "3s"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json_out(&out);
    assert_eq!(v["status"], "ERROR");
    assert_eq!(v["error"]["message"], "connection refused");
}

#[test]
fn a_timeout_exits_1() {
    let hostile = fixture("hostile");
    let out = sonde(&[
        "check",
        "--plugin",
        hostile.to_str().expect("utf-8"),
        "--config",
        r#"{"mode":"spin"}"#,
        "--timeout",
        "300ms",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v = json_out(&out);
    assert_eq!((v["status"].as_str(), &v["error"]), (Some("TIMEOUT"), &Value::Null));
}

#[test]
fn a_bad_config_is_failed_with_the_reason() {
    let out = sonde(&["check", "--type", "tcp", "--config", r#"{"host":"127.0.0.1","port":"five"}"#]);
    assert_eq!(out.status.code(), Some(1));
    let v = json_out(&out);
    assert_eq!(v["status"], "FAILED");
    assert!(v["error"].as_str().is_some_and(|e| e.contains("/port")), "{v}");
}

/// A type spelled with `-` (`kafka-cloud`, whose crate is `kafka_cloud`)
/// is found by the name sources use.
#[test]
fn a_type_is_found_by_the_name_sources_use() {
    for wanted in ["kafka-cloud", "kafka_cloud"] {
        let out = sonde(&["check", "--type", wanted, "--config", "{}"]);
        assert_eq!(out.status.code(), Some(1), "{wanted}: {}", String::from_utf8_lossy(&out.stderr));
        let v = json_out(&out);
        assert_eq!(v["status"], "FAILED", "{wanted}: {v}");
        assert!(v["error"].as_str().is_some_and(|e| e.contains("bootstrap_servers")), "{v}");
    }
}

#[test]
fn the_command_itself_failing_exits_2_with_the_reason() {
    let garbage = std::env::temp_dir().join(format!("sonde-cli-garbage-{}.wasm", std::process::id()));
    std::fs::write(&garbage, b"garbage").expect("write");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "check".into(),
                "--plugin".into(),
                garbage.display().to_string(),
                "--config".into(),
                "{}".into(),
            ],
            "not a WebAssembly component",
        ),
        (
            vec!["check".into(), "--type".into(), "no-such-type".into(), "--config".into(), "{}".into()],
            "no built-in probe of type",
        ),
        (
            vec!["check".into(), "--type".into(), "tcp".into(), "--config".into(), "{not json".into()],
            "not valid JSON",
        ),
        (
            vec![
                "check".into(),
                "--type".into(),
                "tcp".into(),
                "--config".into(),
                "{}".into(),
                "--timeout".into(),
                "soon".into(),
            ],
            "soon",
        ),
        (vec!["check".into(), "--config".into(), "{}".into()], "--plugin"),
        (vec!["plugin".into(), "inspect".into(), "/no/such/file.wasm".into()], "/no/such/file.wasm"),
    ];
    for (args, reason) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = sonde(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    }
    let _ = std::fs::remove_file(garbage);
}

#[test]
fn inspect_prints_probe_info_and_wit_version() {
    let tcp = probe("tcp");
    let out = sonde(&["plugin", "inspect", tcp.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_out(&out);
    assert_eq!(v["source_type"], "tcp");
    // The first-party probes are built on the newest contract.
    assert_eq!(v["wit_version"], "sonde:probe@0.2.0");
    assert_eq!(v["version"], "0.1.0");
    assert_eq!(v["config_schema"]["required"], serde_json::json!(["host", "port"]));
    assert_eq!(v["sha256"].as_str().map(str::len), Some(64));
}
