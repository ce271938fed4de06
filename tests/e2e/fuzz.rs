//! Schemathesis against the real binary's own `/openapi.json`, with an admin
//! key and an organization key (tests/py/fuzz.sh, about a minute each). It
//! fails on any 5xx, any response off its schema, and any schema-valid
//! request that is refused. Sonde and the fuzzer run in a network namespace
//! with only loopback (`unshare -n`), so the hosts the fuzzer makes up in
//! source configs are never reached, nor looked up.

use std::process::Command;

use sonde_test_support::in_ci;
use sonde_test_support::python::{python_with, script};

/// Seconds of fuzzing per key.
const SECONDS_PER_KEY: &str = "55";

#[test]
fn schemathesis_finds_nothing_with_either_key() {
    let Some(python) = python_with("schemathesis") else { return };
    let can_unshare = Command::new("unshare").args(["-n", "true"]).status().is_ok_and(|s| s.success());
    if !can_unshare {
        assert!(!in_ci(), "`unshare -n` is needed to fence the fuzzer in (run as root)");
        eprintln!("SKIPPED: `unshare -n` is not permitted here (it needs root)");
        return;
    }
    let work = tempfile::tempdir().expect("temp dir");
    let out = Command::new("unshare")
        .args(["-n", "bash"])
        .arg(script("fuzz.sh"))
        .arg(env!("CARGO_BIN_EXE_sonde"))
        .arg(python)
        .arg(work.path())
        .arg(SECONDS_PER_KEY)
        .env("SONDE_CACHE_DIR", crate::common::cache_dir())
        .output()
        .expect("run fuzz.sh");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{stdout}");
    assert!(out.status.success(), "the fuzzer found something ({}):\n{stdout}\n{stderr}", out.status);
}
