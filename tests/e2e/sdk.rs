//! The seeds' own clients against the real binary, unchanged: Unstructured's
//! Python SDK (`unstructured-client`, pinned in tests/py/requirements.txt)
//! runs tests/py/unstructured_sdk.py against `sonde serve` and a real
//! PostgreSQL.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use sonde_test_support::python::{python_with, script};
use sonde_test_support::{closed_port, require};

use crate::serve::Serve;

const ACME: &str = "sdk-acme-key-5b1d";
const OTHER: &str = "sdk-other-key-0c7e";

#[test]
fn unstructured_sdk_drives_sources_and_connection_checks() {
    let Some(python) = python_with("unstructured_client") else { return };
    if !require("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    // One attempt per check, so the closed port's FAILURE comes at once.
    let serve = Serve::start(&format!(
        "[defaults]\nretries = 0\ntimeout = \"5s\"\n\n\
         [[keys]]\nkey = \"{ACME}\"\norganization = \"org_acme\"\n\n\
         [[keys]]\nkey = \"{OTHER}\"\norganization = \"org_other\"\n"
    ));
    let envs = [("PG_PORT", "5432".to_string()), ("CLOSED_PORT", closed_port().to_string())];
    run_script(&python, "unstructured_sdk.py", &serve, ACME, OTHER, &envs, "every call worked");
}

/// Runs `tests/py/<name>` with `python` against `serve` (its URL and the two
/// organizations' keys in SONDE_URL, ACME_KEY, OTHER_KEY, plus `envs`), and
/// fails unless it exits 0 having printed `done`.
pub fn run_script(
    python: &Path,
    name: &str,
    serve: &Serve,
    acme: &str,
    other: &str,
    envs: &[(&str, String)],
    done: &str,
) {
    let mut child = Command::new(python)
        .arg(script(name))
        .env("SONDE_URL", &serve.base)
        .env("ACME_KEY", acme)
        .env("OTHER_KEY", other)
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the SDK script");
    // The SDK retries 5xx answers for minutes: a bound of our own.
    let end = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > end {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().expect("output");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{stdout}");
    assert!(
        out.status.success() && stdout.contains(done),
        "{name} failed ({}):\n{stdout}\n{stderr}\nsonde's log:\n{}",
        out.status,
        serve.logs()
    );
}
