//! The Python environment of the tests that drive Sonde with real Python
//! clients (the seeds' SDKs, the API fuzzer): `target/py`, made by
//! `tests/py/setup.sh` from `tests/py/requirements.txt`.

use std::path::PathBuf;
use std::process::Command;

use crate::in_ci;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// A `tests/py/` file.
pub fn script(name: &str) -> PathBuf {
    root().join("tests/py").join(name)
}

/// The environment's interpreter if it can import `module`: else None with
/// a printed reason, or a failure under `CI=true`.
pub fn python_with(module: &str) -> Option<PathBuf> {
    let python = std::env::var_os("SONDE_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/py/bin/python"));
    let found = Command::new(&python).args(["-c", &format!("import {module}")]).output();
    match found {
        Ok(out) if out.status.success() => Some(python),
        other => {
            let why = match other {
                Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_string(),
                Err(e) => e.to_string(),
            };
            let reason =
                format!("{} cannot import {module} ({why}); run tests/py/setup.sh", python.display());
            assert!(!in_ci(), "{reason}");
            eprintln!("SKIPPED: {reason}");
            None
        }
    }
}
