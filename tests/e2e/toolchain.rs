//! The first of the two commands fails fast without the wasm32-wasip2
//! target: `.cargo/rustc-wrapper` checks the toolchain on cargo's first
//! question to rustc, before anything compiles, and either installs the
//! target with rustup or stops the build naming the one command to run.
//!
//! The toolchain without the target is a hard-linked copy of the real one,
//! its own rustup home beside it, with the target removed there, so the
//! real toolchain is untouched (a hard link removed is only a name). The
//! builds run in a network namespace with only loopback (`unshare -n`), so
//! rustup's attempt to download cannot leave the machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sonde_test_support::in_ci;
use sonde_test_support::python::root;

/// The toolchain `rust-toolchain.toml` pins, as rustup names it.
const TOOLCHAIN: &str = "1.95.0-x86_64-unknown-linux-gnu";

/// The sysroot of the pinned toolchain, canonical: rustup may link one
/// toolchain to another, and a copy of a link would reach the real one.
fn sysroot() -> PathBuf {
    let out = Command::new("rustc").args(["--print", "sysroot"]).current_dir(root()).output().expect("rustc");
    assert!(out.status.success(), "rustc --print sysroot: {}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).canonicalize().expect("sysroot")
}

/// A rustup home under `into` holding a copy of the pinned toolchain
/// without wasm32-wasip2; returns (rustup home, toolchain dir).
fn rustup_home_without_wasm(into: &Path) -> (PathBuf, PathBuf) {
    let home = into.join("rustup");
    let copy = home.join("toolchains").join(TOOLCHAIN);
    std::fs::create_dir_all(copy.parent().expect("toolchains")).expect("rustup home");
    let status = Command::new("cp").arg("-al").arg(sysroot()).arg(&copy).status().expect("cp");
    assert!(status.success(), "hard-linking the toolchain into {} (same file system?)", copy.display());
    let kind = std::fs::symlink_metadata(&copy).expect("the copy").file_type();
    assert!(kind.is_dir() && !kind.is_symlink(), "{} must be a directory of its own", copy.display());
    // rustup rewrites its bookkeeping: give the copy files of its own.
    let rustlib = copy.join("lib/rustlib");
    for entry in std::fs::read_dir(&rustlib).expect("rustlib") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            let bytes = std::fs::read(&path).expect("read");
            std::fs::remove_file(&path).expect("unlink");
            std::fs::write(&path, bytes).expect("write");
        }
    }
    std::fs::write(home.join("settings.toml"), "version = \"12\"\nprofile = \"minimal\"\n")
        .expect("settings");
    let out = Command::new("rustup")
        .args(["target", "remove", "wasm32-wasip2", "--toolchain", TOOLCHAIN])
        .env("RUSTUP_HOME", &home)
        .output()
        .expect("rustup");
    assert!(out.status.success(), "rustup target remove: {}", String::from_utf8_lossy(&out.stderr));
    assert!(!rustlib.join("wasm32-wasip2").exists());
    assert!(sysroot().join("lib/rustlib/wasm32-wasip2/lib").is_dir(), "the real toolchain keeps its target");
    (home, copy)
}

/// `cargo build -p sonde` from the repository, offline and without a
/// network, with `path` as PATH and the given rustup home.
fn build(scratch: &Path, path: &str, rustup_home: &Path, toolchain: &Path) -> Option<Output> {
    let cargo = toolchain.join("bin/cargo");
    let mut cmd = Command::new("unshare");
    cmd.args(["-n", "--"])
        .arg(&cargo)
        .args(["build", "-p", "sonde", "--offline", "--target-dir"])
        .arg(scratch.join("target"))
        .current_dir(root())
        .env_clear()
        .env("PATH", path)
        .env("HOME", scratch)
        .env("CARGO_HOME", std::env::var("CARGO_HOME").unwrap_or_else(|_| format!("{}/.cargo", env!("HOME"))))
        .env("RUSTUP_HOME", rustup_home)
        .env("RUSTUP_TOOLCHAIN", TOOLCHAIN)
        .env("RUSTUP_AUTO_INSTALL", "0")
        .env("RUSTC", toolchain.join("bin/rustc"));
    let out = cmd.output().expect("unshare");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("unshare failed") || stderr.contains("Operation not permitted") {
        assert!(!in_ci(), "a network namespace is needed (root): {stderr}");
        println!("skipped: no network namespace here (needs root): {stderr}");
        return None;
    }
    Some(out)
}

/// What a person reads: the reason, the toolchain, and the command alone
/// on its line; and nothing compiled before it.
fn assert_stopped_at_once(out: &Output, toolchain: &Path, why: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stderr}");
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("does not have that target; {why}")), "{stderr}");
    assert!(stderr.contains(&toolchain.display().to_string()), "names the toolchain it looked in: {stderr}");
    assert!(stderr.contains("Run this, then build again:"), "{stderr}");
    let command = format!("rustup target add wasm32-wasip2 --toolchain {TOOLCHAIN}");
    assert!(stderr.lines().any(|l| l.trim() == command), "{stderr}");
    assert!(!stderr.contains("Compiling"), "stopped before compiling anything: {stderr}");
}

#[test]
fn without_rustup_the_build_stops_at_once_with_the_command() {
    let scratch = tempfile::tempdir_in(root().join("target")).expect("scratch dir");
    let (home, toolchain) = rustup_home_without_wasm(scratch.path());
    // /usr/bin and /bin only: no rustup (it lives in CARGO_HOME/bin).
    let Some(out) = build(scratch.path(), "/usr/bin:/bin", &home, &toolchain) else { return };
    assert_stopped_at_once(&out, &toolchain, "rustup is not on PATH");
}

#[test]
fn when_rustup_cannot_install_it_the_build_stops_at_once_with_the_command() {
    let scratch = tempfile::tempdir_in(root().join("target")).expect("scratch dir");
    let (home, toolchain) = rustup_home_without_wasm(scratch.path());
    let rustup = Command::new("sh").args(["-c", "command -v rustup"]).output().expect("sh");
    let rustup = PathBuf::from(String::from_utf8_lossy(&rustup.stdout).trim());
    let bin = rustup.parent().expect("rustup's directory");
    let path = format!("{}:/usr/bin:/bin", bin.display());
    // rustup tries to download the target and cannot: no network here.
    let Some(out) = build(scratch.path(), &path, &home, &toolchain) else { return };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("running `rustup target add wasm32-wasip2"), "it tried: {stderr}");
    assert_stopped_at_once(&out, &toolchain, "`rustup target add wasm32-wasip2");
}
