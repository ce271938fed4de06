//! The kit for probe authors: the SDK stands alone (`standalone`), `sonde
//! plugin new` writes a crate that builds outside the repository and runs in
//! the service (`new`), and the worked example of docs/writing-a-probe.md
//! checks a real memcached (`memcached`).
//!
//! Guest builds here share `target/kit` as their target directory, so
//! compiled dependencies are reused between tests and runs, and go
//! `--offline` from the registry cache the repository's builds filled.

mod memcached;
mod new;
mod standalone;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("root").to_path_buf()
}

/// `cargo ARGS` in `dir`, as an author would type it (so `cargo` from PATH,
/// which honours the crate's rust-toolchain.toml), without the outer
/// build's flags.
pub fn cargo(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("cargo")
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", root().join("target/kit"))
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_LLVM_COV")
        .output()
        .expect("running cargo");
    assert!(
        out.status.success(),
        "cargo {args:?} in {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The host's target triple, for native `cargo test` of a guest crate
/// whose `.cargo/config.toml` targets wasm32-wasip2.
pub fn host_triple() -> String {
    let out = Command::new("rustc").arg("-vV").output().expect("rustc -vV");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines().find_map(|l| l.strip_prefix("host: ")).expect("host line").to_string()
}

/// The real `sonde` binary.
pub fn sonde(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(args)
        .env("SONDE_CACHE_DIR", crate::common::cache_dir())
        .output()
        .expect("run sonde")
}

pub fn stdout_json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Every file under `dir`, relative to it, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(base: &Path, dir: &Path, into: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(base, &path, into);
            } else {
                into.push(path.strip_prefix(base).expect("under base").to_path_buf());
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    files.sort();
    files
}
