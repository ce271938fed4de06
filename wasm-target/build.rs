//! Makes sure the toolchain can build for `wasm32-wasip2` before anything
//! is compiled for it.
//!
//! Without the target, the probes' build would fail only after the host's
//! dependencies had compiled (minutes), with "can't find crate for `core`".
//! Here, with no dependencies to wait for, the check runs first: if the
//! target is missing and rustup is there, `rustup target add` installs it
//! (bounded by [`INSTALL_TIMEOUT`]); otherwise the build stops at once and
//! says the one command to run.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const TARGET: &str = "wasm32-wasip2";

/// A download of one standard library is ~20 MB; past this, give the
/// command to the person instead.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(300);

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTUP_TOOLCHAIN");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Some(sysroot) = sysroot(&rustc) else {
        // Not our question to answer: cargo reports a rustc that cannot run.
        return;
    };
    // Rerun when targets are added or removed (the directory's mtime).
    println!("cargo:rerun-if-changed={}", sysroot.join("lib/rustlib").display());
    if installed(&sysroot) {
        return;
    }
    let toolchain = std::env::var("RUSTUP_TOOLCHAIN").ok();
    let command = match &toolchain {
        Some(t) => format!("rustup target add {TARGET} --toolchain {t}"),
        None => format!("rustup target add {TARGET}"),
    };
    let why = match install(toolchain.as_deref()) {
        Ok(status) if status.success() && installed(&sysroot) => {
            println!("cargo:warning=installed the {TARGET} target the probes build for ({command})");
            return;
        }
        Ok(status) => format!("`{command}` failed ({status})"),
        Err(Install::NoRustup) => "rustup is not on PATH".to_string(),
        Err(Install::TimedOut) => {
            format!("`{command}` took over {} s and was stopped", INSTALL_TIMEOUT.as_secs())
        }
        Err(Install::Io(e)) => format!("`{command}` could not run: {e}"),
    };
    eprintln!(
        "\nSonde's probes are WebAssembly components built for {TARGET}, and this toolchain ({}) \
         does not have that target; {why}.\n\nRun this, then build again:\n\n    {command}\n",
        sysroot.display()
    );
    std::process::exit(1);
}

/// The toolchain's root, as `rustc --print sysroot` says.
fn sysroot(rustc: &str) -> Option<PathBuf> {
    let out = Command::new(rustc).args(["--print", "sysroot"]).stderr(Stdio::inherit()).output().ok()?;
    out.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Whether the target's standard library is in the sysroot.
fn installed(sysroot: &Path) -> bool {
    sysroot.join("lib/rustlib").join(TARGET).join("lib").is_dir()
}

enum Install {
    NoRustup,
    TimedOut,
    Io(std::io::Error),
}

/// Runs `rustup target add`, its output on this script's stderr (which
/// cargo shows when the build fails).
fn install(toolchain: Option<&str>) -> Result<ExitStatus, Install> {
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", TARGET]).stdout(Stdio::from(std::io::stderr()));
    if let Some(t) = toolchain {
        rustup.args(["--toolchain", t]);
    }
    let mut child = match rustup.spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Install::NoRustup),
        Err(e) => return Err(Install::Io(e)),
    };
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(Install::Io)? {
            return Ok(status);
        }
        if start.elapsed() > INSTALL_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Install::TimedOut);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
