//! `sonde plugin new NAME --dir DIR` writes a crate that builds on its own,
//! outside the repository, into a component the service accepts.

use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

use serde_json::json;

use super::{cargo, host_triple, root, sonde, stdout_json};
use crate::live::harness::{Server, wait_for};

fn echo_server() -> (u16, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    sonde_test_support::accept_loop(|stream| {
        std::thread::spawn(move || {
            let mut line = String::new();
            if BufReader::new(&stream).read_line(&mut line).is_ok() {
                let _ = (&stream).write_all(line.as_bytes());
            }
        });
    })
}

#[test]
fn plugin_new_writes_a_standalone_crate_that_builds_inspects_checks_and_serves() {
    // Outside the repository (the system temp dir), so nothing can lean on it.
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("my-echo");
    let dir_s = dir.to_str().expect("utf-8");

    let out = sonde(&["plugin", "new", "my-echo", "--dir", dir_s]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        stdout_json(&out),
        json!({"dir": dir_s, "package": "my-echo-probe", "source_type": "my-echo",
               "artifact": "target/wasm32-wasip2/release/my_echo_probe.wasm"})
    );
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    let manifest = read("Cargo.toml");
    assert!(manifest.contains("[workspace]"), "{manifest}");
    assert!(manifest.contains("name = \"my-echo-probe\""), "{manifest}");
    assert!(manifest.contains("sonde-sdk = { path = \"vendor/sonde-sdk\" }"), "{manifest}");
    assert!(read(".cargo/config.toml").contains("target = \"wasm32-wasip2\""));
    let code = read("src/lib.rs");
    assert!(code.contains("SOURCE_TYPE: &'static str = \"my-echo\""), "{code}");
    assert!(code.contains("struct MyEcho;") && code.contains("export_probe!(MyEcho)"), "{code}");
    assert!(!code.contains("\"echo\""), "{code}");
    assert_eq!(
        std::fs::read(dir.join("vendor/sonde-sdk/wit/probe.wit")).expect("vendored wit"),
        std::fs::read(root().join("wit/0.2.0/probe.wit")).expect("wit")
    );

    // A second run must not overwrite the author's work.
    let again = sonde(&["plugin", "new", "my-echo", "--dir", dir_s]);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&again.stderr).trim(),
        format!("sonde: {dir_s} already exists and is not empty")
    );

    // The template's native unit tests pass in the new crate.
    cargo(&dir, &["test", "--offline", "--target", &host_triple()]);
    // `cargo build --release`, exactly as the author runs it.
    cargo(&dir, &["build", "--release", "--offline"]);
    let wasm = root().join("target/kit/wasm32-wasip2/release/my_echo_probe.wasm");
    let wasm_s = wasm.to_str().expect("utf-8");

    let info = sonde(&["plugin", "inspect", wasm_s]);
    assert_eq!(info.status.code(), Some(0), "{}", String::from_utf8_lossy(&info.stderr));
    let info = stdout_json(&info);
    assert_eq!(
        (info["source_type"].as_str(), info["wit_version"].as_str()),
        (Some("my-echo"), Some("sonde:probe@0.2.0"))
    );

    let (port, _stop) = echo_server();
    let config = json!({"host": "127.0.0.1", "port": port}).to_string();
    let checked = sonde(&["check", "--plugin", wasm_s, "--config", &config]);
    assert_eq!(checked.status.code(), Some(0), "{}", String::from_utf8_lossy(&checked.stdout));
    let checked = stdout_json(&checked);
    assert_eq!((&checked["status"], &checked["details"]), (&json!("OK"), &json!({"echoed": 4})));

    // Dropped into a running service, it serves its type.
    let serve_dir = tempfile::tempdir().expect("tmp");
    let server = Server::start(serve_dir.path(), "");
    std::fs::copy(&wasm, serve_dir.path().join("plugins/my_echo_probe.wasm")).expect("drop in");
    wait_for("my-echo served", Duration::from_secs(5), || server.serving("my-echo").is_some());
    let (status, made) = server.post(
        "/api/v1/sources",
        json!({"name": "mine", "type": "my-echo", "organization": "org_a",
               "config": {"host": "127.0.0.1", "port": port}}),
    );
    assert_eq!(status, 200, "{made}");
    assert_eq!(server.check(made["id"].as_str().expect("id")).0, "SUCCESS");
}

#[test]
fn plugin_new_refuses_a_name_that_is_not_a_source_type() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("x");
    let out = sonde(&["plugin", "new", "My Probe", "--dir", dir.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "sonde: \"My Probe\" is not a probe name: use lowercase letters, digits, '_' and '-', starting with a letter (it becomes the source type)"
    );
    assert!(!dir.exists());
}
