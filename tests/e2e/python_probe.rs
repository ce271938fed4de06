//! The contract is language-neutral: the Python probe in
//! examples/python-probe is built with componentize-py (pinned in
//! tests/py/requirements.txt) against wit/probe.wit, loaded like any plugin
//! and run in the same sandbox: OK against a listener, ERROR against a
//! closed port, TIMEOUT against a peer that never answers the connect; and
//! dropped into a running `sonde serve`, a source of its type checks SUCCESS.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use sonde::runtime::Status;
use sonde_test_support::python::{python_with, root};
use sonde_test_support::{FullBacklog, SilentListener, closed_port};

use crate::common::{assert_error, check, load, runtime};
use crate::serve::{Serve, wait_for};

/// Builds the example; None (with a printed reason) where componentize-py
/// is not installed outside CI.
fn build() -> Option<PathBuf> {
    let python = python_with("componentize_py")?;
    let tool = python.with_file_name("componentize-py");
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("python-probe");
    std::fs::create_dir_all(&out).expect("out dir");
    let wasm = out.join("pytcp.wasm");
    let built = Command::new(tool)
        .arg("-d")
        .arg(root().join("wit/probe.wit"))
        .args(["-w", "plugin", "componentize", "app", "-o"])
        .arg(&wasm)
        .current_dir(root().join("examples/python-probe"))
        .output()
        .expect("run componentize-py");
    assert!(built.status.success(), "componentize-py failed:\n{}", String::from_utf8_lossy(&built.stderr));
    Some(wasm)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_probe_runs_in_the_same_sandbox() {
    let Some(wasm) = build() else { return };
    let rt = runtime();
    let plugin = load(&rt, wasm.clone()).await;
    assert_eq!(
        (plugin.info.source_type.as_str(), plugin.info.wit_version.as_str()),
        ("pytcp", "sonde:probe@0.1.0")
    );

    let peer = SilentListener::start();
    let ok =
        check(&rt, &plugin, json!({"host": "127.0.0.1", "port": peer.port}), Duration::from_secs(10)).await;
    assert_eq!(ok.status, Status::Ok, "{ok:?}");
    assert_eq!(ok.details, Some(json!({"language": "python"})));
    // The listener's accept loop polls: give it a moment to see the connect.
    let seen = crate::api::eventually(Duration::from_secs(2), || peer.accepted() == 1).await;
    assert!(seen, "the listener saw {} connections", peer.accepted());

    let refused =
        check(&rt, &plugin, json!({"host": "127.0.0.1", "port": closed_port()}), Duration::from_secs(10))
            .await;
    assert_error(&refused, "connection refused");

    // The host's deadline, not the probe's own 5 s timeout, ends this one.
    let silent = FullBacklog::start();
    let config = json!({"host": "127.0.0.1", "port": silent.port, "timeout_s": 60});
    let slow = check(&rt, &plugin, config, Duration::from_millis(800)).await;
    assert_eq!(slow.status, Status::Timeout, "{slow:?}");

    // A schema the Python probe declared is enforced by the host.
    let bad = check(&rt, &plugin, json!({"host": "127.0.0.1"}), Duration::from_secs(5)).await;
    assert_eq!(bad.status, Status::Failed, "{bad:?}");

    // Dropped into a running service, as the guide says: a source of its
    // type is checked SUCCESS.
    let port = peer.port;
    tokio::task::spawn_blocking(move || drop_in(&wasm, port)).await.expect("drop-in");
}

fn drop_in(wasm: &std::path::Path, port: u16) {
    const KEY: &str = "python-probe-admin-key";
    let serve = Serve::start(&format!("[[keys]]\nkey = \"{KEY}\"\nrole = \"admin\"\n"));
    std::fs::copy(wasm, serve.plugins_dir().join("pytcp.wasm")).expect("drop in");
    wait_for("pytcp to load", Duration::from_secs(60), || {
        serve.call("GET", "/v1/plugins", KEY, None).1.to_string().contains("\"pytcp\"")
    });
    let body = json!({"name": "py", "type": "pytcp", "organization": "org_py", "retries": 0,
                      "config": {"host": "127.0.0.1", "port": port}});
    let (status, made) = serve.call("POST", "/api/v1/sources/", KEY, Some(&body));
    assert_eq!(status, 200, "{made}");
    let id = made["id"].as_str().expect("id").to_string();
    let check = format!("/api/v1/sources/{id}/connection-check");
    assert_eq!(serve.call("POST", &check, KEY, None).0, 202);
    wait_for("the check", Duration::from_secs(20), || {
        serve.call("GET", &check, KEY, None).1["status"] == "SUCCESS"
    });
}
