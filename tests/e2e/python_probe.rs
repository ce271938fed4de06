//! The contract is language-neutral: the Python probe in
//! examples/python-probe is built with componentize-py (pinned in
//! tests/py/requirements.txt) against wit/probe.wit, loaded like any plugin
//! and run in the same sandbox: OK against a listener, ERROR against a
//! closed port, TIMEOUT against a peer that never answers the connect.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use sonde::runtime::Status;
use sonde_test_support::python::{python_with, root};
use sonde_test_support::{FullBacklog, SilentListener, closed_port};

use crate::common::{assert_error, check, load, runtime};

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
    let plugin = load(&rt, wasm).await;
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
}
