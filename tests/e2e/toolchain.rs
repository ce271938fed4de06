//! The first of the two commands fails fast without the wasm32-wasip2
//! target: `sonde-wasm-target`'s build script, which `sonde` and the test
//! support build after, stops the build within seconds and names the one
//! command to run, instead of after the host's dependencies have compiled.
//!
//! The toolchain without the target is a hard-linked copy of the real one
//! with `lib/rustlib/wasm32-wasip2` left out, so nothing is downloaded and
//! the real toolchain is untouched (a hard link removed is only a name).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use sonde_test_support::python::root;

/// The sysroot of the toolchain `rust-toolchain.toml` pins.
fn sysroot() -> PathBuf {
    let out = Command::new("rustc").args(["--print", "sysroot"]).current_dir(root()).output().expect("rustc");
    assert!(out.status.success(), "rustc --print sysroot: {}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// A copy of the toolchain at `sysroot` whose only difference is that it
/// lacks the wasm32-wasip2 target.
fn toolchain_without_wasm(sysroot: &Path, into: &Path) -> PathBuf {
    let copy = into.join("toolchain");
    let status = Command::new("cp").arg("-al").arg(sysroot).arg(&copy).status().expect("cp");
    assert!(
        status.success(),
        "hard-linking {} into {} (same file system?)",
        sysroot.display(),
        copy.display()
    );
    let wasm = copy.join("lib/rustlib/wasm32-wasip2");
    assert!(wasm.is_dir(), "the real toolchain has the target (rust-toolchain.toml)");
    std::fs::remove_dir_all(&wasm).expect("removing the target from the copy");
    copy
}

#[test]
fn a_missing_wasm_target_stops_the_build_at_once_with_the_command() {
    let real = sysroot();
    let scratch = tempfile::tempdir_in(root().join("target")).expect("scratch dir");
    let toolchain = toolchain_without_wasm(&real, scratch.path());
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| real.join("bin/cargo").display().to_string());
    let started = Instant::now();
    // As a machine without rustup: PATH has the system only, and nothing
    // names the rustup toolchain.
    let out = Command::new(&cargo)
        .args(["build", "-p", "sonde-wasm-target", "--target-dir"])
        .arg(scratch.path().join("target"))
        .current_dir(root())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", scratch.path())
        .env("CARGO_HOME", std::env::var("CARGO_HOME").unwrap_or_else(|_| format!("{}/.cargo", env!("HOME"))))
        .env("RUSTC", toolchain.join("bin/rustc"))
        .env("CARGO_NET_OFFLINE", "true")
        .output()
        .expect("cargo build");
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("failed after {took:?}:\n{stderr}");
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("does not have that target; rustup is not on PATH"), "{stderr}");
    assert!(
        stderr.contains("Run this, then build again:\n\n    rustup target add wasm32-wasip2\n"),
        "{stderr}"
    );
    assert!(stderr.contains(&toolchain.display().to_string()), "names the toolchain it looked in: {stderr}");
    // Nothing but the check itself was compiled before it stopped.
    assert!(!stderr.contains("Compiling sonde "), "{stderr}");
}

#[test]
fn with_the_target_the_check_passes_silently() {
    let scratch = tempfile::tempdir_in(root().join("target")).expect("scratch dir");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(&cargo)
        .args(["build", "-p", "sonde-wasm-target", "--target-dir"])
        .arg(scratch.path().join("target"))
        .current_dir(root())
        .env("CARGO_NET_OFFLINE", "true")
        .env_remove("RUSTC")
        .output()
        .expect("cargo build");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("warning: sonde-wasm-target"), "{stderr}");
}
