//! Shared by the build scripts of `sonde` and `sonde-test-support`: builds a
//! guest workspace for wasm32-wasip2 and lists the components it produced.
//!
//! The guest build runs in its own target directory (`target/wasm`) so it
//! never waits on the lock of the outer build.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where guest builds go: `$CARGO_TARGET_DIR/wasm`, else `<root>/target/wasm`.
pub fn wasm_target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("wasm")
}

/// Builds `workspace` in release mode; returns `(crate name, .wasm path)` for
/// every cdylib and bin it defines.
pub fn build(root: &Path, workspace: &Path) -> Vec<(String, PathBuf)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = wasm_target_dir(root);
    let manifest = workspace.join("Cargo.toml");

    let metadata = Command::new(&cargo)
        .args(["metadata", "--no-deps", "--format-version", "1", "--manifest-path"])
        .arg(&manifest)
        .stderr(Stdio::inherit())
        .output()
        .expect("running cargo metadata");
    assert!(metadata.status.success(), "cargo metadata failed for {}", manifest.display());
    let metadata: serde_json::Value = serde_json::from_slice(&metadata.stdout).expect("metadata JSON");

    println!("cargo:rerun-if-changed={}", manifest.display());
    println!("cargo:rerun-if-changed={}", workspace.join("Cargo.lock").display());
    println!("cargo:rerun-if-changed={}", workspace.join(".cargo/config.toml").display());
    println!("cargo:rerun-if-changed={}", root.join("wit").display());
    println!("cargo:rerun-if-changed={}", root.join("rust-toolchain.toml").display());

    let mut outputs = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let dir = Path::new(package["manifest_path"].as_str().unwrap_or_default())
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        println!("cargo:rerun-if-changed={}", dir.join("Cargo.toml").display());
        println!("cargo:rerun-if-changed={}", dir.join("src").display());
        for dep in package["dependencies"].as_array().into_iter().flatten() {
            if let Some(path) = dep["path"].as_str() {
                println!("cargo:rerun-if-changed={}", Path::new(path).join("src").display());
                println!("cargo:rerun-if-changed={}", Path::new(path).join("Cargo.toml").display());
            }
        }
        for target in package["targets"].as_array().into_iter().flatten() {
            let kinds = target["kind"].as_array().cloned().unwrap_or_default();
            let name = target["name"].as_str().unwrap_or_default();
            // Library artifacts are named with underscores, binaries as given.
            let name = if kinds.iter().any(|k| k == "cdylib") {
                Some(name.replace('-', "_"))
            } else if kinds.iter().any(|k| k == "bin") {
                Some(name.to_string())
            } else {
                None
            };
            if let Some(name) = name {
                let file = target_dir.join("wasm32-wasip2/release").join(format!("{name}.wasm"));
                outputs.push((name, file));
            }
        }
    }

    require_target();
    // The outer build's flags are for the host target, not for wasm.
    let status = Command::new(&cargo)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_LLVM_COV")
        // Build-script stdout is read by cargo as directives: keep it clean.
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .expect("running cargo for the wasm32-wasip2 guests");
    assert!(status.success(), "building {} for wasm32-wasip2 failed", workspace.display());

    for (name, file) in &outputs {
        assert!(file.exists(), "{name}: expected {} after the build", file.display());
    }
    outputs
}

/// Stops with the one command to run when the toolchain lacks the target.
/// `.cargo/rustc-wrapper` installs it before anything compiles; this is
/// for builds that replace that wrapper (an `RUSTC_WRAPPER` such as sccache).
fn require_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(&rustc).args(["--print", "sysroot"]).output() else { return };
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if out.status.success() && !sysroot.join("lib/rustlib/wasm32-wasip2/lib").is_dir() {
        panic!(
            "the toolchain ({}) lacks the wasm32-wasip2 target the probes build for; run `rustup target add wasm32-wasip2`",
            sysroot.display()
        );
    }
}
